"""Building blocks shared by the networks: 2D/3D layer factories, padded max-pooling and its inverse.

Every network of :mod:`clinicadl.models` works on 2D inputs (slices, ``input_size = [C, H, W]``) or 3D inputs
(images, patches, ROIs, ``input_size = [C, D, H, W]``); the number of spatial dimensions picks ``Conv2d`` or
``Conv3d`` and friends through the factories below.

:class:`PadMaxPool` is ClinicaDL 1.x's ``PadMaxPool``: before a 2x2(x2) max-pooling of stride 2, each odd spatial
dimension gets one row of zeros on its low side, so that no voxel is dropped and a size ``s`` becomes
``ceil(s / 2)``. It has no parameter, so it does not appear in state dicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

NORMALIZATIONS: tuple[str, ...] = ("batch", "instance", "group")
"""Normalisation layers accepted by ``normalization`` (ClinicaDL 1.x option of the same name)."""

GROUP_NORM_GROUPS = 4
"""Number of groups of ``normalization="group"`` (fewer when the channel count is not a multiple of it)."""


def conv_layer(spatial_dims: int) -> type[nn.Module]:
    """``nn.Conv2d`` or ``nn.Conv3d``."""
    return {2: nn.Conv2d, 3: nn.Conv3d}[spatial_dims]


def conv_transpose_layer(spatial_dims: int) -> type[nn.Module]:
    """``nn.ConvTranspose2d`` or ``nn.ConvTranspose3d``."""
    return {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[spatial_dims]


def norm_layer(normalization: str, channels: int, spatial_dims: int) -> nn.Module:
    """A normalisation layer over ``channels`` channels.

    ``"batch"`` is ``BatchNorm{2,3}d`` (the upstream default, with running statistics), ``"instance"`` is
    ``InstanceNorm{2,3}d(affine=True)`` (no running statistics), ``"group"`` is ``GroupNorm`` with
    ``gcd(channels, GROUP_NORM_GROUPS)`` groups. All three have ``weight`` and ``bias`` parameters.
    """
    if normalization == "batch":
        return {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[spatial_dims](channels)
    if normalization == "instance":
        return {2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}[spatial_dims](channels, affine=True)
    if normalization == "group":
        return nn.GroupNorm(math.gcd(channels, GROUP_NORM_GROUPS), channels)
    raise ValueError(f"unknown normalization {normalization!r}")  # validated by the registry before


def pooled_size(size: int, n_pools: int, stride: int = 2) -> int:
    """Spatial size after ``n_pools`` :class:`PadMaxPool` layers (``ceil`` division each time)."""
    for _ in range(n_pools):
        size = -(-size // stride)
    return size


class PadMaxPool(nn.Module):
    """Max-pooling that first pads odd spatial sizes with zeros on their low side (ClinicaDL's ``PadMaxPool``).

    Parameters
    ----------
    spatial_dims : int
        2 or 3.
    kernel_size, stride : int
        Of the pooling; the padding makes every spatial size a multiple of ``stride``.
    """

    def __init__(self, spatial_dims: int, kernel_size: int = 2, stride: int = 2) -> None:
        super().__init__()
        self.spatial_dims = spatial_dims
        self.kernel_size = kernel_size
        self.stride = stride

    def extra_repr(self) -> str:
        return f"spatial_dims={self.spatial_dims}, kernel_size={self.kernel_size}, stride={self.stride}"

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
        missing = [(-size) % self.stride for size in x.shape[2:]]
        pad: list[int] = []
        for m in reversed(missing):  # F.pad lists the last dimension first, (low, high) for each
            pad += [m, 0]
        if any(missing):
            x = F.pad(x, pad)
        return x, tuple(missing)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = self._pad(x)
        pool = {2: F.max_pool2d, 3: F.max_pool3d}[self.spatial_dims]
        return pool(x, self.kernel_size, self.stride)

    def forward_with_indices(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Size]:
        """Pool and return ``(pooled, indices, input_shape)`` for :class:`CropMaxUnpool`."""
        shape = x.shape
        x, _ = self._pad(x)
        pool = {2: F.max_pool2d, 3: F.max_pool3d}[self.spatial_dims]
        pooled, indices = pool(x, self.kernel_size, self.stride, return_indices=True)
        return pooled, indices, shape


class CropMaxUnpool(nn.Module):
    """Inverse of :class:`PadMaxPool`: max-unpool to the padded size, then remove the padding (low side)."""

    def __init__(self, spatial_dims: int, kernel_size: int = 2, stride: int = 2) -> None:
        super().__init__()
        self.spatial_dims = spatial_dims
        self.kernel_size = kernel_size
        self.stride = stride

    def extra_repr(self) -> str:
        return f"spatial_dims={self.spatial_dims}, kernel_size={self.kernel_size}, stride={self.stride}"

    def forward(self, x: torch.Tensor, indices: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
        spatial = list(shape[2:])
        missing = [(-size) % self.stride for size in spatial]
        padded = [size + m for size, m in zip(spatial, missing)]
        unpool = {2: F.max_unpool2d, 3: F.max_unpool3d}[self.spatial_dims]
        x = unpool(x, indices, self.kernel_size, self.stride, output_size=padded)
        crop = tuple(slice(m, None) for m in missing)
        return x[(slice(None), slice(None), *crop)]


def conv_stack(in_channels: int, channels: Sequence[int], spatial_dims: int, normalization: str) -> nn.Sequential:
    """ClinicaDL's convolutional trunk: for each width, ``[Conv(k3, pad 1), Norm, ReLU, PadMaxPool]``.

    Flattened into one ``nn.Sequential`` so that the state-dict keys are ``{4 i}.weight`` (convolution of block
    ``i``) and ``{4 i + 1}.*`` (its normalisation), as in upstream checkpoints.
    """
    conv = conv_layer(spatial_dims)
    layers: list[nn.Module] = []
    previous = in_channels
    for width in channels:
        layers += [
            conv(previous, width, 3, padding=1),
            norm_layer(normalization, width, spatial_dims),
            nn.ReLU(),
            PadMaxPool(spatial_dims),
        ]
        previous = width
    return nn.Sequential(*layers)
