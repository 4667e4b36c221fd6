"""Running a network over a data loader: prediction rows and the mean loss (imports torch)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import torch
from torch.utils.data import DataLoader

from clinicadl.runtime.criterion import make_criterion, task_loss
from clinicadl.runtime.device import autocast
from clinicadl.runtime.outputs import output_rows

__all__ = ["infer"]


def infer(
    network: torch.nn.Module, loader: DataLoader, *, parameters: Mapping[str, Any], device: torch.device,
    amp: bool = False, with_labels: bool = True, progress: bool = False, desc: str = "predict",
    on_outputs: Callable[[torch.Tensor, dict], Any] | None = None,
) -> tuple[pd.DataFrame, float]:
    """Prediction rows of every element of the loader's dataset and the mean loss (NaN without labels).

    ``on_outputs(outputs, batch)`` is called on each batch (e.g. to write predicted segmentation masks).
    """
    from tqdm.auto import tqdm

    task, mode = parameters["network_task"], parameters["mode"]
    criterion = make_criterion(task, parameters["loss"])
    rows: list[dict] = []
    total, count = 0.0, 0
    was_training = network.training
    network.eval()
    with torch.no_grad():
        for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
            images = batch["image"].to(device)
            with autocast(device, amp):
                outputs = network(images)
            outputs = outputs.float()
            if with_labels or task == "reconstruction":
                total += float(task_loss(task, criterion, outputs, batch)) * len(images)
                count += len(images)
            if task == "segmentation":
                from clinicadl.runtime.segmentation import segmentation_rows

                rows.extend(segmentation_rows(outputs, batch, parameters))
            else:
                rows.extend(output_rows(task, outputs, batch, mode))
            if on_outputs is not None:
                on_outputs(outputs, batch)
    network.train(was_training)
    return pd.DataFrame(rows), (total / count if count else float("nan"))
