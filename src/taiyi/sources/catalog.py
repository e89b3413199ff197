"""The dataset catalog: one YAML file per dataset under ``sources/catalog/`` (the paper's 140 plus extras).

Why: the catalog is data, not code. Adding a dataset whose format is already known needs one YAML entry
naming a reader and its options. This module loads the entries, checks their schema (errors name the file)
and answers look-ups and filters for ``taiyi datasets`` and ``taiyi convert``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml

from taiyi.corpus.schema import LANGS, SCHEMAS
from taiyi.files import DataError

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 145 files load ~10x faster
CATALOG_DIR = Path(__file__).with_name("catalog")
MINI_ROOT = Path(__file__).with_name("mini")
MINI_CATALOG_DIR = MINI_ROOT / "catalog"

PAPER_TASKS = ("NER", "NEN", "RE", "CRE", "EE", "COREF", "TC", "QA-sqa", "QA-cqa", "QA-multiple_choice", "QA-yesno",
               "MRD", "MT", "TP-ss", "TP-te", "TT-ds", "TT-ts")
STATUSES = ("supported", "not_yet")
REQUIRED = {
    "name": str, "lang": str, "paper_tasks": list, "tasks": list, "schema": str, "splits": dict, "path": str,
    "reader": dict, "status": str, "in_paper": bool,
}
OPTIONAL = {
    "paper_table": str, "splits_raw": str, "homepage": str, "paper": str, "license": str, "description": str,
    "label_names": dict, "why": str,
    "entity_types": list, "relation_types": list,  # kb: which label_names are entity vs relation types (both may share a name)
}


def known_tasks() -> tuple[str, ...]:
    """The registered task names. Why here: the catalog only names tasks; the task registry (instruction stage,
    imported lazily) is the one list, so a task registered from outside the package is accepted too."""
    from taiyi.instructions.tasks.registry import task_names

    return task_names()


@dataclass(frozen=True)
class Entry:
    """One catalog entry; ``data`` is the YAML mapping as written (what ``meta.json`` records)."""

    data: dict[str, Any] = field(repr=False)
    file: Path

    def __getattr__(self, key: str) -> Any:  # entry.name, entry.lang, ...
        try:
            return self.__dict__["data"][key]
        except KeyError:
            raise AttributeError(key) from None

    @property
    def reader_name(self) -> str:
        return self.data["reader"].get("name", "")

    @property
    def reader_options(self) -> dict:
        return dict(self.data["reader"].get("options") or {})

    @property
    def table_lang(self) -> str:
        """The paper table listing it (zh|en); for extras, its language."""
        return self.data.get("paper_table") or self.data["lang"]


def check_entry(data: Any, file: Path) -> list[str]:
    """Schema problems of one entry, each naming the file."""
    if not isinstance(data, dict):
        return [f"{file}: expected a YAML mapping, got {type(data).__name__}"]
    errs = []
    for key, typ in REQUIRED.items():
        if key not in data:
            errs.append(f"{file}: missing field {key!r}")
        elif not isinstance(data[key], typ):
            errs.append(f"{file}: field {key!r} must be {typ.__name__}, got {type(data[key]).__name__}")
    for key, typ in OPTIONAL.items():
        if key in data and data[key] is not None and not isinstance(data[key], typ):
            errs.append(f"{file}: field {key!r} must be {typ.__name__}, got {type(data[key]).__name__}")
    unknown = set(data) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        errs.append(f"{file}: unknown field(s) {sorted(unknown)}")
    if errs:
        return errs
    if data["name"] != file.stem:
        errs.append(f"{file}: name {data['name']!r} differs from the file name {file.stem!r}")
    if data["lang"] not in LANGS:
        errs.append(f"{file}: lang {data['lang']!r} not in {LANGS}")
    if data["schema"] not in SCHEMAS:
        errs.append(f"{file}: schema {data['schema']!r} not in {SCHEMAS}")
    tasks = known_tasks()
    bad = [t for t in data["tasks"] if t not in tasks]
    if bad:
        errs.append(f"{file}: unknown task(s) {bad}; expected among {tasks}")
    bad = [t for t in data["paper_tasks"] if t not in PAPER_TASKS]
    if bad:
        errs.append(f"{file}: unknown paper task code(s) {bad}")
    if data["status"] not in STATUSES:
        errs.append(f"{file}: status {data['status']!r} not in {STATUSES}")
    if data["status"] == "supported" and not data["reader"].get("name"):
        errs.append(f"{file}: status supported but reader.name is empty")
    if not isinstance(data["reader"].get("options", {}) or {}, dict):
        errs.append(f"{file}: reader.options must be a mapping")
    for split, n in data["splits"].items():
        if not isinstance(n, int) or n < 0:
            errs.append(f"{file}: split {split!r} size {n!r} is not a non-negative integer")
    for raw, names in (data.get("label_names") or {}).items():
        if not (isinstance(names, dict) and set(names) >= {"zh", "en"}):
            errs.append(f"{file}: label_names[{raw!r}] must map to {{zh, en}}")
    return errs


def load_entry(file: Path) -> Entry:
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise DataError(f"{file}: malformed YAML ({exc})") from None
    errs = check_entry(data, file)
    if errs:
        raise DataError("; ".join(errs))
    data.setdefault("label_names", {})
    return Entry(data, file)


class Catalog:
    """Entries by name, from one or more catalog folders."""

    def __init__(self, entries: Iterable[Entry]):
        self._entries: dict[str, Entry] = {}
        for e in entries:
            if e.name in self._entries:
                raise DataError(f"{e.file}: dataset name {e.name!r} already defined in {self._entries[e.name].file}")
            self._entries[e.name] = e

    @classmethod
    def from_dirs(cls, *dirs: Path) -> "Catalog":
        files = [f for d in dirs for f in sorted(Path(d).glob("*.yaml"))]
        return cls(load_entry(f) for f in files)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            close = [n for n in self._entries if n.lower() == name.lower()]
            hint = f"; did you mean {close[0]!r}?" if close else "; see `taiyi datasets list --include-extra`"
            raise KeyError(f"no dataset {name!r} in the catalog{hint}") from None

    def entries(self, *, lang: str | None = None, task: str | None = None, supported: bool | None = None,
                in_paper: bool | None = None) -> list[Entry]:
        """Entries filtered; ``lang`` matches the language or the paper table listing the dataset."""
        out = []
        for e in self._entries.values():
            if lang and lang not in (e.lang, e.table_lang):
                continue
            if task and task not in e.tasks and task not in e.paper_tasks:
                continue
            if supported is not None and (e.status == "supported") != supported:
                continue
            if in_paper is not None and e.in_paper != in_paper:
                continue
            out.append(e)
        return sorted(out, key=lambda e: (e.table_lang != "zh", e.name.lower()))


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The packaged catalog (the paper's 140 datasets plus extras)."""
    return Catalog.from_dirs(CATALOG_DIR)


@lru_cache(maxsize=1)
def load_mini_catalog() -> Catalog:
    """Entries of the embedded mini corpus (paths relative to ``MINI_ROOT``)."""
    return Catalog.from_dirs(MINI_CATALOG_DIR)


def get_entry(name: str) -> Entry:
    return load_catalog().get(name)


def list_entries(**filters: Any) -> list[Entry]:
    return load_catalog().entries(**filters)
