"""Seeded weight initialisation that leaves the caller's random state alone.

PyTorch layers draw their initial weights from the global CPU generator. :func:`seeded` runs a block of code with
that generator forked and seeded (``torch.random.fork_rng(devices=[])`` then
``torch.default_generator.manual_seed(seed)``): the same seed gives bit-identical weights, and the caller's CPU
generator is restored afterwards. CUDA generators are neither used (models are built on the CPU) nor touched
(``torch.manual_seed`` would reseed them, so it is not used).

Dropout masks are drawn inside the forward pass from the global generator of the device the model runs on
(``torch.default_generator`` on CPU, the CUDA generator on GPU). The trainer controls the ``dropout`` source of
variance by seeding those generators from the ``dropout`` seed before training and by giving the other random
consumers (data order, augmentation) generators of their own.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def _check_seed(seed: int) -> int:
    from clinicadl.errors import InputError

    try:
        value = operator.index(seed)  # int, numpy integers
    except TypeError:
        value = None
    if isinstance(seed, bool) or value is None or not 0 <= value < 2**64:
        raise InputError(f"A weight-initialisation seed must be an integer in [0, 2**64), got {seed!r}.")
    return value


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with the global CPU generator seeded with ``seed``, then restore the caller's state.

    Examples
    --------
    >>> import torch
    >>> with seeded(0):
    ...     a = torch.nn.Linear(3, 2).weight
    >>> with seeded(0):
    ...     b = torch.nn.Linear(3, 2).weight
    >>> torch.equal(a, b)
    True
    """
    seed = _check_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


def init_weights(model: nn.Module, seed: int) -> nn.Module:
    """Re-initialise every parameter and buffer of ``model`` from ``seed`` (in place) and return it.

    Calls ``reset_parameters()`` (and ``reset_running_stats()`` through it for batch normalisation) on each
    sub-module, in ``model.modules()`` order, under :func:`seeded`. Two models of the same architecture get
    identical weights from the same seed; the caller's random state is unchanged. The result generally differs from
    ``build_model(..., seed=seed)`` (which seeds the construction itself), but is as reproducible.
    """
    with seeded(seed), torch.no_grad():
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    return model
