"""The task registry: a task is one registered object that owns everything Taiyi knows about it.

Why: the list of tasks, their answer budgets, stages, benchmark type restrictions and metrics used to live in
6-10 tables outside the codec; adding a task meant editing all of them. Now a task module defines one class::

    from taiyi.instructions.tasks.registry import Task, register_task

    @register_task("ner")
    class NerTask(Task):
        unit = "document"            # how it is scored: "document" (pooled sets) or "item"
        stage = 1                    # first curriculum stage it is trained in (the paper: 1 extraction, 2 QA/chat)
        max_new_tokens = 512         # default answer budget at evaluation
        metrics = ("micro_f1", "grounded_f1")   # metric registry names; the first is a benchmark's default
        types_key = "entity_types"   # the meta.json key a benchmark's ``types`` fills
        def examples(self, record, rng, info, mode="train"): ...
        def render(self, target, meta, phrasing=None): ...
        def parse(self, text, meta): ...      # raises ParseError on unreadable text
        def restrict(self, record, keep): ...  # a record limited to a benchmark's types

A class that does not define ``examples``/``render``/``parse`` uses the module-level functions of those names (the
built-in task modules are written that way). Templates live in ``<templates_dir>/<task>.<lang>.yaml``: the package's ``templates/`` for built-in tasks, else the
folder of the module (or its ``templates/`` subfolder) unless the class sets ``templates_dir``.

Discovery: the built-in modules, then the ``taiyi.tasks`` entry point group, then every module name or ``.py``
path listed in ``$TAIYI_TASKS`` (separated by ``,`` or the OS path separator) are imported once, on first use.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable

from taiyi.instructions.tasks.base import TEMPLATE_DIR, Instruction

BUILTIN = ("ner", "re", "ee", "cls", "pair", "mcqa", "qa", "dialogue", "mt", "title", "report", "norm", "bionlp_ee", "sim",
           "summ")
ENV_VAR = "TAIYI_TASKS"
ENTRY_POINT_GROUP = "taiyi.tasks"
UNITS = ("document", "item")

_TASKS: dict[str, "Task"] = {}
_loaded = False


class Task:
    """Base class of a registered task; subclasses override the class attributes and the three codec methods."""

    name: ClassVar[str] = ""
    unit: ClassVar[str] = "item"
    stage: ClassVar[int] = 2
    max_new_tokens: ClassVar[int] = 256
    metrics: ClassVar[tuple[str, ...]] = ()
    types_key: ClassVar[str] = "types"
    only_offered_types: ClassVar[bool] = False  # a benchmark's types also limit the label names offered
    window_long_documents: ClassVar[bool] = False  # kb documents too long to train on are cut (windows.py)
    templates_dir: ClassVar[Path | None] = None

    def examples(self, record: dict, rng, info: dict, mode: str = "train") -> list[Instruction]:
        raise NotImplementedError

    def render(self, target: Any, meta: dict, phrasing: int | None = None) -> str:
        raise NotImplementedError

    def parse(self, text: str | None, meta: dict) -> Any:
        raise NotImplementedError

    def restrict(self, record: dict, keep: Callable[[str], str | None]) -> dict:
        """``record`` (a copy, may be changed) limited to a benchmark's types: ``keep(raw)`` gives the benchmark
        type of a raw type, or None to drop it. Default: the task has no types to restrict."""
        return record

    def dataset_facts(self, records: Iterable[dict], info: dict) -> dict | None:
        """What the prompts need to know about the whole dataset, not one record (the term vocabulary distractors are
        drawn from, a score range), computed once from the records being built; the codec finds it in
        ``info["facts"][task]``. None (the default): the task needs nothing, and no caller reads the records twice."""
        return None

    def benchmark_info(self, info: dict, types: list[str] | None, bench: Any) -> dict:
        """The dataset's meta.json (a copy) as the codec sees it for a benchmark asking for ``types``."""
        if types is not None:
            if self.only_offered_types:
                info["label_names"] = {t: info["label_names"][t] for t in types}
            info[self.types_key] = list(types)
        return info

    def __repr__(self) -> str:
        return f"<task {self.name}: {type(self).__module__}.{type(self).__qualname__}>"


def with_facts(task: Task, info: dict, records: Callable[[], Iterable[dict]]) -> dict:
    """``info`` with ``info["facts"][task.name]`` filled when the task wants dataset facts (``records()`` gives a fresh
    iterator over the records the prompts are drawn from); otherwise ``info`` itself, records unread."""
    if type(task).dataset_facts is Task.dataset_facts:
        return info
    facts = task.dataset_facts(records(), info)
    if facts is None:
        return info
    return {**info, "facts": {**(info.get("facts") or {}), task.name: facts}}


def register_task(name: str) -> Callable[[type[Task]], type[Task]]:
    """Class decorator: register one instance of a ``Task`` subclass under ``name`` (a name may be taken once)."""

    def deco(cls: type[Task]) -> type[Task]:
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise TypeError(f"@register_task({name!r}) needs a Task subclass, got {cls!r}")
        if cls.unit not in UNITS:
            raise ValueError(f"task {name!r}: unit must be one of {UNITS}, got {cls.unit!r}")
        old = _TASKS.get(name)
        if old is not None and type(old).__qualname__ != cls.__qualname__:
            raise ValueError(f"task {name!r} is registered twice ({old!r} and {cls.__module__}.{cls.__qualname__})")
        cls.name = name
        module = sys.modules.get(cls.__module__)
        for method in ("examples", "render", "parse"):  # default: the module's functions of those names
            if getattr(cls, method) is getattr(Task, method) and callable(getattr(module, method, None)):
                setattr(cls, method, staticmethod(getattr(module, method)))
        if cls.templates_dir is None:
            cls.templates_dir = _default_templates_dir(cls)
        _TASKS[name] = cls()
        return cls

    return deco


def _default_templates_dir(cls: type) -> Path:
    mod = sys.modules.get(cls.__module__)
    file = getattr(mod, "__file__", None)
    if file is None or Path(file).resolve().parent == Path(__file__).resolve().parent:
        return TEMPLATE_DIR
    here = Path(file).resolve().parent
    return here / "templates" if (here / "templates").is_dir() else here


def _import_path(spec: str) -> None:
    """Import a module by dotted name or by ``.py`` file path (registered under its file stem)."""
    if spec.endswith(".py") or os.sep in spec:
        path = Path(spec).expanduser().resolve()
        if not path.is_file():
            raise ImportError(f"${ENV_VAR}: task module {path} does not exist")
        mod_name = f"taiyi_user_tasks.{path.stem}"
        if mod_name in sys.modules:
            return
        s = importlib.util.spec_from_file_location(mod_name, path)
        mod = importlib.util.module_from_spec(s)
        sys.modules[mod_name] = mod
        s.loader.exec_module(mod)
    else:
        importlib.import_module(spec)


def load_tasks() -> None:
    """Import the built-in task modules, entry points and ``$TAIYI_TASKS`` modules (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in BUILTIN:
        importlib.import_module(f"taiyi.instructions.tasks.{name}")
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        ep.load()
    for spec in (s.strip() for s in os.environ.get(ENV_VAR, "").replace(os.pathsep, ",").split(",")):
        if spec:
            _import_path(spec)


def get_task(name: str) -> Task:
    load_tasks()
    try:
        return _TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(_TASKS)}") from None


def task_names() -> tuple[str, ...]:
    """Every registered task, built-in ones first in their historical order."""
    load_tasks()
    order = {n: i for i, n in enumerate(BUILTIN)}
    return tuple(sorted(_TASKS, key=lambda n: order.get(n, len(order))))  # stable: others in registration order


def stage_tasks(stage: int) -> list[str]:
    """Tasks trained in ``stage`` by default: those whose ``stage`` is at most ``stage`` (the paper's curriculum)."""
    return [n for n in task_names() if _TASKS[n].stage <= stage]
