"""Checkpoints whose completeness can be told: ``--resume`` must use the last *complete* one.

Why: a kill (OOM killer, preemption, kill -9) while the Trainer writes ``checkpoint-N`` leaves a folder with some of
its files; resuming from it crashes or, worse, resumes from torn optimizer state. So a checkpoint gets a marker file
written last (atomically), after the model, optimizer, scheduler, RNG and trainer state; older checkpoints are
rotated only after the new one is marked (and unmarked before they are deleted); unmarked folders are a killed
run's and are removed on resume; temporary leftovers of killed atomic writes are cleaned at start.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from taiyi.files import atomic_path

COMPLETE_MARKER = "taiyi_complete.json"
_CKPT = re.compile(r"^checkpoint-(\d+)$")
_TEMP = re.compile(r"^\.(.+?)\.((?:taiyi-tmp|old)-.*|[^.]+\.tmp)$")  # .<name>.<temp part> beside <name>


def checkpoints(ckpt_dir: Path) -> list[tuple[int, Path, bool]]:
    """(step, path, complete) of every ``checkpoint-N`` folder, by step."""
    if not ckpt_dir.is_dir():
        return []
    out = []
    for p in ckpt_dir.iterdir():
        m = _CKPT.match(p.name)
        if m and p.is_dir():
            out.append((int(m.group(1)), p, (p / COMPLETE_MARKER).is_file()))
    return sorted(out)


def last_complete_checkpoint(ckpt_dir: Path) -> Path | None:
    done = [p for _, p, ok in checkpoints(ckpt_dir) if ok]
    return done[-1] if done else None


def remove_partial_checkpoints(ckpt_dir: Path) -> list[str]:
    """Delete checkpoint folders a kill left unfinished (no marker); returns their names."""
    gone = []
    for _, p, ok in checkpoints(ckpt_dir):
        if not ok:
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p.name)
    return gone


def clean_temp_leftovers(run_dir: Path) -> list[str]:
    """Remove what killed runs' atomic writes left in a run folder (``files.clean_stale_temps`` decides: only temps
    of processes that are gone, on this machine); returns what went."""
    from taiyi.files import TMP_TAG, clean_stale_temps

    gone: list[str] = []
    if not run_dir.is_dir():
        return gone
    for parent in [run_dir, *[p for p in run_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]]:
        targets = set()
        for p in parent.iterdir():
            m = _TEMP.match(p.name)
            if m and (m.group(2).startswith((TMP_TAG, "old-")) or p.name.endswith(".tmp")):
                targets.add(m.group(1))
        for name in sorted(targets):
            gone += [str(p) for p in clean_stale_temps(parent / name)]
    return gone


def marking_trainer():
    """A Trainer whose checkpoints are marked complete last and rotated only after that."""
    from transformers import Trainer

    class MarkedTrainer(Trainer):
        keep_checkpoints = 2

        def _save_checkpoint(self, model, trial):
            super()._save_checkpoint(model, trial)
            if not self.args.should_save:
                return
            folder = Path(self.args.output_dir) / f"checkpoint-{self.state.global_step}"
            with atomic_path(folder / COMPLETE_MARKER) as tmp:
                tmp.write_text(f'{{"step": {self.state.global_step}}}\n', encoding="utf-8")
            done = [p for _, p, ok in checkpoints(Path(self.args.output_dir)) if ok]
            for old in done[: max(0, len(done) - self.keep_checkpoints)]:
                (old / COMPLETE_MARKER).unlink(missing_ok=True)  # unmark first: a kill mid-delete leaves no "complete" husk
                shutil.rmtree(old, ignore_errors=True)

    return MarkedTrainer
