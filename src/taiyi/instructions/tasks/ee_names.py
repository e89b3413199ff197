"""The event task's vocabulary: roles, field and status names of both languages, value normalisation.

Why: writing and reading CHIP-CDEE answers (``ee.py``) share one notion of which field a name means and how a
value is compared; keeping it apart keeps ``ee.py`` to rendering, reading and prompts.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from taiyi.instructions.tasks.base import load_templates
from taiyi.instructions.tasks.typed_answers import fold_name, is_none

ROLES = ("core_name", "anatomy", "character", "tendency")  # the order attributes are written in
LIST_ROLES = ("anatomy", "character")


@functools.lru_cache(maxsize=65536)
def is_none_cached(value: str) -> bool:
    return is_none(value)


@functools.lru_cache(maxsize=65536)
def field_key(name: str) -> str:
    """Comparison key of field and status names: NFKC, lower case, no whitespace or underscores."""
    return fold_name(name).replace("_", "")


def norm(value: Any) -> str:
    return " ".join(str(value).split())



class Names:
    """Field and status names of one prompt language; reading also accepts the other language's names."""

    def __init__(self, lang: str):
        tpl = load_templates("ee", lang)
        self.lang = lang
        self.raw = tpl.raw
        self.field_name = {role: str(tpl.raw["fields"][role][0]) for role in ROLES}
        self.status_name = {str(raw): str(names[0]) for raw, names in tpl.raw["tendency_values"].items()}
        self.none_value = str(tpl.raw.get("none_value", "无"))
        self.field_of: dict[str, str] = {}
        self.status_of: dict[str, str] = {}
        for other in (lang, "zh" if lang == "en" else "en"):
            raw = load_templates("ee", other).raw
            for role in ROLES:
                for n in raw["fields"][role]:
                    self.field_of.setdefault(field_key(str(n)), role)
            for status, names in raw["tendency_values"].items():
                for n in [status, *names]:
                    if str(n):
                        self.status_of.setdefault(field_key(str(n)), str(status))
        alts = sorted({str(n) for other in ("zh", "en") for role in ROLES for n in load_templates("ee", other).raw["fields"][role]},
                      key=len, reverse=True)
        names_rx = "|".join(r"[\s_]*".join(re.escape(p) for p in re.split(r"[\s_]+", a)) for a in alts)
        self.key_rx = re.compile(r"[\"“「]?(?P<name>" + names_rx + r")[\"”」]?\s*[:：∶=]\s*", re.IGNORECASE)

    def status(self, value: str, quoted: bool) -> str:
        if quoted:
            return norm(value)
        return self.status_of.get(field_key(value), norm(value))


@functools.cache
def names(lang: str) -> Names:
    return Names(lang)
