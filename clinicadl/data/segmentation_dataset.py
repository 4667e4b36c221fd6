"""Images of a CAPS tensor cache with their segmentation masks (label maps), for ``train segmentation``.

The image of a session is the tensor of ``prepare-data image`` (as for the other tasks); its mask is a NIfTI label
map in the same session folder, found by its file name with ``mask_pattern`` (``fnmatch``, case-insensitive;
default ``*_dseg.nii.gz``, BIDS's suffix for a discrete segmentation). Voxel values are integer labels: 0 the
background, 1..``n_labels`` the structures (e.g. 1 = lesion; 1 = tumour core and 2 = oedema for
``generate tumour``). The mask must have the spatial shape of the image: prepare-data's image mode keeps the voxel
grid of the NIfTI, so a mask written on the grid of the image fits.

Items are those of :class:`~clinicadl.data.datasets.CapsDataset` plus ``mask`` (int64 tensor of the spatial
shape, absent when masks are not required), ``spacing`` (voxel size in mm, float64 tensor of 3 values, from the
image's NIfTI header) and ``affine`` (float64 4x4 tensor of the image), so that predicted masks can be written on
the image's grid. Spatial augmentations (which would move the image and not the mask) are refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from clinicadl.data.caps import find_images
from clinicadl.data.datasets import CapsDataset
from clinicadl.errors import CAPSError, InputError

__all__ = ["DEFAULT_MASK_PATTERN", "SPATIAL_AUGMENTATIONS", "SegmentationDataset", "read_label_map"]

DEFAULT_MASK_PATTERN = "*_dseg.nii.gz"
SPATIAL_AUGMENTATIONS = frozenset({"CropPad", "Flip", "Affine", "RandomSwap", "Motion", "Ghosting"})
"""Augmentations that move voxels (or copy them elsewhere, as ghosts): they would misalign image and mask."""


@lru_cache(maxsize=64)
def _cached_label_map(path: str, mtime_ns: int, size: int) -> np.ndarray:
    import nibabel as nib

    try:
        data = np.asarray(nib.load(path).dataobj)
    except Exception as error:  # nibabel raises many types for unreadable files
        raise CAPSError(f"Cannot read the mask {path}: {error}") from None
    if data.ndim > 3 and all(d == 1 for d in data.shape[3:]):
        data = data.reshape(data.shape[:3])
    if data.ndim != 3:
        raise CAPSError(f"The mask {path} has shape {data.shape}; a label map must be 3D.")
    if not np.all(np.isfinite(data)) or np.any(data != np.round(data)) or np.any(data < 0):
        raise CAPSError(f"The mask {path} holds values that are not labels 0, 1, 2, ...; a mask is a label map "
                        "(0 background, k > 0 a structure).")
    labels = data.astype(np.int64)
    labels.setflags(write=False)
    return labels


def read_label_map(path: str | Path, n_labels: int | None = None) -> np.ndarray:
    """A NIfTI label map as a read-only int64 array, cached per process (keyed by path, mtime and size).

    Raises
    ------
    CAPSError
        Unreadable file, not 3D, non-integer or negative values, or labels above ``n_labels``.
    """
    try:
        status = os.stat(path)
    except OSError:
        raise CAPSError(f"The mask {path} is missing.") from None
    labels = _cached_label_map(os.path.realpath(path), status.st_mtime_ns, status.st_size)
    if n_labels is not None and labels.size and int(labels.max()) > n_labels:
        raise CAPSError(f"The mask {path} has label {int(labels.max())} but n_labels is {n_labels}; set "
                        f"--n_labels {int(labels.max())} (labels 1..n_labels are the structures).")
    return labels


class SegmentationDataset(CapsDataset):
    """Images (image mode) of a CAPS tensor cache with their label maps.

    Parameters
    ----------
    caps_directory, data, preprocessing, normalize, augmentation, seed, cache
        As :class:`~clinicadl.data.datasets.CapsDataset` (no label column is needed).
    mask_pattern : str
        File-name pattern of the mask in each session folder.
    n_labels : int
        Number of foreground labels; a mask with a larger label is an error.
    require_masks : bool
        Find and return masks (False: prediction without reference masks).

    Raises
    ------
    InputError
        A mode other than image, or a spatial augmentation.
    CAPSError
        Sessions without a mask matching ``mask_pattern`` (the message names them), or a mask whose shape differs
        from its image.
    """

    def __init__(
        self,
        caps_directory: str | Path,
        data: pd.DataFrame | str | Path,
        preprocessing: Mapping | str,
        *,
        mask_pattern: str = DEFAULT_MASK_PATTERN,
        n_labels: int = 1,
        require_masks: bool = True,
        normalize: bool = True,
        augmentation: Sequence[str] = (),
        seed: int = 0,
        cache: bool = True,
    ):
        spatial = sorted(set(augmentation or ()) & SPATIAL_AUGMENTATIONS)
        if spatial:
            raise InputError(f"Data augmentation {', '.join(spatial)} moves voxels and would misalign images and "
                             f"masks; segmentation accepts only intensity augmentations (remove {', '.join(spatial)}).")
        super().__init__(caps_directory, data, preprocessing, normalize=normalize, augmentation=augmentation,
                         seed=seed, cache=cache)
        if self.mode != "image":
            raise InputError(f"Segmentation needs image-mode tensors; the extraction JSON has mode {self.mode!r}: "
                             "run 'clinicadl prepare-data image'.")
        self.mask_pattern, self.n_labels = str(mask_pattern), int(n_labels)
        self.masks: list[Path] = []
        if require_masks:
            try:
                found = find_images(self.caps_directory, self.data, self.mask_pattern)
            except CAPSError as error:
                raise CAPSError(f"Masks matching {self.mask_pattern!r} are missing: {error} Give the right "
                                "--mask_pattern, or predict with --no_labels.") from None
            self.masks = [image.path for image in found]
        self._headers = [_header(image.path) for image in self.images]

    def __getitem__(self, index: int) -> dict:
        item = super().__getitem__(index)
        spacing, affine = self._headers[index]
        item["spacing"] = torch.tensor(spacing, dtype=torch.float64)
        item["affine"] = torch.tensor(affine, dtype=torch.float64)
        if self.masks:
            labels = read_label_map(self.masks[index], self.n_labels)
            shape = tuple(item["image"].shape[1:])
            if labels.shape != shape:
                raise CAPSError(f"The mask {self.masks[index]} has shape {labels.shape} but its image "
                                f"{self.images[index].path} has {shape}; masks must be on the image's grid.")
            item["mask"] = torch.from_numpy(np.array(labels, dtype=np.int64))
        return item


def _header(path: Path) -> tuple[tuple[float, float, float], np.ndarray]:
    """Voxel size (mm) and affine of a NIfTI image, from its header."""
    import nibabel as nib

    try:
        image = nib.load(path)
    except Exception as error:
        raise CAPSError(f"Cannot read NIfTI header of {path}: {error}") from None
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    return zooms, np.asarray(image.affine, dtype=np.float64)
