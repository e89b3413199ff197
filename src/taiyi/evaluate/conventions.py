"""Named scoring conventions: each benchmark's number under the rules of the scorers people compare with.

Why: the same answers give different numbers under the paper's lab's scripts, PromptCBLUE's, CBLUE's,
lm-eval's or a benchmark's official scorer; a number is only comparable with one computed the same way.
``conventions.yaml`` (data) maps each convention to a registered metric per task; the report shows, per
benchmark, the number under every convention that covers it, so it says which convention each number follows.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from taiyi.evaluate.metrics import metric_names
from taiyi.files import DataError, validation_message

CONVENTIONS_FILE = Path(__file__).resolve().parent / "conventions.yaml"


class Convention(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    benchmarks: tuple[str, ...] | None = None
    metrics: dict[str, str]

    def metric_for(self, benchmark: str, task: str) -> str | None:
        """The metric this convention scores ``benchmark`` (of ``task``) with, or None when it does not cover it."""
        if self.benchmarks is not None and benchmark not in self.benchmarks:
            return None
        return self.metrics.get(task)


@functools.cache
def conventions(path: str = str(CONVENTIONS_FILE)) -> dict[str, Convention]:
    """The named conventions (schema-checked; metric names must be registered)."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("conventions"), dict):
        raise DataError(f"{path}: expected a top-level 'conventions:' mapping")
    out, known = {}, set(metric_names())
    for name, spec in raw["conventions"].items():
        try:
            conv = Convention.model_validate(spec)
        except ValidationError as exc:
            raise DataError(validation_message(exc, f"{path}: conventions.{name}")) from None
        bad = sorted(set(conv.metrics.values()) - known)
        if bad:
            raise DataError(f"{path}: conventions.{name}: metric(s) {bad} are not registered")
        out[name] = conv
    return out


def applicable(benchmark: str, task: str) -> dict[str, str]:
    """convention name -> metric name, for every convention covering ``benchmark``."""
    return {n: m for n, c in conventions().items() if (m := c.metric_for(benchmark, task)) is not None}
