"""Weighted mixing with per-epoch resampling: how many examples of each source (dataset or task) one epoch
trains on, and which ones.

Why: the paper caps large sources (10,000 instructions each) and mixes 560k general dialogues into stage 2; a cap
applied once at build time throws the rest of a large source away for good, and a fixed weight cannot be
changed without rebuilding. Here each source ``s`` with ``n`` examples contributes ``q = min(cap, round(n x
weight))`` examples per epoch (weight > 1 repeats a small source; a weight of 0 leaves it out). They are taken
from a stream of seeded permutations of the source, ``q`` at a time, so a capped source shows a *different*
subset each epoch and every example is seen before any repeats. Everything is a function of (seed, source
name, epoch): every rank of a distributed run, and a resumed run, draws the same examples. The same spec is
accepted by the build config (``epoch_mix``, previewed in ``stats.md``) and the recipe (``stages.<s>.mix``).
"""

from __future__ import annotations

import zlib
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator


def non_negative(v: dict) -> dict:
    """Weights and caps are non-negative (shared by the build config's weights/caps)."""
    bad = {k: w for k, w in v.items() if w < 0}
    if bad:
        raise ValueError(f"must be non-negative, got {bad}")
    return v


class EpochMix(BaseModel):
    """``by``: group examples by their ``dataset`` or ``task``; ``weights``/``caps``: per group name, with an
    optional ``default`` key; ``epochs``: how many epochs the build's preview shows (training uses the recipe's)."""

    model_config = ConfigDict(extra="forbid")
    by: Literal["dataset", "task"] = "dataset"
    weights: dict[str, float] = Field(default_factory=dict)
    caps: dict[str, int] = Field(default_factory=dict)
    epochs: int = Field(1, ge=1)

    @field_validator("weights", "caps")
    @classmethod
    def _non_negative(cls, v: dict) -> dict:
        return non_negative(v)

    def quota(self, name: str, n: int) -> int:
        """Examples of group ``name`` (``n`` available) in one epoch."""
        w = float(self.weights.get(name, self.weights.get("default", 1.0)))
        cap = self.caps.get(name, self.caps.get("default"))
        q = int(round(n * w))
        return q if cap is None else min(q, int(cap))


def _take(n: int, q: int, epoch: int, seed: int, name: str) -> np.ndarray:
    """Positions (0..n-1) of epoch ``epoch``'s ``q`` draws from the stream of seeded permutations of ``n``."""
    if n == 0 or q == 0:
        return np.zeros(0, dtype=np.int64)
    key = zlib.crc32(name.encode("utf-8"))
    lo, hi = epoch * q, (epoch + 1) * q
    out = []
    for c in range(lo // n, (hi - 1) // n + 1):
        perm = np.random.default_rng([seed, key, c]).permutation(n)
        out.append(perm[max(lo, c * n) - c * n: min(hi, (c + 1) * n) - c * n])
    return np.concatenate(out)


class EpochPlan:
    """The mix applied to one set of examples: ``indices(epoch)`` (shuffled) and per-epoch counts."""

    def __init__(self, mix: EpochMix, codes: np.ndarray, names: list[str], seed: int):
        self.mix, self.names, self.seed = mix, list(names), int(seed)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
        self.members = {nm: order[bounds[g]: bounds[g + 1]] for g, nm in enumerate(self.names)}
        self.quotas = {nm: mix.quota(nm, len(m)) for nm, m in self.members.items()}

    def __len__(self) -> int:
        return sum(self.quotas.values())

    def chosen(self, epoch: int) -> dict[str, np.ndarray]:
        """Example indices of each group in ``epoch`` (0-based), before shuffling."""
        return {nm: self.members[nm][_take(len(self.members[nm]), q, epoch, self.seed, nm)]
                for nm, q in self.quotas.items()}

    def indices(self, epoch: int) -> np.ndarray:
        parts = [v for v in self.chosen(epoch).values() if len(v)]
        idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return idx[np.random.default_rng([self.seed, 0x6D6978, epoch]).permutation(len(idx))]

    def report(self, epochs: int) -> dict:
        """Per group: available, weight, cap, per-epoch count and new (not yet seen) examples per epoch."""
        rows = {}
        for nm, m in self.members.items():
            seen, new = np.zeros(len(m), dtype=bool), []
            for e in range(int(epochs)):
                pos = _take(len(m), self.quotas[nm], e, self.seed, nm)
                new.append(int((~seen[np.unique(pos)]).sum()))
                seen[pos] = True
            rows[nm] = {"available": int(len(m)), "per_epoch": self.quotas[nm], "new": new}
        return {"by": self.mix.by, "epochs": int(epochs), "seed": self.seed, "per_epoch_total": len(self),
                "groups": rows}


def markdown(report: dict) -> list[str]:
    """The effective mix per epoch as a stats.md section."""
    total = max(1, report["per_epoch_total"])
    eps = range(1, report["epochs"] + 1)
    out = [f"| {report['by'].title()} | Available | Per epoch | Share | " + " | ".join(f"New in epoch {e}" for e in eps) + " |",
           "|---|---:|---:|---:|" + "---:|" * len(eps)]
    for nm, r in sorted(report["groups"].items()):
        out.append(f"| {nm} | {r['available']:,} | {r['per_epoch']:,} | {100 * r['per_epoch'] / total:.1f}% | "
                   + " | ".join(f"{n:,}" for n in r["new"]) + " |")
    out.append(f"| **Total** | {sum(r['available'] for r in report['groups'].values()):,} | "
               f"**{report['per_epoch_total']:,}** | 100% |" + " |" * len(eps))
    return out
