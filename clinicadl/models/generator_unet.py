"""``GeneratorUNet``: ClinicaDL 1.x's 3D U-Net generator for the reconstruction task.

Five descending blocks (3x3x3 convolution of stride 2, instance normalisation, leaky ReLU 0.2; 64-128-256-512-512
channels), four ascending blocks (4x4x4 transposed convolution of stride 2, instance normalisation, ReLU) that take
the concatenation of the previous block and the skip connection of the same size, and a final block (nearest
up-sampling by 2, 3x3x3 convolution, tanh). The generator of the pix2pix U-Net (Isola et al., 2017) in 3D.

Module names are upstream's (``down1.model.0.weight`` ... ``final.model.1.weight``), so that upstream checkpoints
load. The normalisation is upstream's ``InstanceNorm3d`` without affine parameters whatever ``normalization``
says. Each spatial size must be a multiple of 32 and at least 64 (instance normalisation of the deepest block needs
more than one voxel); upstream's reference input is ``1@128x128x128``.

References
----------
Isola P., Zhu J.-Y., Zhou T. and Efros A. A. (2017). Image-to-image translation with conditional adversarial
networks. CVPR. https://arxiv.org/abs/1611.07004
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

DOWN = (64, 128, 256, 512, 512)
"""Channels of the descending blocks."""


class UNetDown(nn.Module):
    """Stride-2 convolution, instance normalisation, leaky ReLU (0.2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Conv3d(in_channels, out_channels, 3, stride=2, padding=1),
                                   nn.InstanceNorm3d(out_channels), nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UNetUp(nn.Module):
    """Concatenation with the skip connection (if any), stride-2 transposed convolution, instance norm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.ConvTranspose3d(in_channels, out_channels, 4, stride=2, padding=1),
                                   nn.InstanceNorm3d(out_channels), nn.ReLU())

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(x if skip is None else torch.cat((x, skip), 1))


class FinalLayer(nn.Module):
    """Concatenation with the skip connection, up-sampling by 2, 3x3x3 convolution, tanh."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv3d(in_channels, out_channels, 3, padding=1),
                                   nn.Tanh())

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.model(torch.cat((x, skip), 1))


class GeneratorUNet(nn.Module):  # upstream name
    """ClinicaDL 1.x's 3D U-Net generator (output in [-1, 1], the input's size).

    Parameters
    ----------
    input_size : sequence of int
        ``[C, D, H, W]``, spatial sizes multiples of 32, at least 64 (upstream: one channel, ``1@128x128x128``).
    output_size : None
    dropout : float
        Unused (no dropout layer, as upstream).
    normalization : str
        Unused: instance normalisation, as upstream.

    Examples
    --------
    >>> GeneratorUNet([1, 64, 64, 64]).eval()(torch.rand(1, 1, 64, 64, 64)).shape
    torch.Size([1, 1, 64, 64, 64])
    """

    def __init__(self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0,
                 normalization: str = "instance") -> None:
        super().__init__()
        from clinicadl.errors import InputError

        if any(int(s) % 32 or int(s) < 64 for s in input_size[1:]):
            raise InputError(f"GeneratorUNet halves each spatial size 5 times and concatenates skip connections: "
                             f"each spatial size must be a multiple of 32 and at least 64, got input size "
                             f"{list(input_size)}.")
        channels = int(input_size[0])
        widths = (channels, *DOWN)
        for i in range(5):
            setattr(self, f"down{i + 1}", UNetDown(widths[i], widths[i + 1]))
        self.up1 = UNetUp(512, 512)
        self.up2 = UNetUp(1024, 256)
        self.up3 = UNetUp(512, 128)
        self.up4 = UNetUp(256, 64)
        self.final = FinalLayer(128, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.down1(x)
        d2 = self.down2(d1)
        d3 = self.down3(d2)
        d4 = self.down4(d3)
        u1 = self.up1(self.down5(d4))
        return self.final(self.up4(self.up3(self.up2(u1, d4), d3), d2), d1)
