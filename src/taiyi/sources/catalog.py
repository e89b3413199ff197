"""The dataset catalog: one YAML file per dataset under ``sources/catalog/`` (the paper's 140 plus extras).

Why: the catalog is data, not code. Adding a dataset whose format is already known needs one YAML entry
naming a reader and its options. This module checks entries against a declared schema (pydantic, extra fields
forbidden; each problem is one line naming the file, the field and what is allowed), merges the packaged
catalog with user catalogs (``--catalog DIR`` / ``$TAIYI_CATALOG``, later folders override earlier ones), and
answers look-ups and filters. A broken entry is set aside and reported; the others still load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from taiyi.corpus.schema import LANGS, SCHEMAS
from taiyi.files import DataError

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 145 files load ~10x faster
CATALOG_DIR = Path(__file__).with_name("catalog")
MINI_ROOT = Path(__file__).with_name("mini")
MINI_CATALOG_DIR = MINI_ROOT / "catalog"
ENV_VAR = "TAIYI_CATALOG"

PAPER_TASKS = ("NER", "NEN", "RE", "CRE", "EE", "COREF", "TC", "QA-sqa", "QA-cqa", "QA-multiple_choice", "QA-yesno",
               "MRD", "MT", "TP-ss", "TP-te", "TT-ds", "TT-ts")
STATUSES = ("supported", "not_yet")


def known_tasks() -> tuple[str, ...]:
    """The registered task names. Why here: the catalog only names tasks; the task registry (instruction stage,
    imported lazily) is the one list, so a task registered from outside the package is accepted too."""
    from taiyi.instructions.tasks.registry import task_names

    return task_names()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ReaderSpec(_Strict):
    name: str = ""
    options: Optional[dict[str, Any]] = None


class EntryModel(_Strict):
    """The schema of one catalog entry (the YAML file as written)."""

    name: str
    lang: Literal[LANGS]  # type: ignore[valid-type]
    paper_tasks: list[Literal[PAPER_TASKS]]  # type: ignore[valid-type]
    tasks: list[str]
    schema_: Literal[SCHEMAS] = Field(alias="schema")  # type: ignore[valid-type]
    splits: dict[str, int]
    path: str
    reader: ReaderSpec
    status: Literal[STATUSES]  # type: ignore[valid-type]
    in_paper: bool
    paper_table: Optional[Literal["zh", "en"]] = None
    splits_raw: Optional[str] = None
    homepage: Optional[str] = None
    paper: Optional[str] = None
    license: Optional[str] = None
    description: Optional[str] = None
    label_names: Optional[dict[str, dict[str, str]]] = None
    why: Optional[str] = None
    count_notes: Optional[dict[str, str]] = None  # split -> why its converted count differs from `splits`
    entity_types: Optional[list[str]] = None  # kb: which label_names are entity vs relation types
    relation_types: Optional[list[str]] = None
    # kb: the entity types annotated everywhere they occur; ner asks only for these. Shared-task corpora also
    # annotate other types, but only where an event or relation needs them (BioNLP-ST "Entity": sites, locations)
    ner_types: Optional[list[str]] = None

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if t not in known_tasks()]
        if bad:
            raise ValueError(f"unknown task(s) {bad}; allowed: {list(known_tasks())}")
        return v

    @field_validator("splits")
    @classmethod
    def _splits(cls, v: dict[str, int]) -> dict[str, int]:
        bad = {k: n for k, n in v.items() if n < 0}
        if bad:
            raise ValueError(f"split sizes must be non-negative integers, got {bad}")
        return v

    @field_validator("label_names")
    @classmethod
    def _label_names(cls, v: dict | None) -> dict | None:
        bad = [raw for raw, names in (v or {}).items() if not {"zh", "en"} <= set(names)]
        if bad:
            raise ValueError(f"label_names{bad} must each map to {{zh, en}}")
        return v

    @model_validator(mode="after")
    def _ner_types_are_labels(self):
        unknown = [t for t in self.ner_types or [] if self.label_names and t not in self.label_names]
        if unknown:
            raise ValueError(f"ner_types {unknown} are not in label_names {list(self.label_names)}")
        return self


FIELDS = tuple(f.alias or k for k, f in EntryModel.model_fields.items())


def _where(loc: tuple) -> str:
    return ".".join("schema" if x == "schema_" else str(x) for x in loc) or "(top level)"


def _error_lines(exc: ValidationError, file: Path) -> list[str]:
    """pydantic's errors as one phrase each: the file, the field and what is allowed."""
    out = []
    for e in exc.errors():
        where, kind, got = _where(e["loc"]), e["type"], e.get("input")
        if kind == "missing":
            out.append(f"{file}: missing field {where!r}")
        elif kind == "extra_forbidden":
            model = ReaderSpec if e["loc"][:1] == ("reader",) else EntryModel
            allowed = [f.alias or k for k, f in model.model_fields.items()]
            out.append(f"{file}: unknown field {where!r}; allowed: {', '.join(allowed)}")
        elif kind == "literal_error":
            out.append(f"{file}: {where} {got!r} not allowed; expected {e['ctx']['expected']}")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            out.append(f"{file}: field {where!r}: {msg} (got {repr(got)[:60]})")
    return out


def check_entry(data: Any, file: Path) -> list[str]:
    """Schema problems of one entry, each naming the file and the field (empty list: the entry is fine)."""
    if not isinstance(data, dict):
        return [f"{file}: expected a YAML mapping of the fields {', '.join(FIELDS)}, got {type(data).__name__}"]
    try:
        model = EntryModel.model_validate(data)
    except ValidationError as exc:
        return _error_lines(exc, file)
    errs = []
    if model.name != file.stem:
        errs.append(f"{file}: name {model.name!r} differs from the file name {file.stem!r}")
    if model.status == "supported" and not model.reader.name:
        errs.append(f"{file}: status supported but reader.name is empty")
    if model.reader.name:
        from taiyi.sources.registry import option_problems

        errs += [f"{file}: {p}" for p in option_problems(model.reader.name, model.reader.options or {})]
    return errs


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


def load_entry(file: Path) -> Entry:
    """One entry from its file; any problem raises DataError as one line (several problems joined by '; ')."""
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise DataError(f"{file}: malformed YAML ({' '.join(str(exc).split())})") from None
    errs = check_entry(data, file)
    if errs:
        raise DataError("; ".join(errs))
    data.setdefault("label_names", {})
    return Entry(data, file)


class Catalog:
    """Entries by name, from one or more catalog folders; ``broken`` maps a name to its one-line error."""

    def __init__(self, entries: Iterable[Entry], broken: dict[str, str] | None = None,
                 overrides: dict[str, Path] | None = None):
        self._entries: dict[str, Entry] = {}
        for e in entries:
            if e.name in self._entries:
                raise DataError(f"{e.file}: dataset name {e.name!r} already defined in {self._entries[e.name].file}")
            self._entries[e.name] = e
        self.broken: dict[str, str] = dict(broken or {})
        self.overrides: dict[str, Path] = dict(overrides or {})  # name -> the file a later folder replaced

    @classmethod
    def from_dirs(cls, *dirs: Path, strict: bool = False) -> "Catalog":
        """Entries of each folder in turn; an entry of a later folder replaces one of the same name.

        A broken file is recorded in ``broken`` (and hides an earlier entry of that name) unless ``strict``.
        """
        entries: dict[str, Entry] = {}
        broken: dict[str, str] = {}
        overrides: dict[str, Path] = {}
        for d in map(Path, dirs):
            if not d.is_dir():
                raise DataError(f"catalog folder {d} not found (from --catalog or ${ENV_VAR})")
            for f in sorted(d.glob("*.yaml")):
                old = entries.pop(f.stem, None)
                if old is not None:
                    overrides[f.stem] = old.file
                try:
                    entries[f.stem] = load_entry(f)
                    broken.pop(f.stem, None)
                except DataError as exc:
                    if strict:
                        raise
                    broken[f.stem] = str(exc)
        return cls(entries.values(), broken, overrides)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def problems(self) -> list[str]:
        """One line per broken entry (for warnings: the other entries still work)."""
        return [self.broken[n] for n in sorted(self.broken)]

    def get(self, name: str) -> Entry:
        if name in self.broken:
            raise DataError(f"catalog entry {name!r} is broken: {self.broken[name]}")
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


_USER_DIRS: tuple[Path, ...] = ()


def use_catalogs(dirs: Iterable[str | Path]) -> None:
    """Add user catalog folders (the CLI's ``--catalog``) after the packaged one and ``$TAIYI_CATALOG``."""
    global _USER_DIRS
    _USER_DIRS = tuple(Path(d) for d in dirs)


def catalog_dirs() -> tuple[Path, ...]:
    """The folders read, in override order: the package's, then ``$TAIYI_CATALOG`` (os.pathsep-separated),
    then ``--catalog`` folders."""
    env = tuple(Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip())
    return (CATALOG_DIR, *env, *_USER_DIRS)


@lru_cache(maxsize=8)
def _load(dirs: tuple[Path, ...]) -> Catalog:
    return Catalog.from_dirs(*dirs)


def load_catalog() -> Catalog:
    """The packaged catalog (the paper's 140 datasets plus extras) with user catalogs laid over it."""
    return _load(catalog_dirs())


@lru_cache(maxsize=1)
def load_mini_catalog() -> Catalog:
    """Entries of the embedded mini corpus (paths relative to ``MINI_ROOT``)."""
    return Catalog.from_dirs(MINI_CATALOG_DIR, strict=True)


def get_entry(name: str) -> Entry:
    return load_catalog().get(name)


def list_entries(**filters: Any) -> list[Entry]:
    return load_catalog().entries(**filters)
