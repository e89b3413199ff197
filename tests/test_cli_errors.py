"""Every user error of every ``taiyi`` command is a clear line and a non-zero exit, never a Python traceback;
the traceback appears only with ``--debug``. Runs the real entry point (``taiyi.cli:main``) in-process."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from taiyi.cli import main

REPO = Path(__file__).resolve().parents[1]


def _dead_endpoint() -> str:
    """A loopback URL nobody listens on (a port bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def run(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out = capsys.readouterr()
    code = exit_.value.code
    return (code if isinstance(code, int) else 1), out.out + out.err


def cases(tmp: Path, datasets: Path) -> list[tuple[str, list[str], str]]:
    """(name, argv, what the error line must say) for each command with bad arguments or inputs."""
    bad_jsonl = tmp / "bad.jsonl"
    bad_jsonl.write_text('{"id": 1, "prompt": "hi"}\n{"id": 2, "prompt": \n', encoding="utf-8")
    empty_dir = tmp / "empty"
    empty_dir.mkdir()
    dead = _dead_endpoint()
    bench = ["--benchmarks", "PubMedQA", "--limit", "2", "--data-root", str(datasets), "--no-progress"]
    return [
        ("train: wrong-typed --set", ["train", "--config", str(REPO / "recipes/demo-tiny.yaml"),
                                     "--set", "learning_rate=abc"], "abc"),
        ("train: missing recipe", ["train", "--config", str(tmp / "no.yaml")], "no.yaml"),
        ("eval: missing model dir", ["eval", "--model", "/no/such/dir", *bench, "--out", str(tmp / "r1")],
         "/no/such/dir"),
        ("eval: a directory that is no model", ["eval", "--model", str(empty_dir), *bench, "--out", str(tmp / "r2")],
         "not a model directory"),
        ("eval: unreachable endpoint", ["eval", "--endpoint", dead, *bench, "--out", str(tmp / "r3")], dead),
        ("chat: unreachable endpoint", ["chat", "--endpoint", dead, "--once", "hi"], dead),
        ("chat: missing model", ["chat", "--model", "/no/such/dir", "--once", "hi"], "/no/such/dir"),
        ("generate: missing input", ["generate", "--input", str(tmp / "none.jsonl"), "--output", str(tmp / "o.jsonl")],
         "none.jsonl"),
        ("generate: malformed input", ["generate", "--input", str(bad_jsonl), "--output", str(tmp / "o.jsonl"),
                                       "--model", "/no/such/dir"], "bad.jsonl:2"),
        ("serve: missing model", ["serve", "--model", "/no/such/dir"], "/no/such/dir"),
        ("serve: unreachable endpoint", ["serve", "--engine", "openai", "--endpoint", dead], dead),
        ("webui: missing model", ["webui", "--model", "/no/such/dir"], "/no/such/dir"),
        ("build: missing corpus", ["build", "--corpus", str(tmp / "no-corpus"), "--out", str(tmp / "i")], "no-corpus"),
        ("build: missing config", ["build", "--config", str(tmp / "no.yaml"), "--corpus", str(empty_dir)], "no.yaml"),
        ("convert: missing input root", ["convert", "--all", "--input-root", str(tmp / "no-root"),
                                         "--out", str(tmp / "c")], "no-root"),
        ("convert: unknown dataset", ["convert", "--dataset", "no_such_dataset", "--input", str(empty_dir),
                                      "--out", str(tmp / "c")], "no_such_dataset"),
        ("merge: missing adapter", ["merge", "--adapter", str(tmp / "no-adapter"), "--out", str(tmp / "m")],
         "no-adapter"),
        ("compare: missing prompts", ["compare", "--a", "/no/a", "--b", "/no/b", "--prompts", str(tmp / "p.jsonl"),
                                      "--out", str(tmp / "c.html")], ""),
        ("export: missing source", ["instructions", "export-taiyi", str(tmp / "none.jsonl"), str(tmp / "x.jsonl")],
         "none.jsonl"),
        ("datasets show: unknown", ["datasets", "show", "no_such_dataset"], "no_such_dataset"),
        ("unknown option", ["build", "--no-such-option"], "no-such-option"),
        ("bad option value", ["eval", "--mc-mode", "guess"], "--mc-mode"),
        ("unknown command", ["nosuchcommand"], "nosuchcommand"),
    ]


def test_every_command_fails_with_one_clear_line_and_no_traceback(capsys, tmp_path, shared_datasets):
    failures = []
    for name, argv, needle in cases(tmp_path, shared_datasets):
        code, output = run(capsys, *argv)
        errors = [ln for ln in output.splitlines() if ln.startswith("error: ")]
        if code == 0 or "Traceback" in output or "╭" in output or len(errors) != 1:
            failures.append(f"{name}: exit {code}, want one 'error: ' line and no traceback:\n{output}")
        elif needle and needle not in errors[0]:
            failures.append(f"{name}: the error line does not name {needle!r}:\n{output}")
    assert not failures, "\n\n".join(failures)


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(capsys, tmp_path, monkeypatch):
    import taiyi.instructions.interop as interop

    def boom(*a, **kw):
        raise RuntimeError("something broke\ninside")

    monkeypatch.setattr(interop, "export_taiyi", boom)
    src = tmp_path / "s.jsonl"
    src.write_text("{}\n")
    code, output = run(capsys, "instructions", "export-taiyi", str(src), str(tmp_path / "d.jsonl"))
    assert code == 1 and "Traceback" not in output
    assert output.strip().splitlines() == ["error: RuntimeError: something broke inside (an unexpected error; "
                                           "run again with --debug for the traceback)"]
    for argv in (["--debug", "instructions", "export-taiyi"], ["instructions", "export-taiyi", "--debug"]):
        with pytest.raises(RuntimeError, match="something broke"):  # the traceback is the developer's
            main([*argv, str(src), str(tmp_path / "d.jsonl")])
