"""From network outputs to the rows of upstream's prediction TSVs, for each task (imports torch).

=================  ===========================================================================================
task               columns after ``participant_id session_id <mode>_id``
=================  ===========================================================================================
classification     ``true_label predicted_label proba0 ... proba<K-1>`` (integer codes, softmax probabilities)
regression         ``true_label predicted_label``
reconstruction     ``MAE RMSE PSNR SSIM`` of each reconstructed image, patch, slice or ROI
segmentation       ``Dice IoU HD95 NSD`` (+ ``<metric>_label<k>``) of each image (:mod:`.segmentation`)
=================  ===========================================================================================

PSNR and SSIM use the value range of the true image as data range. SSIM is the mean over positions of the local
SSIM in a uniform 7-voxel window (Wang et al. 2004, with K1 = 0.01 and K2 = 0.03; a window of 3 when a side is
shorter than 7).

References
----------
Wang Z., Bovik A. C., Sheikh H. R., Simoncelli E. P. (2004). Image quality assessment: from error visibility to
structural similarity. IEEE Transactions on Image Processing 13(4), 600-612.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["ID_COLUMNS", "mode_column", "output_rows", "ssim"]

ID_COLUMNS = ("participant_id", "session_id")


def mode_column(mode: str) -> str:
    """Identifier column of the elements: ``image_id``, ``patch_id``, ``slice_id`` or ``roi_id``."""
    return f"{mode}_id"


def _window(shape: tuple[int, ...]) -> int:
    return 7 if min(shape) >= 7 else 3 if min(shape) >= 3 else 1


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float) -> float:
    """Mean SSIM of image ``y`` against reference ``x`` (tensors ``[C, *spatial]``, 2 or 3 spatial dims)."""
    x, y = x.double().unsqueeze(0), y.double().unsqueeze(0)
    spatial = tuple(x.shape[2:])
    size = _window(spatial)
    pool = F.avg_pool3d if len(spatial) == 3 else F.avg_pool2d if len(spatial) == 2 else F.avg_pool1d
    mu_x, mu_y = pool(x, size, 1), pool(y, size, 1)
    var_x = pool(x * x, size, 1) - mu_x**2
    var_y = pool(y * y, size, 1) - mu_y**2
    cov = pool(x * y, size, 1) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(value.mean())


def _reconstruction_values(x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    x, y = x.double(), y.double()
    error = y - x
    mse = float((error**2).mean())
    data_range = float(x.max() - x.min()) or 1.0
    psnr = math.inf if mse == 0 else 10 * math.log10(data_range**2 / mse)
    return {"MAE": float(error.abs().mean()), "RMSE": math.sqrt(mse), "PSNR": psnr,
            "SSIM": ssim(x, y, data_range)}


def output_rows(task: str, outputs: torch.Tensor, batch: dict, mode: str) -> list[dict]:
    """Prediction rows of one batch (one per element), in batch order."""
    id_column = mode_column(mode)
    ids = batch[id_column] if id_column in batch else batch["image_id"]
    ids = [int(i) for i in (ids.tolist() if torch.is_tensor(ids) else ids)]
    base = [{"participant_id": p, "session_id": s, id_column: i}
            for p, s, i in zip(batch["participant_id"], batch["session_id"], ids)]
    outputs = outputs.detach().float().cpu()
    if task == "classification":
        proba = torch.softmax(outputs.double(), dim=1).clamp(0, 1).numpy()
        labels = batch["label"].tolist()
        for row, label, p in zip(base, labels, proba):
            row.update(true_label=None if label != label else int(label), predicted_label=int(np.argmax(p)))
            row.update({f"proba{k}": float(v) for k, v in enumerate(p)})
        return base
    if task == "regression":
        values = outputs.reshape(len(base), -1)[:, 0].tolist()
        for row, label, value in zip(base, batch["label"].tolist(), values):
            row.update(true_label=None if label != label else float(label), predicted_label=float(value))
        return base
    images = batch["image"].float().cpu()
    for row, x, y in zip(base, images, outputs):
        row.update(_reconstruction_values(x, y.reshape(x.shape)))
    return base
