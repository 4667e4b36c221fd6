"""``TinyCNN`` and ``TinyAE``: networks of a few thousand parameters for tests and demonstrations.

They train in seconds on a CPU, on 2D or 3D inputs of any size (global pooling for ``TinyCNN``, padded pooling and
unpooling for ``TinyAE``), so a whole replicate study fits in a unit test. They are not meant for real data.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from clinicadl.models.autoencoder import ConvAutoEncoder
from clinicadl.models.layers import conv_stack

TINY_CHANNELS: tuple[int, ...] = (8, 16)
"""Widths of the two convolution blocks of ``TinyCNN``."""


class TinyCNN(nn.Module):
    """Two ``[Conv, Norm, ReLU, PadMaxPool]`` blocks (8, 16 channels), global average pooling, dropout, linear.

    1,330 parameters in 2D and 3,778 in 3D for two outputs.

    Examples
    --------
    >>> import torch
    >>> TinyCNN([1, 12, 12], 3).eval()(torch.zeros(4, 1, 12, 12)).shape
    torch.Size([4, 3])
    """

    def __init__(
        self, input_size: Sequence[int], output_size: int = 2, *, dropout: float = 0.0, normalization: str = "batch"
    ) -> None:
        super().__init__()
        spatial_dims = len(input_size) - 1
        self.convolutions = conv_stack(int(input_size[0]), TINY_CHANNELS, spatial_dims, normalization)
        pool = {2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}[spatial_dims]
        self.fc = nn.Sequential(pool(1), nn.Flatten(), nn.Dropout(p=dropout), nn.Linear(TINY_CHANNELS[-1], output_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convolutions(x))


class TinyAE(ConvAutoEncoder):
    """A one-block convolutional autoencoder (4 channels) for fast reconstruction tests.

    Examples
    --------
    >>> import torch
    >>> TinyAE([1, 9, 10, 11]).eval()(torch.zeros(2, 1, 9, 10, 11)).shape
    torch.Size([2, 1, 9, 10, 11])
    """

    def __init__(
        self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0, normalization: str = "batch"
    ) -> None:
        super().__init__(input_size, (4,), dropout=dropout, normalization=normalization)
