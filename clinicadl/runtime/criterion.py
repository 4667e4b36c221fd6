"""The loss of each task, as named in ``maps.json`` (imports torch)."""

from __future__ import annotations

import torch

__all__ = ["make_criterion", "task_loss"]


def make_criterion(task: str, loss: str) -> torch.nn.Module:
    """The loss module named in ``maps.json`` (``CrossEntropyLoss``, ``MSELoss`` ...), mean reduction."""
    if task == "segmentation":
        from clinicadl.runtime.segmentation import SegmentationLoss

        return SegmentationLoss(loss)
    return getattr(torch.nn, loss)()


def task_loss(task: str, criterion: torch.nn.Module, outputs: torch.Tensor, batch: dict) -> torch.Tensor:
    """The training loss of a batch: outputs against labels (or against the inputs for reconstruction)."""
    if task == "classification":
        return criterion(outputs.float(), batch["label"].to(outputs.device).long())
    if task == "regression":
        return criterion(outputs.float().reshape(-1), batch["label"].to(outputs.device).float())
    if task == "segmentation":
        return criterion(outputs, batch["mask"])
    return criterion(outputs.float(), batch["image"].to(outputs.device).float())
