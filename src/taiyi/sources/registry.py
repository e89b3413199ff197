"""Registry of readers: catalog entries name a reader and its options; adding a dataset of a known
format therefore needs a catalog entry only, no code.

A reader is ``fn(root: Path, **options) -> Iterator[dict]`` yielding unified records
(``taiyi.corpus.schema``) with ``split`` set; ``root`` is the dataset's folder.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Iterator

Reader = Callable[..., Iterator[dict]]
_READERS: dict[str, Reader] = {}


def register_reader(name: str) -> Callable[[Reader], Reader]:
    def deco(fn: Reader) -> Reader:
        if name in _READERS and _READERS[name] is not fn:
            raise ValueError(f"reader {name!r} registered twice")
        _READERS[name] = fn
        return fn

    return deco


def _load_all() -> None:
    import taiyi.sources.readers as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")


def get_reader(name: str) -> Reader:
    if name not in _READERS:
        _load_all()
    try:
        return _READERS[name]
    except KeyError:
        raise KeyError(f"unknown reader {name!r}; known: {sorted(_READERS)}") from None


def reader_names() -> list[str]:
    _load_all()
    return sorted(_READERS)
