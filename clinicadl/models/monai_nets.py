"""Classification / regression networks from MONAI: DenseNet and SE-ResNet, in full and small versions.

========================  ================================================================================
name                      network
========================  ================================================================================
``DenseNet121``           MONAI ``DenseNet121``: 64 initial features, growth 32, blocks (6, 12, 24, 16)
``DenseNet3D``            small DenseNet: 16 initial features, growth 8, blocks (2, 4, 6, 4)
``SEResNet50``            MONAI ``SEResNet50``: bottleneck blocks (3, 4, 6, 3), squeeze-excitation reduction 16
``SEResNet3D``            shallow SE-ResNet: bottleneck blocks (1, 1, 1, 1), 32 input planes (SE-ResNet-14-like)
========================  ================================================================================

All take 2D (slice) or 3D inputs ``[C, *spatial]`` and give ``output_size`` outputs (class logits, or one value
for a regression). MONAI is imported when a network is built, not when this module is imported.
They divide each spatial size by 32 (strided stem, pooling, then 3 down-samplings); a smaller input is zero-padded
to 32 voxels along that axis (64 with instance normalisation, which needs more than one voxel in the last layer;
:class:`MinimumSize`), so that every size works, as for the other networks.
``normalization`` ``"instance"`` or ``"group"`` replaces the SE-ResNets' batch normalisation layers (MONAI's SENet
has no option for it) by affine instance normalisation or ``GroupNorm`` with ``gcd(channels, 4)`` groups.

References
----------
Huang G., Liu Z., van der Maaten L., Weinberger K. Q. (2017). Densely connected convolutional networks. CVPR,
4700-4708.
Hu J., Shen L., Sun G. (2018). Squeeze-and-excitation networks. CVPR, 7132-7141.
Cardoso M. J. et al. (2022). MONAI: an open-source framework for deep learning in healthcare. arXiv:2211.02701.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from clinicadl.models.layers import GROUP_NORM_GROUPS
from clinicadl.models.unet import monai_norm

MINIMUM_SIZE = 32
"""Smallest spatial size the MONAI classifiers take; smaller inputs are zero-padded to it."""


class MinimumSize(nn.Module):
    """Zero-pad each spatial axis shorter than ``minimum`` (on its high side), then apply ``network``."""

    def __init__(self, network: nn.Module, minimum: int = MINIMUM_SIZE) -> None:
        super().__init__()
        self.network, self.minimum = network, int(minimum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad: list[int] = []
        for size in reversed(x.shape[2:]):
            pad += [0, max(0, self.minimum - int(size))]
        return self.network(F.pad(x, pad) if any(pad) else x)


def _minimum(normalization: str) -> int:
    return 2 * MINIMUM_SIZE if normalization == "instance" else MINIMUM_SIZE


def _replace_batch_norm(module: nn.Module, normalization: str) -> nn.Module:
    """Replace every BatchNorm layer of ``module`` by instance or group normalisation (in place)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d | nn.BatchNorm3d):
            channels = child.num_features
            if normalization == "instance":
                kind = nn.InstanceNorm3d if isinstance(child, nn.BatchNorm3d) else nn.InstanceNorm2d
                setattr(module, name, kind(channels, affine=True))
            else:
                setattr(module, name, nn.GroupNorm(math.gcd(channels, GROUP_NORM_GROUPS), channels))
        else:
            _replace_batch_norm(child, normalization)
    return module

__all__ = ["DenseNet3D", "DenseNet121", "MinimumSize", "SEResNet3D", "SEResNet50", "densenet", "seresnet"]


def densenet(input_size: Sequence[int], output_size: int, *, dropout: float = 0.0, normalization: str = "batch",
             init_features: int = 64, growth_rate: int = 32,
             block_config: Sequence[int] = (6, 12, 24, 16)) -> nn.Module:
    """A MONAI ``DenseNet`` for ``input_size`` ``[C, *spatial]`` and ``output_size`` outputs."""
    from monai.networks.nets import DenseNet

    return MinimumSize(DenseNet(spatial_dims=len(input_size) - 1, in_channels=int(input_size[0]),
                                out_channels=int(output_size), init_features=init_features, growth_rate=growth_rate,
                                block_config=tuple(block_config), norm=monai_norm(normalization),
                                dropout_prob=float(dropout)), _minimum(normalization))


def seresnet(input_size: Sequence[int], output_size: int, *, dropout: float = 0.0, normalization: str = "batch",
             layers: Sequence[int] = (3, 4, 6, 3), inplanes: int = 64) -> nn.Module:
    """A MONAI ``SENet`` with SE-ResNet bottlenecks (batch normalisation replaced for other ``normalization``)."""
    from monai.networks.nets import SENet

    network = SENet(spatial_dims=len(input_size) - 1, in_channels=int(input_size[0]), block="se_resnet_bottleneck",
                    layers=tuple(layers), groups=1, reduction=16, dropout_prob=float(dropout) or None,
                    inplanes=inplanes, downsample_kernel_size=1, input_3x3=False, num_classes=int(output_size))
    if normalization != "batch":
        _replace_batch_norm(network, normalization)
    return MinimumSize(network, _minimum(normalization))


def DenseNet121(input_size: Sequence[int], output_size: int = 2, **kwargs) -> nn.Module:
    """MONAI's DenseNet-121 (Huang et al. 2017)."""
    return densenet(input_size, output_size, **kwargs)


def DenseNet3D(input_size: Sequence[int], output_size: int = 2, **kwargs) -> nn.Module:
    """A small DenseNet: 16 initial features, growth rate 8, dense blocks of (2, 4, 6, 4) layers."""
    return densenet(input_size, output_size, init_features=16, growth_rate=8, block_config=(2, 4, 6, 4), **kwargs)


def SEResNet50(input_size: Sequence[int], output_size: int = 2, **kwargs) -> nn.Module:
    """MONAI's SE-ResNet-50 (Hu et al. 2018)."""
    return seresnet(input_size, output_size, **kwargs)


def SEResNet3D(input_size: Sequence[int], output_size: int = 2, **kwargs) -> nn.Module:
    """A shallow SE-ResNet: one bottleneck block per stage, 32 input planes (stage widths as SE-ResNet-50)."""
    return seresnet(input_size, output_size, layers=(1, 1, 1, 1), inplanes=32, **kwargs)
