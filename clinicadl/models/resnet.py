"""``ResNet3D``: a small residual network for whole 3D images (our design, ResNet-10-like, 0.9 M parameters).

A strided stem (Conv k5 stride 2, Norm, ReLU, MaxPool k3 stride 2) divides each spatial size by 4, then four
stages of one basic residual block each (16, 32, 64, 128 channels; stride 1, 2, 2, 2), a global average pooling,
dropout and one linear layer. The global pooling makes the parameter count independent of the input size, so
the same network serves a 169x208x179 image and a 16x16x16 test volume. It is not upstream's ``ResNet3D`` (whose
weights are not compatible), only its name and role.

References
----------
He K. et al. (2016). Deep residual learning for image recognition. CVPR, 770-778.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from clinicadl.models.layers import conv_layer, norm_layer

RESNET_CHANNELS: tuple[int, ...] = (16, 32, 64, 128)
"""Widths of the four residual stages."""


class BasicBlock(nn.Module):
    """Two 3x3(x3) convolutions with a shortcut (a strided 1x1(x1) convolution when the shape changes)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, spatial_dims: int, normalization: str):
        super().__init__()
        conv = conv_layer(spatial_dims)
        self.conv1 = conv(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm1 = norm_layer(normalization, out_channels, spatial_dims)
        self.conv2 = conv(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = norm_layer(normalization, out_channels, spatial_dims)
        self.relu = nn.ReLU()
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = nn.Sequential(
                conv(in_channels, out_channels, 1, stride=stride, bias=False),
                norm_layer(normalization, out_channels, spatial_dims),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet3D(nn.Module):
    """Small 3D ResNet for image-mode classification or regression.

    Parameters
    ----------
    input_size : sequence of int
        ``[C, D, H, W]``.
    output_size : int
        Number of outputs.
    dropout : float
        Rate of the dropout layer before the final linear layer.
    normalization : {"batch", "instance", "group"}
        Normalisation after every convolution. ``"instance"`` needs more than one voxel in the last stage, i.e.
        inputs larger than 32 voxels along some axis.

    Examples
    --------
    >>> import torch
    >>> ResNet3D([1, 16, 16, 16], 2).eval()(torch.zeros(2, 1, 16, 16, 16)).shape
    torch.Size([2, 2])
    """

    def __init__(
        self, input_size: Sequence[int], output_size: int = 2, *, dropout: float = 0.0, normalization: str = "batch"
    ) -> None:
        super().__init__()
        spatial_dims = len(input_size) - 1
        conv = conv_layer(spatial_dims)
        pool = {2: nn.MaxPool2d, 3: nn.MaxPool3d}[spatial_dims]
        widths = RESNET_CHANNELS
        self.stem = nn.Sequential(
            conv(int(input_size[0]), widths[0], 5, stride=2, padding=2, bias=False),
            norm_layer(normalization, widths[0], spatial_dims),
            nn.ReLU(),
            pool(3, stride=2, padding=1),
        )
        stages = []
        previous = widths[0]
        for i, width in enumerate(widths):
            stages.append(BasicBlock(previous, width, 1 if i == 0 else 2, spatial_dims, normalization))
            previous = width
        self.layers = nn.Sequential(*stages)
        pool_out = {2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}[spatial_dims]
        self.fc = nn.Sequential(pool_out(1), nn.Flatten(), nn.Dropout(p=dropout), nn.Linear(widths[-1], output_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.layers(self.stem(x)))
