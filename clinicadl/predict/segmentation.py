"""Predicted segmentation masks written as NIfTI files (imports torch).

The loss, the predicted label maps and the metric rows of segmentation are shared with training and live in
:mod:`clinicadl.runtime.segmentation` (re-exported here).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from clinicadl.runtime.segmentation import SegmentationLoss, predicted_labels, segmentation_rows

__all__ = ["PREDICTED_MASK_SUFFIX", "SegmentationLoss", "predicted_labels", "segmentation_rows", "write_masks"]

PREDICTED_MASK_SUFFIX = "_pred_dseg.nii.gz"
"""Suffix of the predicted masks: ``<participant>_<session>_pred_dseg.nii.gz``."""


def write_masks(logits: torch.Tensor, batch: dict, folder: str | Path) -> list[Path]:
    """Write the predicted label maps of a batch as NIfTI files (uint8) on the grid of their images."""
    import nibabel as nib

    from clinicadl.atomic import atomic_write_bytes

    folder = Path(folder)
    written = []
    for i, predicted in enumerate(predicted_labels(logits)):
        affine = batch["affine"][i].numpy() if "affine" in batch else np.eye(4)
        image = nib.Nifti1Image(predicted, affine)
        image.header.set_xyzt_units("mm")
        path = folder / f"{batch['participant_id'][i]}_{batch['session_id'][i]}{PREDICTED_MASK_SUFFIX}"
        written.append(atomic_write_bytes(path, gzip.compress(image.to_bytes(), compresslevel=1, mtime=0)))
    return written
