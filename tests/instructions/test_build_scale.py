"""taiyi build at scale: sharded streaming output read back as one file, the per-epoch mix (general chat
included) previewed in stats.md and handed to training as stage<N>.mix.json."""

from __future__ import annotations

from typer.testing import CliRunner

from taiyi.cli import app
from taiyi.files import expand_shards, read_json, read_jsonl, write_jsonl
from taiyi.instructions.build import build
from taiyi.instructions.config import parse_config
from taiyi.instructions.interop import export_llamafactory

from .test_build import corpus  # noqa: F401  (the synthetic corpus fixture)


def _chat(tmp_path):
    chat = tmp_path / "general.jsonl"
    write_jsonl(chat, [{"messages": [{"role": "user", "content": f"hello number {i}, how are you today?"},
                                     {"role": "assistant", "content": f"fine, thank you ({i})."}]} for i in range(12)])
    return chat


def test_shards_hold_exactly_the_single_file_records(corpus, tmp_path):  # noqa: F811
    cfg = {"prompts_per_record": 2, "seed": 3, "general_chat": [{"path": str(_chat(tmp_path))}]}
    build(parse_config(cfg), corpus, tmp_path / "one", progress=False)
    man = build(parse_config(cfg), corpus, tmp_path / "many", progress=False, shard_records=7, num_proc=2)
    single = (tmp_path / "one" / "stage2.jsonl").read_bytes()
    shards = expand_shards(tmp_path / "many" / "stage2.jsonl")
    n = single.count(b"\n")
    assert len(shards) == -(-n // 7) > 2 and shards[0].name == f"stage2-00000-of-{len(shards):05d}.jsonl"
    assert b"".join(p.read_bytes() for p in shards) == single
    assert all(p.read_bytes().count(b"\n") == 7 for p in shards[:-1])
    assert not (tmp_path / "many" / "stage2.jsonl").exists() and not list((tmp_path / "many").glob(".stage*"))
    assert sum(v["records"] for k, v in man["outputs"].items() if k.startswith("stage2-")) == n
    info = export_llamafactory(tmp_path / "many", tmp_path / "lf")  # readers take the logical name
    assert (tmp_path / "lf" / info["taiyi_stage2"]["file_name"]).read_bytes().count(b"\n") == n
    assert "taiyi_stage2-00000-of-00004" not in info


def test_epoch_mix_in_stats_and_sidecar(corpus, tmp_path):  # noqa: F811
    cfg = parse_config({"general_chat": [{"path": str(_chat(tmp_path)), "name": "general"}],
                        "epoch_mix": {2: {"by": "dataset", "caps": {"general": 5}, "weights": {"med_qa": 2},
                                          "epochs": 3}}})
    man = build(cfg, corpus, tmp_path / "o", progress=False)
    rows = list(read_jsonl(tmp_path / "o" / "stage2.jsonl"))
    sizes = {d: sum(r["dataset"] == d for r in rows) for d in {r["dataset"] for r in rows}}
    rep = man["stats"]["epoch_mix"]["2"]
    assert rep["groups"]["general"] == {"available": 12, "per_epoch": 5, "new": [5, 5, 2]}
    assert rep["groups"]["med_qa"]["per_epoch"] == 2 * sizes["med_qa"]
    assert rep["per_epoch_total"] == sum(sizes.values()) - 12 + 5 + sizes["med_qa"]
    md = (tmp_path / "o" / "stats.md").read_text()
    assert "## Effective mix per epoch, stage 2" in md and "| general | 12 | 5 |" in md
    assert read_json(tmp_path / "o" / "stage2.mix.json")["caps"] == {"general": 5}
    assert not (tmp_path / "o" / "stage1.mix.json").exists()


def test_cli_shard_records(corpus, tmp_path):  # noqa: F811
    res = CliRunner().invoke(app, ["build", "--corpus", str(corpus), "--out", str(tmp_path / "o"), "-q",
                                   "--shard-records", "4"])
    assert res.exit_code == 0, res.output
    assert len(expand_shards(tmp_path / "o" / "stage1.jsonl")) > 1
