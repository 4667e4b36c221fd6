"""``UNet3D`` and ``TinyUNet3D``: 3D U-Nets for segmentation, built on MONAI's ``monai.networks.nets.UNet``.

A U-Net (Ronneberger et al. 2015) in its 3D form (Cicek et al. 2016): an encoder of strided convolution blocks, a
decoder of transposed convolutions, skip connections by concatenation at every level, and a final convolution
giving one logit per class (background first) and voxel. MONAI's implementation (Kerfoot et al. 2018) adds
optional residual units.

Any input size works: the input is padded with zeros on the high side of each axis to a multiple of
``2 ** len(strides)`` before the network and the output cropped back, so that odd image sizes (a t1-linear image is
169 x 208 x 179) pass the skip connections.

References
----------
Ronneberger O., Fischer P., Brox T. (2015). U-Net: convolutional networks for biomedical image segmentation.
MICCAI, LNCS 9351, 234-241.
Cicek O., Abdulkadir A., Lienkamp S. S., Brox T., Ronneberger O. (2016). 3D U-Net: learning dense volumetric
segmentation from sparse annotation. MICCAI, LNCS 9901, 424-432.
Kerfoot E. et al. (2018). Left-ventricle quantification using residual U-Net. STACOM, LNCS 11395, 371-380.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from clinicadl.models.layers import GROUP_NORM_GROUPS

__all__ = ["TINY_UNET_CHANNELS", "UNET_CHANNELS", "UNet3D", "monai_norm"]

UNET_CHANNELS: tuple[int, ...] = (16, 32, 64, 128, 256)
"""Widths of the levels of ``UNet3D`` (4 down-samplings, MONAI's example configuration)."""

TINY_UNET_CHANNELS: tuple[int, ...] = (4, 8, 16)
"""Widths of the levels of ``TinyUNet3D`` (2 down-samplings, a few thousand parameters)."""


def monai_norm(normalization: str, groups: int = GROUP_NORM_GROUPS) -> str | tuple:
    """MONAI's ``norm`` argument for clinicadl's ``normalization`` (``group``: ``groups`` groups; affine instance)."""
    if normalization == "group":
        return ("group", {"num_groups": int(groups)})
    if normalization == "instance":
        return ("instance", {"affine": True})
    return "batch"


class UNet3D(nn.Module):
    """A 3D U-Net mapping ``(N, C, D, H, W)`` images to ``(N, K, D, H, W)`` class logits.

    Parameters
    ----------
    input_size : sequence of int
        ``[C, D, H, W]``.
    output_size : int
        Number of classes K, background included (foreground labels + 1).
    dropout : float
        Dropout rate of MONAI's blocks.
    normalization : {"batch", "instance", "group"}
    channels : sequence of int
        Width of each level; ``len(channels) - 1`` down-samplings by 2.
    num_res_units : int
        Residual units per block (0: plain convolutions).

    Examples
    --------
    >>> import torch
    >>> net = UNet3D([1, 13, 10, 9], 3, channels=(4, 8, 16), num_res_units=0).eval()
    >>> net(torch.zeros(2, 1, 13, 10, 9)).shape
    torch.Size([2, 3, 13, 10, 9])
    """

    def __init__(self, input_size: Sequence[int], output_size: int = 2, *, dropout: float = 0.0,
                 normalization: str = "batch", channels: Sequence[int] = UNET_CHANNELS,
                 num_res_units: int = 1) -> None:
        super().__init__()
        from monai.networks.nets import UNet

        channels = tuple(int(c) for c in channels)
        self.multiple = 2 ** (len(channels) - 1)
        self.unet = UNet(spatial_dims=len(input_size) - 1, in_channels=int(input_size[0]),
                         out_channels=int(output_size), channels=channels, strides=(2,) * (len(channels) - 1),
                         num_res_units=int(num_res_units), dropout=float(dropout),
                         norm=monai_norm(normalization, math.gcd(GROUP_NORM_GROUPS, int(output_size), *channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = x.shape[2:]
        pad: list[int] = []
        for size in reversed(spatial):
            pad += [0, (-int(size)) % self.multiple]
        out = self.unet(F.pad(x, pad) if any(pad) else x)
        return out[(..., *(slice(0, int(s)) for s in spatial))]


def TinyUNet3D(input_size: Sequence[int], output_size: int = 2, *, dropout: float = 0.0,
               normalization: str = "batch") -> UNet3D:
    """A tiny :class:`UNet3D` for tests: 3 levels (4, 8, 16 channels), no residual unit."""
    return UNet3D(input_size, output_size, dropout=dropout, normalization=normalization,
                  channels=TINY_UNET_CHANNELS, num_res_units=0)
