"""The metric registry: every score Taiyi reports is one registered function, found by name.

Why: a benchmark's ``metric:`` / ``metrics:`` fields and a task's ``metrics`` are names; this registry turns them
into code, so a new metric is one decorated function and any task can be scored by any metric that reads its
targets. Register with::

    from taiyi.evaluate.metrics import register_metric

    @register_metric("exact_match")
    def exact_match(preds, golds, ctx):
        # docstring (required): "Share of units whose prediction equals the gold target (0-100)."
        ...
        return {"score": ..., **details}

``preds[i]`` / ``golds[i]`` are one scoring unit's prediction and gold target (a pooled set of tuples for
document-unit tasks, the parsed answer for item-unit tasks); ``preds[i] is None`` is an unreadable answer and
must be scored wrong (and counted). ``ctx[i]`` has ``text`` (the source text), ``meta`` (the item's meta),
``lang`` and ``task``. The returned dict's ``score`` is the headline number, in percent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

MetricFn = Callable[[Sequence[Any], Sequence[Any], Sequence[dict]], dict]
_METRICS: dict[str, "Metric"] = {}


@dataclass(frozen=True)
class Metric:
    name: str
    fn: MetricFn

    @property
    def definition(self) -> str:
        return (self.fn.__doc__ or "").strip()

    def __call__(self, preds: Sequence[Any], golds: Sequence[Any], ctx: Sequence[dict] | None = None) -> dict:
        if len(preds) != len(golds):
            raise ValueError(f"metric {self.name}: {len(preds)} predictions for {len(golds)} gold units")
        out = self.fn(preds, golds, ctx if ctx is not None else [{}] * len(golds))
        if "score" not in out:
            raise ValueError(f"metric {self.name} returned no 'score'")
        return out


def register_metric(name: str) -> Callable[[MetricFn], MetricFn]:
    """Function decorator: register ``fn(preds, golds, ctx) -> {"score": ..., ...}`` under ``name``; its docstring
    is the metric's definition (required)."""

    def deco(fn: MetricFn) -> MetricFn:
        if name in _METRICS and _METRICS[name].fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"metric {name!r} is registered twice")
        if not (fn.__doc__ or "").strip():
            raise ValueError(f"metric {name!r}: the docstring must define it")
        _METRICS[name] = Metric(name, fn)
        return fn

    return deco


def get_metric(name: str) -> Metric:
    try:
        return _METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(_METRICS))}") from None


def metric_names() -> tuple[str, ...]:
    return tuple(sorted(_METRICS))
