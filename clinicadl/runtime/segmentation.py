"""Segmentation outputs: the loss, predicted label maps, the per-image metric rows of the prediction TSV (torch).

A segmentation network returns class logits ``(N, K, D, H, W)`` (K = n_labels + 1, background first); the predicted
label of a voxel is the class of highest logit. Each image gives one row of ``<group>_image_level_prediction.tsv``:

``participant_id session_id image_id Dice IoU HD95 NSD`` (one foreground label), or the same four columns holding
the mean over labels followed by ``Dice_label1 IoU_label1 HD95_label1 NSD_label1 ...`` (several labels), computed
by :func:`clinicadl.stats.segmentation_metrics.label_values` in the voxel size of the image (mm) with the NSD
tolerance ``nsd_tolerance`` of ``maps.json``. Empty masks follow the documented conventions of that module (HD95
NaN when exactly one mask is empty).

Losses (``loss`` of ``maps.json``): ``DiceCELoss`` (default: soft Dice of Milletari et al. 2016 plus cross-entropy,
MONAI's ``DiceCELoss`` with softmax and one-hot targets), ``DiceLoss`` (soft Dice only) and ``CrossEntropyLoss``
(voxel-wise). The Dice term leaves the background out and pools the voxels of the batch ("batch Dice", as nnU-Net
does; Isensee et al. 2021), so that small structures such as lesions weigh and an image without lesion does not give
an undefined term; the cross-entropy covers every class.

References
----------
Milletari F., Navab N., Ahmadi S.-A. (2016). V-Net: fully convolutional neural networks for volumetric medical
image segmentation. 3DV, 565-571.
Isensee F., Jaeger P. F., Kohl S. A. A., Petersen J., Maier-Hein K. H. (2021). nnU-Net: a self-configuring method for
deep learning-based biomedical image segmentation. Nature Methods 18, 203-211.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from clinicadl.stats.segmentation_metrics import label_values

__all__ = ["SegmentationLoss", "predicted_labels", "segmentation_rows"]

class SegmentationLoss(nn.Module):
    """A segmentation loss taking logits ``(N, K, *spatial)`` and integer label maps ``(N, *spatial)``."""

    def __init__(self, loss: str = "DiceCELoss") -> None:
        super().__init__()
        self.name = loss
        if loss == "CrossEntropyLoss":
            self.loss: nn.Module = nn.CrossEntropyLoss()
        else:
            from monai import losses

            self.loss = getattr(losses, loss)(to_onehot_y=True, softmax=True, include_background=False, batch=True)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.to(logits.device).long()
        if self.name == "CrossEntropyLoss":
            return self.loss(logits.float(), target)
        return self.loss(logits.float(), target.unsqueeze(1))


def predicted_labels(logits: torch.Tensor) -> np.ndarray:
    """Label maps ``(N, *spatial)`` (uint8) of a batch of logits: the class of highest logit per voxel."""
    return torch.argmax(logits.detach().float(), dim=1).to(torch.uint8).cpu().numpy()


def segmentation_rows(logits: torch.Tensor, batch: dict, parameters: Mapping[str, Any]) -> list[dict]:
    """Rows of the prediction TSV for one batch: identifiers and, when the batch has masks, the metrics."""
    labels = predicted_labels(logits)
    n_labels = int(parameters.get("n_labels", 1))
    tolerance = float(parameters.get("nsd_tolerance", 1.0))
    spacing = batch["spacing"].numpy() if "spacing" in batch else np.ones((len(labels), labels.ndim - 1))
    rows = []
    for i, predicted in enumerate(labels):
        row: dict[str, Any] = {"participant_id": batch["participant_id"][i], "session_id": batch["session_id"][i],
                               "image_id": 0}
        if "mask" in batch:
            reference = batch["mask"][i].numpy()
            row.update(label_values(predicted, reference, n_labels, spacing=spacing[i], tolerance=tolerance))
        rows.append(row)
    return rows
