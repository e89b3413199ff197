from taiyi.corpus.schema import document_text, make_passages, new_record, validate_record, validate_records


def _kb():
    passages = make_passages([("title", "Naloxone reverses clonidine."), ("abstract", "It works.")])
    return new_record(
        "kb", id="1", document_id="227508", dataset="x", split="train", lang="en", passages=passages,
        entities=[{"id": "e1", "type": "Chemical", "text": ["Naloxone"], "offsets": [[0, 8]], "normalized": []},
                  {"id": "e2", "type": "Chemical", "text": ["clonidine"], "offsets": [[18, 27]], "normalized": []}],
        relations=[{"id": "r1", "type": "CID", "arg1_id": "e1", "arg2_id": "e2", "normalized": []}],
    )


def test_valid_kb_record():
    rec = _kb()
    assert document_text(rec) == "Naloxone reverses clonidine. It works."
    assert validate_record(rec) == []


def test_bad_offsets_and_refs_are_named():
    rec = _kb()
    rec["entities"][1]["offsets"] = [[17, 26]]
    rec["relations"][0]["arg2_id"] = "e9"
    errs = validate_record(rec)
    assert any("entity e2 offsets [17,26]" in e for e in errs)
    assert any("arg2_id='e9'" in e for e in errs)


def test_mc_answer_among_choices_and_unique_ids():
    q = new_record("qa", id="q1", document_id="d", dataset="x", split="test", lang="en", question="Q?",
                   type="multiple_choice", choices=["a", "b"], answer=["c"])
    assert any("not among choices" in e for e in validate_record(q))
    t = new_record("text", id="t", document_id="d", dataset="x", split="train", lang="zh", text="文本", labels=["A"])
    assert any("not unique" in e for e in validate_records([t, dict(t)]))


def test_t2t_target_may_be_empty_only_in_test_unlabelled():
    r = new_record("t2t", id="c1", document_id="c1", dataset="x", split="test_unlabelled", lang="zh",
                   text_1="左膝退变", text_2="", text_1_name="diagnosis", text_2_name="normalized_terms")
    assert validate_record(r) == []
    assert any("empty text_2" in e for e in validate_record({**r, "split": "dev"}))
