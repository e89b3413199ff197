"""The embedded mini corpus converts, validates, has train/test splits of the catalogued sizes and no test leak."""

from __future__ import annotations

import orjson

from taiyi.corpus.schema import validate_records
from taiyi.files import read_json, read_jsonl
from taiyi.sources.catalog import MINI_ROOT, load_mini_catalog
from taiyi.sources.convert import convert_mini

LEAK_IGNORE = {"id", "document_id", "split", "question_id"}


def test_mini_corpus_converts_and_validates(tmp_path):
    out = tmp_path / "corpus"
    summary = convert_mini(out, progress=False)
    cat = load_mini_catalog()
    assert len(cat) == 8 and not summary["skipped"]
    langs = set()
    for entry in cat.entries():
        counts = summary["converted"][entry.name]
        assert counts == entry.splits, entry.name
        assert 30 <= sum(counts.values()) <= 60
        recs = {s: list(read_jsonl(out / entry.name / f"{s}.jsonl")) for s in counts}
        assert not validate_records(recs["train"] + recs["test"])
        key = lambda r: orjson.dumps({k: v for k, v in r.items() if k not in LEAK_IGNORE}, option=orjson.OPT_SORT_KEYS)
        assert not {key(r) for r in recs["test"]} & {key(r) for r in recs["train"]}, entry.name
        langs.add(entry.lang)
        assert (MINI_ROOT / entry.path).is_dir()
    assert langs == {"zh", "en", "zh-en"}
    assert read_json(out / "manifest.json")["counts"] == summary["converted"]
    cdr = list(read_jsonl(out / "mini_cdr" / "train.jsonl"))
    assert all(r["relations"] and r["relations"][0]["type"] == "CID" for r in cdr)
