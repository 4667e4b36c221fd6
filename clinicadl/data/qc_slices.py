"""The input of the t1-linear QC networks: three orthogonal middle slices of a t1-linear image, 224x224 each.

As ClinicaDL 1.x's ``QCDataset`` (``clinicadl/quality_check/t1_linear/utils.py``), itself from DARQ: the volume is
scaled to [-0.5, 0.5] (min-max, minus 0.5); the middle slices across the third, first and second axes are taken;
each slice has its first axis flipped, is resized by the factor that fits its larger side to 256 pixels, padded
with zeros to 256x256 (centred), cropped to the central 224x224, rotated by 90 degrees counter-clockwise and
flipped left-right.

Resizing: upstream resizes a NIfTI slice with ``skimage.transform.rescale`` (bilinear, constant mode) and an
extracted tensor (``--use_tensor``) with ``torch.nn.functional.interpolate`` (nearest, ``scale_factor``). We use
torch for both, bilinear with half-pixel centres (skimage's convention) for NIfTI images and nearest for tensors:
inside the slice the bilinear values equal skimage's; on the outermost output pixels skimage blends with the
zero padding where we repeat the border.

References
----------
Fonov V. et al. (2022). DARQ: Deep learning of quality control for stereotaxic registration of human brain MRI to
the T1w MNI-ICBM 152 template. NeuroImage 257, 119266.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn.functional import interpolate

__all__ = ["PAD_SIZE", "qc_slices"]

PAD_SIZE = 256
"""Side of the square each slice is fitted and padded into before the central 224x224 crop."""
_CROP = slice(16, 240)


def _middle_slices(volume: torch.Tensor) -> list[torch.Tensor]:
    x, y, z = volume.shape
    return [volume[:, :, z // 2], volume[x // 2, :, :], volume[:, y // 2, :]]


def _fit(plane: torch.Tensor, *, mode: str) -> np.ndarray:
    """Flip the first axis, resize to fit 256, pad, crop 224x224, rotate and flip (upstream's steps, in order)."""
    scale = min(PAD_SIZE / plane.shape[0], PAD_SIZE / plane.shape[1])
    flipped = torch.flip(plane, (0,))[None, None].float()
    if mode == "nearest":  # upstream's tensor path: interpolate(..., scale_factor) floors the size
        resized = interpolate(flipped, scale_factor=scale, mode="nearest")[0, 0]
    else:  # skimage's rescale rounds the size
        size = (max(1, round(plane.shape[0] * scale)), max(1, round(plane.shape[1] * scale)))
        resized = interpolate(flipped, size=size, mode="bilinear", align_corners=False)[0, 0]
    height, width = resized.shape
    padded = np.zeros((PAD_SIZE, PAD_SIZE), dtype=np.float32)
    top, left = (PAD_SIZE - height) // 2, (PAD_SIZE - width) // 2
    padded[top: top + height, left: left + width] = resized.numpy()
    return np.flip(np.rot90(padded[_CROP, _CROP]), axis=1).copy()


def qc_slices(volume: np.ndarray | torch.Tensor, *, from_tensor: bool = False) -> torch.Tensor:
    """The ``[3, 224, 224]`` input of a QC network for one 3D image.

    Parameters
    ----------
    volume : array of shape (X, Y, Z), or a ``[1, X, Y, Z]`` tensor
        A t1-linear image (NIfTI voxels, or an extracted image tensor with ``from_tensor``).
    from_tensor : bool
        Resize as upstream's ``--use_tensor`` path (nearest) instead of its NIfTI path (bilinear).

    Returns
    -------
    torch.Tensor
        float32, the axial, sagittal and coronal slices in that order, values in [-0.5, 0.5] (0 in the padding).

    Examples
    --------
    >>> qc_slices(np.arange(4 * 5 * 6, dtype=float).reshape(4, 5, 6)).shape
    torch.Size([3, 224, 224])
    """
    volume = torch.as_tensor(np.asarray(volume, dtype=np.float32))
    if volume.ndim == 4 and volume.shape[0] == 1:
        volume = volume[0]
    if volume.ndim != 3:
        raise ValueError(f"a QC input is a 3D image, got shape {tuple(volume.shape)}")
    low, high = float(volume.min()), float(volume.max())
    scaled = (volume - low) / (high - low) - 0.5 if high > low else torch.full_like(volume, -0.5)
    mode = "nearest" if from_tensor else "bilinear"
    return torch.from_numpy(np.stack([_fit(plane, mode=mode) for plane in _middle_slices(scaled)]))
