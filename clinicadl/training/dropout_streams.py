"""Dropout that draws its masks from the replicate's own generator (the ``dropout`` source of variance).

``nn.Dropout`` draws from the global torch generator of its device. That is one stream per process, which is enough
for one network at a time, but replicates trained together (:mod:`clinicadl.training.packed_loop`) each need their
own stream, and the packed and the unpacked paths must draw the same masks for the same seed. So the trainer replaces
each ``nn.Dropout`` of the network by a :class:`StreamDropout` of the same rate that draws its mask with
``Tensor.bernoulli_(1 - p, generator=...)`` from a generator seeded by the ``dropout`` seed; both paths call
:func:`dropout_mask` with the same shape and generator, so they draw the same masks. Dropout has no parameter, so
state dicts (and upstream checkpoints) are unchanged. The generator's state is saved in the training checkpoint
(:mod:`clinicadl.training.checkpointing`).

References
----------
Srivastava N. et al. (2014). Dropout: a simple way to prevent neural networks from overfitting. JMLR 15, 1929-1958
(inverted dropout: kept units are scaled by ``1 / (1 - p)`` during training, as ``torch.nn.Dropout`` does).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["StreamDropout", "dropout_generator", "dropout_mask", "use_stream_dropout"]


def dropout_generator(seed: int, device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded with the ``dropout`` seed."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


def dropout_mask(shape: tuple[int, ...], p: float, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """The inverted-dropout mask of ``shape``: 0 with probability ``p``, else ``1 / (1 - p)``."""
    if p >= 1.0:
        return torch.zeros(shape, dtype=like.dtype, device=like.device)
    keep = torch.empty(shape, dtype=like.dtype, device=like.device).bernoulli_(1.0 - p, generator=generator)
    return keep.div_(1.0 - p)


class StreamDropout(nn.Module):
    """``nn.Dropout(p)`` whose masks come from ``generator`` instead of the global random state.

    Examples
    --------
    >>> import torch
    >>> a = StreamDropout(0.5, dropout_generator(0, torch.device("cpu")))(torch.ones(2, 6))
    >>> b = StreamDropout(0.5, dropout_generator(0, torch.device("cpu")))(torch.ones(2, 6))
    >>> torch.equal(a, b), set(a.flatten().tolist()) <= {0.0, 2.0}
    (True, True)
    """

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__()
        self.p = float(p)
        self.generator = generator

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        return x * dropout_mask(tuple(x.shape), self.p, self.generator, x)


def use_stream_dropout(network: nn.Module, generator: torch.Generator) -> int:
    """Replace every ``nn.Dropout`` of ``network`` (in place) by a :class:`StreamDropout` drawing from ``generator``.

    Returns the number of layers replaced. Other random layers (``Dropout3d``, a network's own functional dropout)
    still draw from the global generator, which the trainer seeds with the same ``dropout`` seed.
    """
    replaced = 0
    for module in list(network.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Dropout:
                setattr(module, name, StreamDropout(child.p, generator))
                replaced += 1
    return replaced
