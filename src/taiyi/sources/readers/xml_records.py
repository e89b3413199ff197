"""Repeated XML elements -> pairs / text / qa / t2t records, mapped in YAML by ElementTree paths.

Why: the MEDIQA 2019 tasks and TREC LiveQA ship as XML with one element per item (``<pair pid value><chq/>
<faq/></pair>``, ``<Question QID><QuestionText/><AnswerList/>``, ``<NLM-QUESTION qid>``); which sub-element is
which field is the catalog's business, not code. ``record:`` is the ElementTree path of the items from the root
(``.//pair``). A spec is, relative to one item: ``@attr`` (an attribute of the item), ``path`` (the text of
every matching element, ``.`` for the item itself), or ``path/@attr``; ElementTree predicates filter, e.g.
``AnswerList/Answer[@ReferenceScore='4']/AnswerText``. A spec matching several elements gives a list (joined
with ``join`` for a text field).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator
from xml.etree import ElementTree as ET

from taiyi.files import DataError
from taiyi.sources.fieldmap import MappedOptions, Spec, _specs, options_model, parse_options, rows_to_records
from taiyi.sources.registry import register_reader

READER = "xml_records"
_SPACE = re.compile(r"\s+")


class XmlOptions(MappedOptions):
    record: str  # ElementTree path of the item elements, from the root element (e.g. ".//pair")
    collapse_whitespace: bool = False  # runs of spaces/newlines/tabs (pretty-printing) become one space


def parse_xml(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, col = exc.position
        raise DataError(f"{path}:{line}: malformed XML ({exc.msg}, column {col})") from None


def xml_value(item: ET.Element, spec: Spec, collapse: bool = False) -> list[str]:
    """The values a spec selects under ``item`` (see the module doc)."""
    spec = str(spec)
    head, _, last = spec.rpartition("/")
    path, attr = (head or ".", last[1:]) if last.startswith("@") else (spec, "")
    try:
        found = item.findall(path)
    except SyntaxError as exc:
        raise DataError(f"XML path {spec!r}: {exc}") from None
    vals = [e.get(attr) for e in found] if attr else ["".join(e.itertext()) for e in found]
    vals = [v for v in vals if v is not None]
    return [_SPACE.sub(" ", v) for v in vals] if collapse else vals


@register_reader(READER)
@options_model(XmlOptions)
def read_xml_records(root: Path, **options) -> Iterator[dict]:
    """One record per ``record`` element of each split's file(s) (see ``XmlOptions``, ``fieldmap.MappedOptions``)."""
    opts = parse_options(XmlOptions, READER, options)
    for spec in [s for v in opts.fields.values() for s in _specs(v)]:  # a bad path fails before any file is read
        xml_value(ET.Element("x"), spec)
    for split, paths in opts.split_files(root):
        yield from rows_to_records(opts, split, _rows(paths, opts))


def _rows(paths: list[Path], opts: XmlOptions):
    for path in paths:
        top = parse_xml(path)
        items = top.findall(opts.record) if opts.record not in (".", top.tag) else [top]
        if not items:
            raise DataError(f"{path}: no {opts.record!r} elements under <{top.tag}>")
        for i, item in enumerate(items, 1):
            where = f"{path}: <{item.tag}> #{i}"
            yield where, path.stem if len(paths) > 1 else "", str(i), (
                lambda s, item=item: xml_value(item, s, opts.collapse_whitespace))
