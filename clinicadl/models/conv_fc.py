"""ClinicaDL 1.x's convolutional classifiers ``Conv5_FC3`` and ``Conv4_FC3``, checkpoint-compatible with upstream.

Both are ``convolutions`` (an ``nn.Sequential`` of five blocks ``[Conv(k3, pad 1), Norm, ReLU, PadMaxPool]`` of
8, 16, 32, 64 and 128 channels) followed by ``fc`` (``[Flatten, Dropout, Linear, ReLU, Linear, ReLU, Linear]``).
They differ only by the widths of the fully-connected layers: 1300 and 50 for ``Conv5_FC3``, 50 and 40 for
``Conv4_FC3``. Upstream's ``Conv4_FC3`` also has five convolution blocks despite its name; we keep that, because
the name is what a 1.x ``maps.json`` records and its checkpoints must load.

The state-dict keys are those of upstream checkpoints (``convolutions.0.weight``, ``convolutions.1.running_mean``,
..., ``fc.2.weight``, ``fc.4.weight``, ``fc.6.weight``), so a ``model.pth.tar`` written by ClinicaDL 1.x loads with
``strict=True``.

References
----------
Wen J. et al. (2020). Convolutional neural networks for classification of Alzheimer's disease: overview and
reproducible evaluation. Medical Image Analysis 63, 101694.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from clinicadl.models.layers import conv_stack, pooled_size

CONV_CHANNELS: tuple[int, ...] = (8, 16, 32, 64, 128)
"""Widths of the five convolution blocks of the ``Conv*_FC3`` family."""


class ConvFC3(nn.Module):
    """Five ``[Conv, Norm, ReLU, PadMaxPool]`` blocks, then three fully-connected layers.

    Parameters
    ----------
    input_size : sequence of int
        ``[C, H, W]`` (2D, e.g. a slice ``[1, 64, 64]``) or ``[C, D, H, W]`` (3D, e.g. an image
        ``[1, 169, 208, 179]``).
    output_size : int
        Number of outputs (classes, or 1 for a regression).
    hidden : (int, int)
        Widths of the two hidden fully-connected layers.
    dropout : float
        Rate of the dropout layer before the first fully-connected layer.
    normalization : {"batch", "instance", "group"}
        Normalisation of the convolution blocks.
    """

    def __init__(
        self,
        input_size: Sequence[int],
        output_size: int,
        *,
        hidden: tuple[int, int],
        dropout: float = 0.0,
        normalization: str = "batch",
    ) -> None:
        super().__init__()
        spatial_dims = len(input_size) - 1
        self.convolutions = conv_stack(int(input_size[0]), CONV_CHANNELS, spatial_dims, normalization)
        n_flat = CONV_CHANNELS[-1] * math.prod(pooled_size(int(s), len(CONV_CHANNELS)) for s in input_size[1:])
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(p=dropout),
            nn.Linear(n_flat, hidden[0]),
            nn.ReLU(),
            nn.Linear(hidden[0], hidden[1]),
            nn.ReLU(),
            nn.Linear(hidden[1], output_size),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convolutions(x))


class Conv5_FC3(ConvFC3):  # upstream name
    """ClinicaDL's ``Conv5_FC3``: five convolution blocks (8 to 128 channels), then FC 1300 -> 50 -> output.

    Examples
    --------
    >>> import torch
    >>> model = Conv5_FC3([1, 64, 64], 2).eval()
    >>> model(torch.zeros(3, 1, 64, 64)).shape
    torch.Size([3, 2])
    >>> model.fc[2].in_features  # 128 channels x 2 x 2
    512
    """

    def __init__(
        self, input_size: Sequence[int], output_size: int = 2, *, dropout: float = 0.0, normalization: str = "batch"
    ) -> None:
        super().__init__(input_size, output_size, hidden=(1300, 50), dropout=dropout, normalization=normalization)


class Conv4_FC3(ConvFC3):  # upstream name
    """ClinicaDL's ``Conv4_FC3``: the same five convolution blocks as upstream, then FC 50 -> 40 -> output.

    Examples
    --------
    >>> import torch
    >>> Conv4_FC3([1, 32, 32, 32], 1).eval()(torch.zeros(2, 1, 32, 32, 32)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self, input_size: Sequence[int], output_size: int = 2, *, dropout: float = 0.0, normalization: str = "batch"
    ) -> None:
        super().__init__(input_size, output_size, hidden=(50, 40), dropout=dropout, normalization=normalization)
