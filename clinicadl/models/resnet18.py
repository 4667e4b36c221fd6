"""``resnet18``: ClinicaDL 1.x's 2D ResNet-18 (He et al. 2016) for slices, written without torchvision.

Module names follow upstream's, so that its ``model.pth.tar`` state dictionaries load: ``convolutions.0`` (7x7
stride-2 convolution), ``.1`` (normalisation), ``.4`` to ``.7`` the four stages of two basic blocks (``conv1``,
``bn1``, ``conv2``, ``bn2``, ``downsample.0``/``.1``), ``.8`` the global average pooling; then ``fc.1`` (512 -> 1000,
ImageNet's classifier in upstream), ``fc.drop_out`` and ``fc.fc_out`` (1000 -> outputs).

Upstream initialises the network with torchvision's ImageNet weights, downloaded at construction; here nothing is
downloaded: weights are initialised as upstream initialises its designer (normal convolutions, unit
normalisation), and a trained upstream ``resnet18`` loads with ``--transfer_path`` or ``predict``.

References
----------
.. [1] He, K., Zhang, X., Ren, S., & Sun, J. (2016). Deep residual learning for image recognition. CVPR.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from clinicadl.models.layers import norm_layer

STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))
"""Channels and stride of the first block of each stage (two basic blocks per stage)."""


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with normalisation, added to the (projected) input, then ReLU."""

    def __init__(self, in_channels: int, channels: int, stride: int, normalization: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm_layer(normalization, channels, 2)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = norm_layer(normalization, channels, 2)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                                            norm_layer(normalization, channels, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class resnet18(nn.Module):  # upstream's name
    """ResNet-18 on 2D inputs ``[C, H, W]`` (upstream: 3 channels, e.g. RGB slices), ``output_size`` outputs.

    Examples
    --------
    >>> import torch
    >>> resnet18([3, 64, 64], 2)(torch.zeros(2, 3, 64, 64)).shape
    torch.Size([2, 2])
    """

    def __init__(self, input_size: Sequence[int], output_size: int, *, dropout: float = 0.0,
                 normalization: str = "batch") -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(int(input_size[0]), 64, 7, stride=2, padding=3, bias=False),
                                   norm_layer(normalization, 64, 2), nn.ReLU(inplace=True),
                                   nn.MaxPool2d(3, stride=2, padding=1)]
        in_channels = 64
        for channels, stride in STAGES:
            layers.append(nn.Sequential(BasicBlock(in_channels, channels, stride, normalization),
                                        BasicBlock(channels, channels, 1, normalization)))
            in_channels = channels
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.convolutions = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(512, 1000))
        self.fc.add_module("drop_out", nn.Dropout(p=float(dropout)))
        self.fc.add_module("fc_out", nn.Linear(1000, int(output_size)))
        for module in self.convolutions.modules():
            if isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
                nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convolutions(x))
