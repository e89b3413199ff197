"""The order in which the Trainer reads a stage's cached examples: the weighted per-epoch mix, or the
Trainer's own samplers fed with the cache's lengths.

Why: the Trainer calls ``set_epoch`` on the sampler before every epoch (also on a resume, before skipping the
batches already trained), so a sampler that is a pure function of (seed, epoch) gives every rank the same
examples and a resumed run the same order. ``group_by_length`` reads the cache's length column instead of
touching every example.
"""

from __future__ import annotations

import numpy as np

from taiyi.instructions.epoch_mix import EpochMix, EpochPlan


class EpochMixSampler:
    """Indices of one epoch of an ``EpochPlan``; the length is the same every epoch (the quotas are fixed)."""

    def __init__(self, plan: EpochPlan):
        self.plan, self.epoch = plan, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.plan)

    def __iter__(self):
        return iter(self.plan.indices(self.epoch).tolist())


def epoch_plan(mix: EpochMix, cache, seed: int) -> EpochPlan:
    codes, names = cache.codes(mix.by)
    return EpochPlan(mix, codes, names, seed)


def stage_trainer(base_cls, sampler=None):
    """``base_cls`` with the training sampler: ``sampler`` when given, length groups from the dataset's
    ``lengths`` for ``group_by_length``, else the Trainer's own."""

    class StageTrainer(base_cls):
        def _get_train_sampler(self, train_dataset=None):
            ds = train_dataset if train_dataset is not None else self.train_dataset
            if sampler is not None:
                return sampler
            lengths = getattr(ds, "lengths", None)
            if self.args.train_sampling_strategy == "group_by_length" and lengths is not None:
                from transformers.trainer_pt_utils import LengthGroupedSampler

                return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                            lengths=np.asarray(lengths).tolist())
            return super()._get_train_sampler(train_dataset)

    StageTrainer.__name__ = base_cls.__name__
    return StageTrainer
