"""Registry of readers: catalog entries name a reader and its options; adding a dataset of a known
format therefore needs a catalog entry only, no code.

A reader is ``fn(root: Path, **options) -> Iterator[dict]`` yielding unified records
(``taiyi.corpus.schema``) with ``split`` set; ``root`` is the dataset's folder. Readers outside the package (for a
user catalog) are modules named in ``$TAIYI_READERS`` (dotted names or ``.py`` paths, separated by ``,`` or the OS
path separator), imported with the built-in ones.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from pathlib import Path
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


ENV_VAR = "TAIYI_READERS"


def _import_user(spec: str) -> None:
    """A reader module by dotted name or ``.py`` path (registered as ``taiyi_user_readers.<stem>``)."""
    if not (spec.endswith(".py") or os.sep in spec):
        importlib.import_module(spec)
        return
    path = Path(spec).expanduser().resolve()
    if not path.is_file():
        raise ImportError(f"${ENV_VAR}: reader module {path} does not exist")
    name = f"taiyi_user_readers.{path.stem}"
    if name not in sys.modules:
        s = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(s)
        sys.modules[name] = mod
        s.loader.exec_module(mod)


def _load_all() -> None:
    import taiyi.sources.readers as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    for spec in os.environ.get(ENV_VAR, "").replace(os.pathsep, ",").split(","):
        if spec.strip():
            _import_user(spec.strip())


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


def reader_parameters(name: str) -> tuple[list[str], list[str], bool]:
    """(accepted options, required options, takes any ``**options``) of a reader, from its signature.

    Why: the signature is the one declaration of a reader's options, so a catalog typo (``file:`` for
    ``files:``) is caught when the catalog loads, with the accepted names, instead of as a raw TypeError.
    """
    import inspect

    params = list(inspect.signature(get_reader(name)).parameters.values())[1:]  # the first is the folder
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    required = [p.name for p in named if p.default is p.empty]
    return [p.name for p in named], required, any(p.kind is p.VAR_KEYWORD for p in params)


def option_problems(name: str, options: dict) -> list[str]:
    """Problems of a catalog entry's ``reader`` block, one phrase each (empty: fine)."""
    import difflib

    try:
        accepted, required, any_kw = reader_parameters(name)
    except KeyError:
        return [f"reader.name {name!r} is not a registered reader; known: {', '.join(reader_names())}"]
    model = getattr(get_reader(name), "options_model", None)
    if model is not None:  # a reader taking **options declares them as a pydantic model (taiyi.sources.fieldmap)
        from taiyi.sources.fieldmap import option_errors

        return option_errors(model, name, options)
    out = []
    for key in options:
        if key not in accepted and not any_kw:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.append(f"reader.options.{key}: unknown option of reader {name!r}{hint}; accepted: {', '.join(accepted)}")
    missing = [k for k in required if k not in options]
    if missing:
        out.append(f"reader.options: reader {name!r} needs option(s) {', '.join(missing)}; accepted: {', '.join(accepted)}")
    return out
