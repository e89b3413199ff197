"""Long kb documents cut into sentence windows: each window validates, keeps exactly the annotations inside it,
and the windows of a real full-text corpus become training instructions instead of being dropped as too long."""

from __future__ import annotations

from taiyi.corpus.schema import document_text, make_passages, new_record, validate_record
from taiyi.instructions.quality import estimate_tokens
from taiyi.instructions.windows import MIN_WINDOW, record_examples, windows


def _doc() -> dict:
    sents = [f"Sentence {i} says that IL-{i} activates STAT{i} in T cells." for i in range(40)]
    text = " ".join(sents)
    ents, pos = [], 0
    for i, s in enumerate(sents):
        for word in (f"IL-{i}", f"STAT{i}"):
            a = text.index(word, pos)
            ents.append({"id": f"T{len(ents)}", "type": "Protein", "text": [word], "offsets": [[a, a + len(word)]],
                         "normalized": []})
        pos = text.index(sents[i], pos) + len(s)
    trig = text.index("activates", text.index(sents[7]))
    trigger = {"text": ["activates"], "offsets": [[trig, trig + 9]]}
    events = [{"id": "E1", "type": "Positive_regulation", "trigger": trigger,
               "arguments": [{"role": "Cause", "ref_id": "T14"}, {"role": "Theme", "ref_id": "T15"}]},
              {"id": "E2", "type": "Binding", "trigger": trigger,
               "arguments": [{"role": "Theme", "ref_id": "E1"}, {"role": "Theme2", "ref_id": "T79"}]}]  # crosses
    rels = [{"id": "R1", "type": "Equiv", "arg1_id": "T0", "arg2_id": "T1", "normalized": []},
            {"id": "R2", "type": "Equiv", "arg1_id": "T0", "arg2_id": "T79", "normalized": []}]  # crosses
    corefs = [{"id": "C1", "entity_ids": ["T0", "T1", "T79"]}]
    return new_record("kb", id="d1", document_id="d1", dataset="toy", split="train", lang="en",
                      passages=make_passages([("title", sents[0]), ("body", " ".join(sents[1:]))]),
                      entities=ents, events=events, relations=rels, coreferences=corefs)


def test_short_documents_are_not_cut():
    rec = _doc()
    assert windows(rec, 10_000) == [rec] and windows(rec, 0) == [rec]


def test_windows_fit_validate_and_keep_exactly_what_is_inside():
    rec = _doc()
    text = document_text(rec)
    wins = windows(rec, 120)
    assert len(wins) > 3
    assert [w["id"] for w in wins] == [f"d1#w{k}" for k in range(len(wins))]
    assert all(w["document_id"] == "d1" for w in wins)  # decontamination still sees the source document
    assert sum(len(w["entities"]) for w in wins) == len(rec["entities"])  # no cut falls inside a mention
    for w in wins:
        assert validate_record(w) == []
        assert estimate_tokens(document_text(w)) <= 120
        wt = document_text(w)
        for e in w["entities"]:
            assert e["text"][0] in wt
    # the windows' texts are the document's sentences, in order, each in exactly one window
    assert " ".join(document_text(w).strip() for w in wins) == text
    has_e1 = [w for w in wins if any(ev["id"] == "E1" for ev in w["events"])]
    assert len(has_e1) == 1 and not any(ev["id"] == "E2" for w in wins for ev in w["events"])  # E2 crosses a cut
    assert [r["id"] for w in wins for r in w["relations"]] == ["R1"]
    assert [c["entity_ids"] for w in wins for c in w["coreferences"]] == [["T0", "T1"]]


def test_documents_with_annotations_no_window_can_place_are_not_cut():
    rec = _doc()
    rec["events"].append({"id": "E9", "type": "Onset", "trigger": {"text": [], "offsets": []}, "arguments": []})
    assert windows(rec, 120) == [rec]


def test_a_sentence_longer_than_the_budget_stays_whole():
    rec = _doc()
    wins = windows(rec, 5)  # every sentence is over budget: one window per sentence, none empty
    assert len(wins) == 40 and all(document_text(w).strip() for w in wins)


class _Listing:
    """A stand-in task whose one instruction is as long as the piece's list of mentions."""

    name = "listing"
    window_long_documents = True

    def examples(self, record, rng, info, mode="train"):
        if record["id"] == "boom":
            raise ValueError("cannot read this record")
        return [len(record["entities"])]


def _examples(rec, fits, draws=1, window=1000):
    """(piece, instructions) pairs and exceptions of ``record_examples`` for the stand-in task alone."""
    made, errors = record_examples(rec, {"listing": _Listing()}, {"listing": {}}, seed="s", draws=draws, window=window,
                                   judge=lambda n: None if fits(n) else "too_long")
    return [(p, [n for n, _ in judged]) for _, p, judged in made], [e for _, e in errors]


def test_a_piece_whose_answer_does_not_fit_is_cut_again_only_as_far_as_needed():
    rec = _doc()  # 80 mentions; its text (~500 estimated tokens) fits a 1,000-token window
    made, errors = _examples(rec, fits=lambda n: n <= 100)
    assert errors == [] and [p["id"] for p, _ in made] == ["d1"]  # fits: not cut at all
    made, _ = _examples(rec, fits=lambda n: n <= 24)
    assert len(made) > 3 and all(n <= 24 for _, insts in made for n in insts)
    assert sum(n for _, insts in made for n in insts) == 80 and all(p["id"].startswith("d1#w") for p, _ in made)
    # never below MIN_WINDOW tokens (1000 -> 500 -> 250 -> 125): what still does not fit is the quality filter's
    made, _ = _examples(rec, fits=lambda n: n <= 1)
    assert 125 // 2 < MIN_WINDOW and all(estimate_tokens(document_text(p)) <= 125 for p, _ in made)
    assert len(made) < 20 and sum(n for _, i in made for n in i) == 80  # not cut down to single sentences
    made, errors = _examples({**rec, "id": "boom"}, fits=bool, draws=2, window=0)
    assert made == [({**rec, "id": "boom"}, [])] and len(errors) == 1


def test_build_turns_a_full_text_corpus_into_instructions_instead_of_dropping_it(shared_corpus, tmp_path):
    """bionlp_st_2011_id is full-text articles: cut into windows its ner instructions are made, not dropped."""
    from taiyi.instructions.build import build
    from taiyi.instructions.config import parse_config

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bionlp_st_2011_id").symlink_to(shared_corpus / "bionlp_st_2011_id")
    made, dropped = {}, {}
    for w in (None, 0):  # default (half of max_tokens) and never cut
        cfg = parse_config({"datasets": ["bionlp_st_2011_id"], "stages": {1: ["ner"]}, "window_tokens": w})
        man = build(cfg, corpus, tmp_path / f"out{w}", progress=False)
        made[w] = man["outputs"]["stage1.jsonl"]["records"]
        dropped[w] = man["stats"]["dropped"].get("too_long", 0)
    assert dropped[0] > 0 and made[None] > made[0]
    assert dropped[None] < dropped[0] / 4
    print(f"bionlp_st_2011_id ner: {made[0]} instructions, {dropped[0]} too long without windows; "
          f"{made[None]} / {dropped[None]} with")


def test_windows_of_real_full_text_documents_validate(shared_corpus):
    import orjson

    cut = 0
    for name in ("bionlp_st_2011_id", "verspoor_2013", "bionlp_st_2013_cg"):
        for line in (shared_corpus / name / "train.jsonl").read_bytes().splitlines():
            rec = orjson.loads(line)
            wins = windows(rec, 512)
            if len(wins) == 1:
                continue
            cut += 1
            assert all(validate_record(w) == [] for w in wins), rec["id"]
            assert " ".join(document_text(w).strip() for w in wins).split() == document_text(rec).split()
            kept = [e["text"] for w in wins for e in w["entities"]]
            assert len(kept) <= len(rec["entities"]) and len(kept) >= 0.95 * len(rec["entities"])
    assert cut >= 30
