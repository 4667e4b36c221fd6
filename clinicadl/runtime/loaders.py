"""Data loaders that never draw from the global random state (imports torch)."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

__all__ = ["EVALUATION_SEED", "make_loader"]

EVALUATION_SEED = 0
"""Seed of the generator of evaluation loaders: they never draw from the global random state."""


def make_loader(dataset, *, batch_size: int, n_proc: int, shuffle: bool = False, sampler=None,
                generator: torch.Generator | None = None) -> DataLoader:
    """A DataLoader; ``n_proc`` <= 1 loads in this process, more uses that many persistent workers.

    Loaders always get their own generator, so that iterating them never draws from the global random state
    (which drives dropout).
    """
    if generator is None:
        generator = torch.Generator()
        generator.manual_seed(EVALUATION_SEED)
    workers = int(n_proc) if int(n_proc) > 1 else 0
    return DataLoader(dataset, batch_size=int(batch_size), shuffle=shuffle if sampler is None else False,
                      sampler=sampler, num_workers=workers, persistent_workers=workers > 0,
                      generator=generator, pin_memory=False, drop_last=False)
