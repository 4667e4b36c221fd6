"""Running a network over a data loader: prediction rows and the mean loss (imports torch)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
from torch.utils.data import DataLoader

from clinicadl.runtime.criterion import make_criterion, task_loss
from clinicadl.runtime.device import autocast
from clinicadl.runtime.outputs import output_rows

__all__ = ["InferenceTally", "infer"]


@dataclass
class InferenceTally:
    """The prediction rows and the loss of a network's batches, added one batch at a time.

    Parameters
    ----------
    parameters : mapping
        The MAPS parameters (``network_task``, ``mode``, ``loss``...).
    with_labels : bool
        Whether the batches have labels (the loss is NaN without).
    """

    parameters: Mapping[str, Any]
    with_labels: bool = True
    rows: list[dict] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.criterion = make_criterion(self.parameters["network_task"], self.parameters["loss"])

    def add(self, outputs: torch.Tensor, batch: dict) -> torch.Tensor:
        """Add the network's ``outputs`` of ``batch``; return them as float."""
        task = self.parameters["network_task"]
        outputs = outputs.float()
        if self.with_labels or task == "reconstruction":
            self.total += float(task_loss(task, self.criterion, outputs, batch)) * len(outputs)
            self.count += len(outputs)
        if task == "segmentation":
            from clinicadl.runtime.segmentation import segmentation_rows

            self.rows.extend(segmentation_rows(outputs, batch, self.parameters))
        else:
            self.rows.extend(output_rows(task, outputs, batch, self.parameters["mode"]))
        return outputs

    def result(self) -> tuple[pd.DataFrame, float]:
        """The prediction rows and the mean loss (NaN without labels)."""
        return pd.DataFrame(self.rows), (self.total / self.count if self.count else float("nan"))


def infer(
    network: torch.nn.Module, loader: DataLoader, *, parameters: Mapping[str, Any], device: torch.device,
    amp: bool = False, with_labels: bool = True, progress: bool = False, desc: str = "predict",
    on_outputs: Callable[[torch.Tensor, dict], Any] | None = None,
) -> tuple[pd.DataFrame, float]:
    """Prediction rows of every element of the loader's dataset and the mean loss (NaN without labels).

    ``on_outputs(outputs, batch)`` is called on each batch (e.g. to write predicted segmentation masks).
    """
    from tqdm.auto import tqdm

    tally = InferenceTally(parameters, with_labels)
    was_training = network.training
    network.eval()
    with torch.no_grad():
        for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
            with autocast(device, amp):
                outputs = network(batch["image"].to(device))
            outputs = tally.add(outputs, batch)
            if on_outputs is not None:
                on_outputs(outputs, batch)
    network.train(was_training)
    return tally.result()
