"""Fault-injection suite over every reader: each fault class applied to a real file from ../shared/datasets.

Generated, not hand-listed: for every registered reader that some supported catalog dataset with local data
uses, the smallest such dataset is taken; its smallest input file gets every fault class of ``faults.py``, a
second input file (the "auxiliary" one: entities beside abstracts, the other side of a parallel text) gets a
torn line, and the file is also deleted and replaced by a folder. ``taiyi convert`` then runs over a copy of
the dataset folder into an output folder that already holds the clean conversion. Each case must end one of two
ways: exit 0 with exactly the clean records (and for a BOM or CRLF nothing else is allowed), or exit 1 with one
line naming the damaged file (and, for damage inside a file, a line or record), the previous output unchanged
and no temp files left. Never exit 0 with different data.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.faults.faults import FAULTS, SAME_RECORDS

SHARED = Path(os.environ.get("TAIYI_SHARED_DATASETS", Path(__file__).resolve().parents[2].parent / "shared" / "datasets"))
PATH_FAULTS = ("missing_file", "folder_for_file", "torn_auxiliary_file")
LOCATED = {"truncated_mid_line", "truncated_mid_record", "truncated_mid_text", "wrong_encoding",
           "torn_auxiliary_file"}


def _files(path: Path) -> list[Path]:
    """An input's candidate files: itself, or the first file of each suffix in a folder."""
    if path.is_file():
        return [path]
    by_suffix: dict[str, Path] = {}
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        by_suffix.setdefault(f.suffix, f)
    return list(by_suffix.values())


def _size(paths: list[Path]) -> int:
    return sum(f.stat().st_size for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())


def _one_split(entry):
    """The entry narrowed to its smallest split where its options map splits to files (cheaper cases; the
    reader and its checks are the same); the entry itself otherwise."""
    from taiyi.sources.catalog import Entry
    from taiyi.sources.convert import SPLIT_ORDER, input_paths

    files = entry.reader_options.get("files")
    if not isinstance(files, dict) or len(files) < 2 or not set(files) <= set(SPLIT_ORDER):
        return entry
    folder = SHARED / entry.path

    def narrowed(split):
        data = copy.deepcopy(entry.data)
        data["reader"]["options"]["files"] = {split: files[split]}
        return Entry(data=data, file=entry.file)

    options = [narrowed(split) for split in files]
    options = [e for e in options if all(p.exists() for p in input_paths(e, folder))]
    return min(options, key=lambda e: _size(input_paths(e, folder))) if options else entry


def _targets() -> dict[str, tuple[str, Path, Path, Path | None, dict]]:
    """reader -> (dataset, dataset folder, primary file, auxiliary file or None, entry data), the smallest dataset
    per reader, narrowed to one split where it can be."""
    from taiyi.sources.catalog import load_catalog
    from taiyi.sources.convert import _missing_inputs, input_paths

    best: dict[str, tuple[int, tuple]] = {}
    for entry in load_catalog().entries():
        folder = SHARED / entry.path
        if entry.status != "supported" or not entry.path or not folder.is_dir():
            continue
        if _missing_inputs(entry, folder):
            continue  # a partial copy (LitCovid's label samples): not a clean baseline
        entry = _one_split(entry)
        inputs = input_paths(entry, folder)
        if inputs == [folder] and not entry.reader_options:
            continue  # options name no file: nothing specific to damage
        files = sorted({f for p in inputs for f in _files(p)}, key=lambda f: (f.stat().st_size, str(f)))
        files = [f for f in files if f.stat().st_size > 0]
        if not files:
            continue
        size = _size(inputs)
        if entry.reader_name not in best or size < best[entry.reader_name][0]:
            best[entry.reader_name] = (size, (entry.name, folder, files[0], files[1] if len(files) > 1 else None,
                                              entry.data))
    return {reader: t for reader, (_, t) in sorted(best.items())}


def _cases() -> list:
    if not SHARED.is_dir():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=f"real datasets not found at {SHARED}"))]
    cases = []
    for reader, (dataset, folder, primary, aux, _) in _targets().items():
        for name in list(FAULTS) + list(PATH_FAULTS):
            if name == "torn_auxiliary_file" and aux is None:
                continue
            if name in FAULTS and FAULTS[name](primary.read_bytes(), primary.name) is None:
                continue
            if name == "empty_file" and primary.parent != folder and _in_folder_input(reader, primary):
                continue  # an empty per-document annotation file is a document without annotations
            cases.append(pytest.param(reader, name, id=f"{reader}-{dataset}-{name}"))
    return cases


def _in_folder_input(reader: str, path: Path) -> bool:
    """Whether ``path`` was picked from inside a folder the reader options name (one file per document)."""
    from taiyi.sources.catalog import load_catalog
    from taiyi.sources.convert import input_paths

    dataset, folder, _, _, _ = _targets()[reader]
    return any(p.is_dir() and p in path.parents for p in input_paths(load_catalog().get(dataset), folder))


def _binary(path: Path) -> bool:
    return b"\0" in path.read_bytes()[:4096] or path.suffix in (".xlsx", ".zip", ".gz")


def _mirror(src: Path, dest: Path) -> None:
    """A copy of a dataset folder made of symlinks (real folders, linked files): faults replace single files."""
    for d, dirs, files in os.walk(src):
        rel = Path(d).relative_to(src)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for f in files:
            os.symlink(Path(d) / f, dest / rel / f)


def _taiyi(*args: str, capsys) -> tuple[int, str]:
    from taiyi.cli import main
    from taiyi.sources.catalog import use_catalogs

    try:
        with pytest.raises(SystemExit) as exc:
            main(list(args))
    finally:
        use_catalogs(())  # --catalog is process state in the CLI; later tests read the packaged catalog
    return exc.value.code, capsys.readouterr().err


def _digest(out: Path) -> str:
    """The converted dataset's bytes (split files + meta), not the manifest (which records input paths)."""
    h = hashlib.sha256()
    for f in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"):
        h.update(f"{f.relative_to(out)}\0".encode() + f.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """reader -> (dataset, primary, aux, corpus folder holding its clean conversion, digest), converted once."""
    done: dict[str, tuple] = {}
    targets = _targets() if SHARED.is_dir() else {}

    def get(reader: str, capsys) -> tuple:
        if reader not in done:
            dataset, folder, primary, aux, data = targets[reader]
            catalog = tmp_path_factory.mktemp(f"catalog-{reader}")  # the entry as narrowed, as a user catalog
            (catalog / f"{dataset}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
            out = tmp_path_factory.mktemp(f"clean-{reader}")
            code, err = _taiyi("convert", "--catalog", str(catalog), "--dataset", dataset, "--input", str(folder),
                               "--out", str(out), capsys=capsys)
            assert code == 0, f"clean {dataset} does not convert: {err}"
            done[reader] = (dataset, folder, primary, aux, out, _digest(out), catalog)
        return done[reader]

    return get


@pytest.mark.parametrize("reader, fault", _cases())
def test_fault_is_an_error_or_the_same_records(reader, fault, clean, tmp_path, capsys):
    dataset, folder, primary, aux, clean_out, digest, catalog = clean(reader, capsys)
    out = tmp_path / "corpus"
    shutil.copytree(clean_out, out)
    data_dir = tmp_path / "data" / folder.name
    _mirror(folder, data_dir)
    damaged = (aux if fault == "torn_auxiliary_file" else primary)
    target = data_dir / damaged.relative_to(folder)
    target.unlink()
    if fault == "missing_file":
        pass
    elif fault == "folder_for_file":
        target.mkdir()
    elif fault == "torn_auxiliary_file":
        target.write_bytes(FAULTS["truncated_mid_line"](damaged.read_bytes(), damaged.name))
    else:
        target.write_bytes(FAULTS[fault](damaged.read_bytes(), damaged.name))

    code, err = _taiyi("convert", "--catalog", str(catalog), "--dataset", dataset, "--input", str(data_dir),
                       "--out", str(out), capsys=capsys)

    leftovers = [p.name for p in out.rglob("*") if ".taiyi-tmp" in p.name or p.name.startswith(".")]
    assert not leftovers, f"temp files left in the output: {leftovers}"
    assert _digest(out) == digest, f"{fault} on {damaged.name}: exit {code} but the converted records changed ({err})"
    if fault in SAME_RECORDS:
        assert code == 0, f"{fault} on {damaged.name} must read as the clean file; got: {err}"
        return
    if code == 0:
        return  # the damage touched nothing the reader uses: the same records (checked above)
    assert code == 1, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), f"not one error line: {err!r}"
    assert "Traceback" not in err
    assert damaged.name in err or damaged.parent.name in err, f"the error does not name {damaged.name}: {err}"
    if fault in LOCATED and not _binary(damaged):  # a cut .xlsx (a zip) has no line to name
        assert re.search(r":\d+|line \d+|record|offset \d+|position \d+|documents? \[?'?\w+", err), \
            f"the error names no line or record: {err}"
