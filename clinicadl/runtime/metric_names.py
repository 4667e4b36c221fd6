"""Network tasks and upstream's metric names of each task, in upstream's order (imports nothing heavy)."""

from __future__ import annotations

from clinicadl.errors import InputError

__all__ = ["TASKS", "TASK_METRICS", "check_task", "task_metrics"]

TASKS = ("classification", "regression", "reconstruction", "segmentation")
"""Network tasks (``network_task`` of ``maps.json``)."""

_CLASSIFICATION_METRICS = ("BA", "accuracy", "F1_score", "sensitivity", "specificity", "PPV", "NPV", "MCC", "MK",
                           "LR_plus", "LR_minus")
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": _CLASSIFICATION_METRICS,
    "regression": ("R2_score", "MAE", "RMSE"),
    "reconstruction": ("MAE", "RMSE", "PSNR", "SSIM"),
    "segmentation": ("Dice", "IoU", "HD95", "NSD"),
}
"""Upstream's metrics of each task, in upstream's order (without ``loss``)."""


def check_task(task: str) -> None:
    """Raise :class:`~clinicadl.errors.InputError` for an unknown network task."""
    if task not in TASKS:
        raise InputError(f"Unknown network task {task!r}; choose one of {', '.join(TASKS)}.")


def task_metrics(task: str, n_classes: int = 2) -> tuple[str, ...]:
    """Upstream's metric names for a task, in upstream's order, ``loss`` last.

    For more than two classes the class-specific classification metrics take a ``-<k>`` suffix.

    Examples
    --------
    >>> task_metrics("regression")
    ('R2_score', 'MAE', 'RMSE', 'loss')
    >>> task_metrics("classification", 3)[:4]
    ('BA', 'accuracy', 'F1_score-0', 'F1_score-1')
    """
    check_task(task)
    if task != "classification" or n_classes <= 2:
        return (*TASK_METRICS[task], "loss")
    names: list[str] = []
    for name in TASK_METRICS[task]:
        names.extend([name] if name in ("BA", "accuracy") else [f"{name}-{k}" for k in range(n_classes)])
    return (*names, "loss")
