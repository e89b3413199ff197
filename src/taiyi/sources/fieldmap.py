"""Reader options as pydantic models, and rows of any table-like file mapped to schema records by YAML.

Why: most datasets are a table (CSV/TSV/XLSX), a list of JSON objects or repeated XML elements whose columns or
sub-elements *are* the schema fields; a catalog entry says which column is which (``fields: {text_1: query1}``)
and no code is written. The configurable readers (``delimited``, ``xlsx``, ``json_records``, ``xml_records``)
share this module: each turns its file into rows with a ``get(spec)`` function, and ``rows_to_records`` does
the rest (ids, joins, label mapping, numeric checks, dropping). Options are validated up front, so a typo'd
option names the accepted ones instead of surfacing as a ``TypeError`` deep in a reader.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from taiyi.corpus.schema import SCHEMA_KEYS, new_record
from taiyi.files import DataError

M = TypeVar("M", bound=BaseModel)
Spec = Union[str, int]  # a column name/index, a JSON path or an XML path, by reader
LIST_FIELDS = {"labels", "answer", "choices"}
REQUIRED_FIELDS = {"pairs": ("text_1", "text_2"), "text": ("text",), "qa": ("question",), "t2t": ("text_1",)}


class StrictOptions(BaseModel):
    """Base of every reader's options: unknown keys are errors (extra="forbid")."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def accepted_options(model: type[BaseModel]) -> list[str]:
    """Option names as written in YAML (aliases where a field has one)."""
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The nested options model an error location points into (None when it is not a model)."""
    for key in loc:
        field = next((f for n, f in model.model_fields.items() if key in (n, f.alias)), None)
        ann = getattr(field, "annotation", None)
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model = ann
    return model


def option_errors(model: type[BaseModel], reader: str, options: Any) -> list[str]:
    """Problems of a reader's options, one phrase each in the catalog's style (``reader.options.<key>: ...``);
    an unknown option names the accepted ones and the closest match."""
    if not isinstance(options, dict):
        return [f"reader.options: expected a mapping, got {type(options).__name__}"]
    try:
        model.model_validate(options)
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            loc = ".".join(["reader.options", *map(str, err["loc"])])
            if err["type"] == "extra_forbidden":
                inner = _model_at(model, tuple(err["loc"])[:-1])
                accepted = accepted_options(inner) if inner else []
                close = difflib.get_close_matches(str(err["loc"][-1]), accepted, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                out.append(f"{loc}: unknown option of reader {reader!r}{hint}; accepted: {', '.join(accepted)}")
            else:
                msg = err["msg"].removeprefix("Value error, ")
                got = f" (got {err['input']!r:.80})" if err["type"] != "value_error" and "input" in err else ""
                out.append(f"{loc}: {msg}{got}")
        return out
    return []


def parse_options(model: type[M], reader: str, options: dict[str, Any]) -> M:
    """Validated options of ``reader``, or DataError with one line per problem (see ``option_errors``)."""
    errs = option_errors(model, reader, options)
    if errs:
        raise DataError("\n".join(f"reader {reader!r}: {e}" for e in errs))
    return model.model_validate(options)


def options_model(model: type[BaseModel]) -> Callable:
    """Decorator: the reader validates its ``**options`` with ``model`` (kept as ``fn.options_model`` so a
    catalog check can validate entries without reading any file)."""

    def deco(fn: Callable) -> Callable:
        fn.options_model = model
        return fn

    return deco


class MappedOptions(StrictOptions):
    """Options shared by the field-mapping readers."""

    files: dict[str, Union[str, list[str]]] = Field(description="split -> file (or files) under the dataset folder")
    record_schema: Literal["pairs", "text", "qa", "t2t"] = Field(alias="schema")
    fields: dict[str, Union[Spec, list[Spec]]] = Field(description="schema field -> column/path (a list is joined)")
    id: Spec | None = None  # unique per split; default: the row's position in its file
    document_id: Spec | None = None  # default: the id
    constants: dict[str, Union[str, list[str]]] = {}  # fixed values, e.g. qa type: free
    numeric: list[str] = []  # fields whose values must parse as numbers (kept as written)
    label_map: dict[str, str] = {}  # raw -> stored label (label / labels); a value not listed is an error
    drop_empty: list[str] = []  # rows with any of these fields empty are skipped (say why in the catalog)
    join: str = "\n"  # joins several columns mapped to one text field
    strip: bool = True
    dataset: str = ""
    lang: str = "en"

    @model_validator(mode="after")
    def _fields_fit_schema(self) -> "MappedOptions":
        keys = set(SCHEMA_KEYS[self.record_schema])
        for what, names in (("fields", self.fields), ("constants", self.constants)):
            bad = sorted(set(names) - keys)
            if bad:
                raise ValueError(f"{what} {bad} are not {self.record_schema} fields; accepted: {sorted(keys)}")
        both = sorted(set(self.fields) & set(self.constants))
        if both:
            raise ValueError(f"{both} given both as fields and constants")
        missing = [f for f in REQUIRED_FIELDS[self.record_schema] if f not in self.fields and f not in self.constants]
        if missing:
            raise ValueError(f"schema {self.record_schema} needs fields {missing}")
        for what, names in (("numeric", self.numeric), ("drop_empty", self.drop_empty)):
            bad = sorted(set(names) - set(self.fields))
            if bad:
                raise ValueError(f"{what} names {bad}, which are not in fields")
        return self

    def split_files(self, root: Path) -> Iterator[tuple[str, list[Path]]]:
        """(split, [paths]) in the order given; a missing file is FileNotFoundError (convert skips the dataset)."""
        for split, rel in self.files.items():
            paths = [Path(root) / r for r in ([rel] if isinstance(rel, str) else rel)]
            for p in paths:
                if not p.is_file():
                    raise FileNotFoundError(f"{p} not found")
            yield split, paths


Getter = Callable[[Spec], Union[str, list[str], None]]


def _specs(spec: Union[Spec, list[Spec]]) -> list[Spec]:
    return spec if isinstance(spec, list) else [spec]


def _values(get: Getter, spec: Union[Spec, list[Spec]], strip: bool, text: str = "") -> list[str]:
    """The values at ``spec`` as strings; with ``text`` (the field's name, for the error) a number where text
    belongs is refused: a JSON text field holding 12345 is damage, not the text "12345"."""
    out: list[str] = []
    for s in _specs(spec):
        v = get(s)
        for x in ([] if v is None else v if isinstance(v, list) else [v]):
            if text and isinstance(x, (int, float)):
                raise ValueError(f"field {s!r} ({text}) is the number {x!r}, expected text")
            x = str(x).strip() if strip else str(x)
            if x:
                out.append(x)
    return out


def rows_to_records(opts: MappedOptions, split: str, rows: Iterable[tuple[str, str, str, Getter]]) -> Iterator[dict]:
    """Records of one split from ``(where, prefix, position, get)`` rows: ``where`` names file and line/row for
    errors, ``prefix`` tells files of one split apart (their stem; "" when the split has one file), ``position``
    is the row's place in its file (the id when no ``id`` is mapped), ``get(spec)`` reads one value.
    Record ids are ``<split>-[<prefix>-]<id or position>``; ids must be unique within a split."""
    seen: dict[str, str] = {}
    for where, prefix, key, get in rows:
        fields: dict[str, Any] = {}
        for name, spec in opts.fields.items():
            textual = name not in ("label", "labels") and name not in opts.numeric
            try:
                vals = _values(get, spec, opts.strip, text=name if textual else "")
            except DataError:
                raise
            except ValueError as exc:
                raise DataError(f"{where}: {exc}") from None
            if name in ("label", "labels") and opts.label_map:
                unknown = [v for v in vals if v not in opts.label_map]
                if unknown:
                    raise DataError(f"{where}: {name} {unknown[0]!r} not in label_map {sorted(opts.label_map)}")
                vals = [opts.label_map[v] for v in vals]
            if name in opts.numeric:
                for v in vals:
                    try:
                        ok = math.isfinite(float(v))
                    except ValueError:
                        ok = False
                    if not ok:
                        raise DataError(f"{where}: {name} {v!r} is not a (finite) number")
            fields[name] = vals if name in LIST_FIELDS else opts.join.join(vals)
        if any(not fields[f] for f in opts.drop_empty):
            continue
        for name, value in opts.constants.items():
            listed = list(value) if isinstance(value, list) else [value]
            fields[name] = listed if name in LIST_FIELDS else " ".join(listed)
        if opts.id is not None:
            ident = opts.join.join(_values(get, opts.id, True))
            if not ident:
                raise DataError(f"{where}: empty id ({opts.id!r})")
        else:
            ident = key
        ident = f"{prefix}-{ident}" if prefix else ident
        if ident in seen:
            raise DataError(f"{where}: id {ident!r} repeats {seen[ident]}")
        seen[ident] = where
        doc = opts.join.join(_values(get, opts.document_id, True)) if opts.document_id is not None else ident
        yield new_record(opts.record_schema, id=f"{split}-{ident}", document_id=doc or ident, dataset=opts.dataset,
                         split=split, lang=opts.lang, **fields)
