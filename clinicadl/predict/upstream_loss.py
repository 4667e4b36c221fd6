"""The ``loss`` of ``<group>_<level>_level_metrics.tsv`` as ClinicaDL 1.x computes it (imports torch).

Upstream's ``MapsManager.test`` adds the loss of each batch, itself the mean over the batch's elements
(``total_loss += loss.item()``), and writes the sum: with ``B`` batches of size ``b`` it is about ``B`` times
the mean loss per element (for 4 images in batches of 2, twice the mean). Training keeps its own mean per
element for model selection; this sum is what the files of a 1.6.1 MAPS hold, so it is what ours hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from clinicadl.runtime.criterion import make_criterion, task_loss

__all__ = ["BatchLossSum"]


class BatchLossSum:
    """An ``on_outputs(outputs, batch)`` step adding the mean loss of each batch, as upstream does.

    Parameters
    ----------
    parameters : mapping
        ``maps.json`` of the model (``network_task``, ``loss``).

    Attributes
    ----------
    total : float
        The sum of the batch losses so far (NaN before the first batch).
    """

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        self.task = parameters["network_task"]
        self.criterion = make_criterion(self.task, parameters["loss"])
        self.total = float("nan")

    def __call__(self, outputs: torch.Tensor, batch: dict) -> None:
        with torch.no_grad():
            value = float(task_loss(self.task, self.criterion, outputs, batch))
        self.total = value if self.total != self.total else self.total + value
