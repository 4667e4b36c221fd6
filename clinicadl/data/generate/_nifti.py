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
