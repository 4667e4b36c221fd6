"""The training loop of one split: epochs, evaluation, best models, early stopping, checkpoints (imports torch).

Sources of randomness and their seeds (:mod:`clinicadl.training.seeds`): ``init`` seeds the weights
(``build_model(seed=...)``), ``order`` the generator of the training sampler, ``augmentation`` the dataset's
augmentation stream (keyed by epoch and item), ``dropout`` the generator of the network's dropout layers
(:mod:`clinicadl.training.dropout_streams`; the global torch random state is seeded with it too, for other random
layers), set once when the split starts (after the network is built) and saved in every checkpoint. Evaluation
loaders have their own generators, so evaluating never moves the global state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from clinicadl.runtime.allocator import keep_freed_memory
from clinicadl.runtime.criterion import make_criterion, task_loss
from clinicadl.runtime.device import autocast
from clinicadl.runtime.inference import infer
from clinicadl.runtime.loaders import make_loader
from clinicadl.runtime.metric_names import task_metrics
from clinicadl.runtime.metrics import compute_metrics
from clinicadl.runtime.network import build_network
from clinicadl.training.checkpointing import (
    checkpoint_path,
    get_rng_state,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from clinicadl.training.dropout_streams import dropout_generator, use_stream_dropout
from clinicadl.training.early_stopping import BestModels, EarlyStopping
from clinicadl.training.logs import TrainingLogger, log_row
from clinicadl.training.partitions import SplitSessions
from clinicadl.training.seeds import torch_generator
from clinicadl.training.tracking import start_tracker

__all__ = ["EPOCH_END_HOOK", "TrainingDivergedError", "epoch_line", "train_split"]

_logger = logging.getLogger(__name__)

EPOCH_END_HOOK: Callable[[int, int], None] | None = None
"""Called as ``hook(split, epoch)`` after each epoch's checkpoint is written (tests simulate interruptions)."""


class TrainingDivergedError(RuntimeError):
    """The training loss of an epoch is not finite (NaN or infinite): the replicate fails."""


def _datasets(parameters: Mapping[str, Any], partition: SplitSessions, seeds: Mapping[str, int]):
    from clinicadl.data.datasets import CapsDataset

    task = parameters["network_task"]
    common = {
        "label": parameters.get("label") if task != "reconstruction" else None,
        "label_code": parameters.get("label_code") if task == "classification" else None,
        "normalize": bool(parameters["normalize"]),
    }
    caps, preprocessing = parameters["caps_directory"], parameters["preprocessing_dict"]
    dataset = CapsDataset
    if task == "segmentation":
        from clinicadl.data.segmentation_dataset import SegmentationDataset

        dataset = SegmentationDataset
        common = {"normalize": common["normalize"], "mask_pattern": parameters["mask_pattern"],
                  "n_labels": int(parameters["n_labels"])}
    train = dataset(caps, partition.train, preprocessing, augmentation=parameters.get("data_augmentation") or (),
                    seed=int(seeds["augmentation"]), **common)
    train_eval = dataset(caps, partition.train, preprocessing, **common) if train.augmentation else train
    validation = dataset(caps, partition.validation, preprocessing, **common)
    return train, train_eval, validation


def _sampler(parameters: Mapping[str, Any], dataset, order: torch.Generator):
    from torch.utils.data import RandomSampler, WeightedRandomSampler

    if parameters["sampler"] == "weighted" and parameters["network_task"] == "classification":
        labels = torch.tensor([dataset._label(i // dataset.n_elements) for i in range(len(dataset))])
        counts = torch.bincount(labels).double()
        weights = (1.0 / counts)[labels]
        return WeightedRandomSampler(weights, num_samples=len(dataset), replacement=True, generator=order)
    return RandomSampler(dataset, generator=order)


def _optimizer(parameters: Mapping[str, Any], network: torch.nn.Module) -> torch.optim.Optimizer:
    kind = getattr(torch.optim, parameters["optimizer"])
    trainable = [p for p in network.parameters() if p.requires_grad]
    return kind(trainable, lr=float(parameters["learning_rate"]), weight_decay=float(parameters["weight_decay"]))


def _transfer(parameters: Mapping[str, Any], network: torch.nn.Module, split: int) -> None:
    """Copy the weights of a MAPS's model whose names and shapes match (``transfer_path``)."""
    from clinicadl.errors import MAPSError
    from clinicadl.models.checkpoint import load_model_state
    from clinicadl.runtime.checkpoints import model_path, state_dict

    source = Path(parameters["transfer_path"])
    path = model_path(source, split, parameters["transfer_selection_metric"])
    if not path.is_file():
        path = model_path(source, 0, parameters["transfer_selection_metric"])
    if not path.is_file():
        raise MAPSError(f"transfer_path {source} has no {path.relative_to(source)}; give a trained MAPS and an "
                        "existing transfer_selection_metric.")
    own = network.state_dict()
    state = {k: v for k, v in state_dict(load_model_state(path)).items() if k in own and own[k].shape == v.shape}
    if not state:
        raise MAPSError(f"No weight of {path} matches the network {parameters['architecture']}; transfer learning "
                        "needs layers of the same names and shapes.")
    network.load_state_dict(state, strict=False)


def _evaluate(network, loaders, parameters, device, amp, names) -> tuple[dict, dict]:
    task = parameters["network_task"]
    out = []
    for loader in loaders:
        table, loss = infer(network, loader, parameters=parameters, device=device, amp=amp)
        out.append(compute_metrics(table, task, names, loss))
    return out[0], out[1]


def epoch_line(where: str, epoch: int, n_epochs: int, train: Mapping[str, float], valid: Mapping[str, float],
               selection_metrics) -> str:
    """One line per epoch: where (replicate, split), the epoch, the train loss and the validation value of the loss
    and of each selection metric.

    Examples
    --------
    >>> epoch_line("replicate-1 split-0", 0, 20, {"loss": 0.69}, {"loss": 0.7, "BA": 0.5}, ["BA"])
    'replicate-1 split-0 epoch 1/20: train loss 0.69; validation loss 0.7, BA 0.5'
    """
    shown = ["loss", *(m for m in selection_metrics if m != "loss")]
    values = ", ".join(f"{m} {float(valid[m]):.4g}" for m in shown if m in valid)
    return f"{where} epoch {epoch + 1}/{n_epochs}: train loss {float(train['loss']):.4g}; validation {values}"


def _report_epoch(where, epoch, n_epochs, train, valid, selection_metrics, progress: bool) -> None:
    line = epoch_line(where, epoch, n_epochs, train, valid, selection_metrics)
    if progress:
        from tqdm.auto import tqdm

        tqdm.write(line)
    _logger.info(line)


@dataclass(frozen=True)
class _SplitRun:
    """Everything one split's training loop works with (the network, optimizer... change in place)."""

    parameters: Mapping[str, Any]
    split: int
    split_dir: Path
    device: torch.device
    train_set: Any
    train_loader: Any
    eval_loaders: list
    order: torch.Generator
    dropout: torch.Generator
    network: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any
    criterion: torch.nn.Module
    stopper: EarlyStopping
    best: BestModels
    names: tuple[str, ...]
    where: str

    @property
    def amp(self) -> bool:
        return bool(self.parameters["amp"])


def _build_run(parameters: Mapping[str, Any], maps_dir: str | Path, partition: SplitSessions,
               seeds: Mapping[str, int], device: torch.device) -> _SplitRun:
    """Datasets, loaders, network (weights seeded by ``init``), optimizer and the rest, in a fixed order."""
    task = parameters["network_task"]
    amp = bool(parameters["amp"])
    names = task_metrics(task, max(len(parameters.get("label_code") or {}), 2))
    train_set, train_eval_set, validation_set = _datasets(parameters, partition, seeds)
    order = torch_generator(int(seeds["order"]))
    batch_size, n_proc = int(parameters["batch_size"]), int(parameters["n_proc"])
    workers_generator = torch_generator(int(seeds["order"]))
    train_loader = make_loader(train_set, batch_size=batch_size, n_proc=n_proc,
                               sampler=_sampler(parameters, train_set, order), generator=workers_generator)
    eval_loaders = [make_loader(dataset, batch_size=batch_size, n_proc=n_proc)
                    for dataset in (train_eval_set, validation_set)]
    network = build_network(parameters, seed=int(seeds["init"]))
    if parameters.get("transfer_path"):
        _transfer(parameters, network, partition.split)
    network = network.to(device)
    dropout = dropout_generator(int(seeds["dropout"]), device)
    use_stream_dropout(network, dropout)
    optimizer = _optimizer(parameters, network)
    scheduler = (torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.1)
                 if parameters["adaptive_learning_rate"] else None)
    scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")
    replicate = parameters.get("replicate")
    where = (f"replicate-{replicate} " if replicate is not None else "") + f"split-{partition.split}"
    return _SplitRun(
        parameters, partition.split, Path(maps_dir) / f"split-{partition.split}", device, train_set, train_loader,
        eval_loaders, order, dropout, network, optimizer, scheduler, scaler, make_criterion(task, parameters["loss"]),
        EarlyStopping(int(parameters["patience"]), float(parameters["tolerance"])),
        BestModels(parameters["selection_metrics"]), names, where,
    )


def _restore(run: _SplitRun, checkpoint: Path, seeds: Mapping[str, int]) -> tuple[int, list, bool, float]:
    """Resume from the checkpoint (``epoch, rows, finished, elapsed``), or seed dropout for a fresh start."""
    if not checkpoint.is_file():
        torch.manual_seed(int(seeds["dropout"]))
        return 0, [], False, 0.0
    state = load_checkpoint(checkpoint)
    run.network.load_state_dict(state["network"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scaler.load_state_dict(state["scaler"])
    if run.scheduler is not None and state.get("scheduler"):
        run.scheduler.load_state_dict(state["scheduler"])
    run.stopper.load_state_dict(state["early_stopping"])
    run.best.load_state_dict(state["best"])
    set_rng_state(state["rng"], run.order, run.dropout)
    return state["epoch"], list(state["rows"]), state["finished"], state["elapsed"]


def start_epoch(run: _SplitRun, epoch: int) -> None:
    """Set the augmentation stream's epoch, training mode and empty gradients."""
    run.train_set.set_epoch(epoch)
    run.network.train()
    run.optimizer.zero_grad(set_to_none=True)


def batch_loss(run: _SplitRun, batch: Mapping[str, Any], outputs) -> torch.Tensor:
    """The loss of one batch, divided by the accumulation steps (a VAE's own loss: reconstruction + KL)."""
    own_loss = getattr(run.network, "compute_loss", None)
    loss = (own_loss(batch["image"].to(run.device), outputs) if own_loss else
            task_loss(run.parameters["network_task"], run.criterion, outputs, batch))
    return loss / int(run.parameters["accumulation_steps"])


def after_backward(run: _SplitRun, epoch: int, i: int, logger: TrainingLogger, start: float) -> None:
    """Optimizer step every ``accumulation_steps`` batches; evaluation every ``evaluation_steps`` batches."""
    parameters, n_batches = run.parameters, len(run.train_loader)
    if (i + 1) % int(parameters["accumulation_steps"]) == 0 or i + 1 == n_batches:
        run.scaler.step(run.optimizer)
        run.scaler.update()
        run.optimizer.zero_grad(set_to_none=True)
    evaluation_steps = int(parameters["evaluation_steps"])
    if evaluation_steps and (i + 1) % evaluation_steps == 0 and i + 1 < n_batches:
        metrics_train, metrics_valid = _evaluate(run.network, run.eval_loaders, parameters, run.device, run.amp,
                                                 run.names)
        logger.log(log_row(epoch, i, time.perf_counter() - start, metrics_train, metrics_valid),
                   epoch * n_batches + i)


def check_finite(run: _SplitRun, epoch: int, total: torch.Tensor) -> None:
    """Raise :class:`TrainingDivergedError` when the summed training loss of the epoch is not finite."""
    if not bool(torch.isfinite(total)):
        raise TrainingDivergedError(f"{run.where}: the training loss of epoch {epoch + 1} is {float(total)}; the "
                                    "training diverged (lower the learning_rate, or check the input images).")


def _train_epoch(run: _SplitRun, epoch: int, logger: TrainingLogger, start: float, progress: bool) -> None:
    """One pass over the training loader (gradient accumulation, evaluation every ``evaluation_steps``)."""
    from tqdm.auto import tqdm

    network, device, amp = run.network, run.device, run.amp
    start_epoch(run, epoch)
    total = torch.zeros((), device=device)
    bar = tqdm(run.train_loader, desc=f"{run.where} epoch {epoch + 1}/{int(run.parameters['epochs'])}",
               leave=False, disable=not progress)
    for i, batch in enumerate(bar):
        with autocast(device, amp):
            outputs = network(batch["image"].to(device))
        loss = batch_loss(run, batch, outputs)
        run.scaler.scale(loss).backward()
        total += loss.detach()
        after_backward(run, epoch, i, logger, start)
        if progress:  # reading the loss synchronises a GPU: only for a visible bar
            bar.set_postfix(loss=f"{float(loss.detach()) * int(run.parameters['accumulation_steps']):.4g}")
    check_finite(run, epoch, total)


def _end_epoch(run: _SplitRun, epoch: int, logger: TrainingLogger, start: float, progress: bool,
               metrics: tuple[dict, dict] | None = None) -> bool:
    """Evaluate (unless ``metrics`` are given), log, save the best models, step the scheduler and early stopping;
    return whether to stop."""
    from clinicadl.models.checkpoint import save_model

    parameters = run.parameters
    n_batches = len(run.train_loader)
    metrics_train, metrics_valid = metrics or _evaluate(run.network, run.eval_loaders, parameters, run.device,
                                                        run.amp, run.names)
    logger.log(log_row(epoch, n_batches - 1, time.perf_counter() - start, metrics_train, metrics_valid),
               epoch * n_batches + n_batches - 1)
    _report_epoch(run.where, epoch, int(parameters["epochs"]), metrics_train, metrics_valid,
                  parameters["selection_metrics"], progress)
    for metric in run.best.update(metrics_valid):
        save_model(run.split_dir / f"best-{metric}" / "model.pth.tar", run.network, epoch=epoch,
                   name=parameters["architecture"])
    if run.scheduler is not None:
        run.scheduler.step(metrics_valid["loss"])
    return run.stopper.step(metrics_valid["loss"])


def _save(run: _SplitRun, checkpoint: Path, logger: TrainingLogger, epoch: int, finished: bool, start: float) -> None:
    """The checkpoint after an epoch: every state the next epoch needs, the logs so far and the sampler's state."""
    save_checkpoint(checkpoint, {
        "network": run.network.state_dict(), "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict() if run.scheduler is not None else {},
        "scaler": run.scaler.state_dict(), "early_stopping": run.stopper.state_dict(), "best": run.best.state_dict(),
        "epoch": epoch, "rows": logger.rows, "finished": finished,
        "elapsed": time.perf_counter() - start, "rng": get_rng_state(run.order, run.dropout),
    })


def train_split(
    parameters: Mapping[str, Any], maps_dir: str | Path, partition: SplitSessions, seeds: Mapping[str, int], *,
    device: torch.device, progress: bool = True,
) -> None:
    """Train one split into ``maps_dir/split-<i>``, resuming from its checkpoint when there is one.

    Writes ``best-<m>/model.pth.tar`` for each selection metric (when it improves on the validation set),
    ``training_logs/training.tsv`` and TensorBoard events, and ``tmp/checkpoint.pth.tar`` after each epoch (with
    ``finished`` true at the end; the caller removes ``tmp/`` once the split's outputs are complete).
    """
    run, epoch, finished, logger, start = open_run(parameters, maps_dir, partition, seeds, device)
    try:
        while not finished and epoch < int(parameters["epochs"]):
            _train_epoch(run, epoch, logger, start, progress)
            epoch, finished = end_epoch(run, epoch, logger, start, progress)
    finally:
        logger.close()


def end_epoch(run: _SplitRun, epoch: int, logger: TrainingLogger, start: float, progress: bool,
              metrics: tuple[dict, dict] | None = None) -> tuple[int, bool]:
    """Evaluate, save the best models and the checkpoint after ``epoch``; return ``(next epoch, finished)``.

    ``metrics``: the epoch's ``(train, validation)`` metrics when the caller evaluated the network already
    (a pack evaluates its replicates together: :mod:`clinicadl.training.packed_evaluation`).
    """
    stop = _end_epoch(run, epoch, logger, start, progress, metrics)
    epoch += 1
    finished = stop or epoch >= int(run.parameters["epochs"])
    _save(run, checkpoint_path(run.split_dir), logger, epoch, finished, start)
    if EPOCH_END_HOOK is not None:
        EPOCH_END_HOOK(run.split, epoch - 1)
    return epoch, finished


def open_run(parameters: Mapping[str, Any], maps_dir: str | Path, partition: SplitSessions, seeds: Mapping[str, int],
             device: torch.device) -> tuple[_SplitRun, int, bool, TrainingLogger, float]:
    """Build a split's run and restore it from its checkpoint: ``(run, epoch, finished, logger, start)``.

    On a CPU, freed tensors' memory is kept for the next step (:func:`~clinicadl.runtime.allocator.
    keep_freed_memory`): a training step then reuses its activations' pages instead of faulting them in again.
    """
    if device.type == "cpu":
        keep_freed_memory()
    run = _build_run(parameters, maps_dir, partition, seeds, device)
    epoch, rows, finished, elapsed = _restore(run, checkpoint_path(run.split_dir), seeds)
    logger = TrainingLogger(run.split_dir / "training_logs", rows, purge_step=epoch * len(run.train_loader),
                            tracker=start_tracker(parameters, run.split_dir))
    return run, epoch, finished, logger, time.perf_counter() - elapsed
