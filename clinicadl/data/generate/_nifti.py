"""Reproducible NIfTI-1 ``.nii.gz`` files: the same array gives the same bytes.

``nibabel`` compresses with :mod:`gzip`, which stores the modification time (and file name) in the gzip header,
so two identical images written a second apart differ. Here the uncompressed NIfTI stream (``to_bytes``) is
compressed with ``gzip.compress(..., mtime=0)``: no time, no name, fixed compression level, and the file is written
atomically (:func:`clinicadl.atomic.atomic_write_bytes`).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from clinicadl.atomic import atomic_write_bytes

COMPRESS_LEVEL = 1  # fast; noise makes higher levels gain < 2 %


def nifti_bytes(data: np.ndarray, affine: np.ndarray, *, dtype=np.float32) -> bytes:
    """Gzipped NIfTI-1 bytes of ``data`` (cast to ``dtype``) with ``affine`` as sform and qform (MNI, mm)."""
    import nibabel as nib

    image = nib.Nifti1Image(np.asarray(data, dtype=dtype), np.asarray(affine, dtype=np.float64))
    header = image.header
    header.set_xyzt_units("mm")
    image.set_sform(affine, code="mni")
    image.set_qform(affine, code="mni")
    return gzip.compress(image.to_bytes(), compresslevel=COMPRESS_LEVEL, mtime=0)


def write_nifti(path: str | Path, data: np.ndarray, affine: np.ndarray, *, dtype=np.float32) -> Path:
    """Write ``data`` as a reproducible ``.nii.gz`` at ``path`` (atomically) and return the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> a = write_nifti(folder / "a.nii.gz", np.ones((2, 3, 4)), np.eye(4)).read_bytes()
    >>> b = write_nifti(folder / "b.nii.gz", np.ones((2, 3, 4)), np.eye(4)).read_bytes()
    >>> a == b
    True
    """
    return atomic_write_bytes(path, nifti_bytes(data, affine, dtype=dtype))


def mask_on_grid(mask_path: str | Path, shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    """The non-zero voxels of the NIfTI mask ``mask_path``, resampled (nearest neighbour, through the affines) to
    the grid ``shape`` x ``affine``: a boolean array of ``shape``.

    Raises
    ------
    InputError
        The file is not a readable 3D NIfTI.
    """
    import nibabel as nib
    from scipy import ndimage

    from clinicadl.errors import InputError

    try:
        image = nib.load(mask_path)
        data = np.asarray(image.dataobj, dtype=np.float32)
    except Exception as error:  # nibabel raises several types for a bad file
        raise InputError(f"{mask_path} cannot be read as a NIfTI mask ({error}); give a .nii(.gz) file.") from None
    if data.ndim != 3:
        raise InputError(f"{mask_path} has {data.ndim} dimensions; a mask is a 3D NIfTI.")
    to_mask = np.linalg.inv(image.affine) @ affine
    index = np.indices(shape, dtype=np.float64).reshape(3, -1)
    voxels = to_mask[:3, :3] @ index + to_mask[:3, 3:4]
    return ndimage.map_coordinates(data, voxels, order=0, mode="constant", cval=0.0).reshape(shape) != 0
