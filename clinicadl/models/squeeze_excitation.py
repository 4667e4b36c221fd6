"""``SqueezeExcitationCNN``: ClinicaDL 1.x's 3D CNN of five residual blocks with squeeze-and-excitation.

After Ghosal et al. (2019). Block ``k`` (0-4) has 8 * 2**k channels: two 3x3x3 convolutions with normalisation, a
squeeze-and-excitation gate (global average, linear reduction by 8, ReLU, linear, sigmoid, channel-wise product),
a 1x1x1 projection of the input added, ReLU, then a 3x3x3 max-pooling of stride 2 (no padding). Then FC
flattened -> 256 -> outputs, dropout first.

Module names follow upstream's, so that its ``model.pth.tar`` state dictionaries load:
``convolutions.<k>.0.{conv1, bn1, conv2, bn2, se_block.fc1, se_block.fc2, shortcut.0}``, ``fc.2`` and ``fc.4``.
Upstream's version always has 2 outputs and a dropout of 0.5; here ``output_size`` and ``dropout`` are honoured
(with 2 outputs the shapes are upstream's).

References
----------
.. [1] Ghosal, P., et al. (2019). Brain tumor classification using ResNet-101 based squeeze and excitation deep
   neural network. ICACCP.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from clinicadl.models.layers import norm_layer

RATIO = 8
"""Reduction of the channels in the excitation step."""


def _pooled(size: int, n_pools: int) -> int:
    for _ in range(n_pools):
        size = (size - 3) // 2 + 1
    return size


class SqueezeExcitation(nn.Module):
    """The gate: channels re-weighted by a two-layer network of their global averages."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.avg_pooling_3D = nn.AdaptiveAvgPool3d(1)
        self.fc1 = nn.Linear(channels, channels // RATIO)
        self.fc2 = nn.Linear(channels // RATIO, channels)
        self.act1 = nn.ReLU()
        self.act2 = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.avg_pooling_3D(x).flatten(1)
        weights = self.act2(self.fc2(self.act1(self.fc1(squeezed))))
        return x * weights.view(*weights.shape, 1, 1, 1)


class ResidualSEBlock(nn.Module):
    """Two convolutions, the gate, and a projected shortcut."""

    def __init__(self, in_channels: int, channels: int, normalization: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, channels, 3, padding=1, bias=False)
        self.bn1 = norm_layer(normalization, channels, 3)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv3d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = norm_layer(normalization, channels, 3)
        self.se_block = SqueezeExcitation(channels)
        self.shortcut = nn.Sequential(nn.Conv3d(in_channels, channels, 1, bias=False))
        self.act2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        return self.act2(self.se_block(out) + self.shortcut(x))


class SqueezeExcitationCNN(nn.Module):
    """Five residual squeeze-and-excitation blocks on 3D inputs ``[C, D, H, W]`` (at least 63 voxels a side).

    Examples
    --------
    >>> import torch
    >>> SqueezeExcitationCNN([1, 63, 63, 63], 2)(torch.zeros(1, 1, 63, 63, 63)).shape
    torch.Size([1, 2])
    """

    def __init__(self, input_size: Sequence[int], output_size: int, *, dropout: float = 0.0,
                 normalization: str = "batch") -> None:
        super().__init__()
        from clinicadl.errors import InputError

        spatial = [_pooled(int(size), 5) for size in input_size[1:]]
        if min(spatial) < 1:
            raise InputError(f"SqueezeExcitationCNN needs at least 63 voxels along each axis, got input_size "
                             f"{list(input_size)}; choose another architecture or a larger input.")
        blocks = []
        in_channels = int(input_size[0])
        for k in range(5):
            channels = 8 * 2**k
            blocks.append(nn.Sequential(ResidualSEBlock(in_channels, channels, normalization),
                                        nn.MaxPool3d(3, stride=2)))
            in_channels = channels
        self.convolutions = nn.Sequential(*blocks)
        flattened = in_channels * spatial[0] * spatial[1] * spatial[2]
        self.fc = nn.Sequential(nn.Flatten(), nn.Dropout(p=float(dropout)), nn.Linear(flattened, 256), nn.ReLU(),
                                nn.Linear(256, int(output_size)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convolutions(x))
