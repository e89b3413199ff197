"""Converted record counts against the catalog's published split sizes (``splits``).

Why: a reader that counts the wrong unit (sentences for documents), drops a split or reads a partial copy still
produces valid records; only the published sizes can tell. ``taiyi convert`` runs this check after every dataset
and reports each difference on one line without failing the conversion. A difference the entry explains in
``count_notes`` (``{split: why}``; ``"*"`` for every split) is reported as accepted, not as a warning.
"""

from __future__ import annotations

from typing import Any

from taiyi.sources.catalog import Entry

UNLABELLED = "test_unlabelled"  # the leaderboard test set without labels: its published size is `test`'s


def compare(entry: Entry, counts: dict[str, int]) -> list[dict[str, Any]]:
    """One row per split that differs: ``{split, converted, published, kind, note}``; [] when all match.

    ``kind`` is ``differs`` (both known, unequal), ``missing`` (published, not converted) or ``extra`` (converted,
    not published). A converted ``test_unlabelled`` stands for ``test`` when no labelled test split was converted,
    and is not compared when the catalog publishes no test size (an unlabelled leaderboard set beside it).
    """
    published = dict(entry.splits)
    converted = dict(counts)
    if UNLABELLED in converted and "test" not in converted:
        n = converted.pop(UNLABELLED)
        if "test" in published:
            converted["test"] = n
    notes = entry.data.get("count_notes") or {}
    rows = []
    for split in list(published) + [s for s in converted if s not in published]:
        pub, conv = published.get(split), converted.get(split)
        if pub == conv:
            continue
        kind = "missing" if conv is None else "extra" if pub is None else "differs"
        rows.append({"split": split, "converted": conv, "published": pub, "kind": kind,
                     "note": notes.get(split, notes.get("*"))})
    return rows


def _what(row: dict[str, Any]) -> str:
    conv, pub = row["converted"], row["published"]
    if row["kind"] == "missing":
        return f"not converted, catalog {pub:,}"
    if row["kind"] == "extra":
        return f"converted {conv:,}, not in the catalog's splits"
    return f"converted {conv:,}, catalog {pub:,} ({conv - pub:+,}, {100 * (conv - pub) / max(pub, 1):+.1f}%)"


def report_lines(name: str, rows: list[dict[str, Any]]) -> list[tuple[bool, str]]:
    """``(accepted, line)`` pairs: one warning line per unexplained split (``<dataset>/<split>: converted N,
    catalog M (±d)``), then one line for the splits the entry explains, with its note(s)."""
    out = [(False, f"{name}/{r['split']}: {_what(r)}") for r in rows if not r["note"]]
    explained = [r for r in rows if r["note"]]
    if explained:
        notes = list(dict.fromkeys(r["note"] for r in explained))
        out.append((True, f"{name}: " + "; ".join(f"{r['split']} {_what(r)}" for r in explained)
                    + f" (accepted: {' / '.join(notes)})"))
    return out


def check_all(catalog_entries: dict[str, Entry], converted: dict[str, dict[str, int]]) -> dict[str, list[dict]]:
    """``{dataset: rows}`` for every converted dataset whose counts differ from the catalog (manifest field)."""
    out = {}
    for name, counts in converted.items():
        rows = compare(catalog_entries[name], counts)
        if rows:
            out[name] = rows
    return out


def summary_line(converted: dict[str, dict[str, int]], checks: dict[str, list[dict]]) -> str:
    """``N dataset(s) match the catalog's split sizes; M differ (k split(s), j explained by count_notes)``."""
    n_rows = sum(len(r) for r in checks.values())
    explained = sum(all(row["note"] for row in rows) for rows in checks.values())
    return (f"counts: {len(converted) - len(checks)} of {len(converted)} dataset(s) match the catalog's split sizes; "
            f"{len(checks)} differ ({n_rows} split(s); {explained} dataset(s) fully explained by count_notes)")
