"""The training loop of one split: epochs, evaluation, best models, early stopping, checkpoints (imports torch).

Sources of randomness and their seeds (:mod:`clinicadl.training.seeds`): ``init`` seeds the weights
(``build_model(seed=...)``), ``order`` the generator of the training sampler, ``augmentation`` the dataset's
augmentation stream (keyed by epoch and item), ``dropout`` the global torch random state, set once when the split
starts (after the network is built) and saved in every checkpoint. Evaluation loaders have their own generators, so
evaluating never moves the global state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

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
from clinicadl.training.early_stopping import BestModels, EarlyStopping
from clinicadl.training.logs import TrainingLogger, log_row
from clinicadl.training.partitions import SplitSessions
from clinicadl.training.seeds import torch_generator
from clinicadl.training.tracking import start_tracker

__all__ = ["EPOCH_END_HOOK", "epoch_line", "train_split"]

_logger = logging.getLogger(__name__)

EPOCH_END_HOOK: Callable[[int, int], None] | None = None
"""Called as ``hook(split, epoch)`` after each epoch's checkpoint is written (tests simulate interruptions)."""


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
    optimizer = _optimizer(parameters, network)
    scheduler = (torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.1)
                 if parameters["adaptive_learning_rate"] else None)
    scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")
    replicate = parameters.get("replicate")
    where = (f"replicate-{replicate} " if replicate is not None else "") + f"split-{partition.split}"
    return _SplitRun(
        parameters, partition.split, Path(maps_dir) / f"split-{partition.split}", device, train_set, train_loader,
        eval_loaders, order, network, optimizer, scheduler, scaler, make_criterion(task, parameters["loss"]),
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
    set_rng_state(state["rng"], run.order)
    return state["epoch"], list(state["rows"]), state["finished"], state["elapsed"]


def _train_epoch(run: _SplitRun, epoch: int, logger: TrainingLogger, start: float, progress: bool) -> None:
    """One pass over the training loader (gradient accumulation, evaluation every ``evaluation_steps``)."""
    from tqdm.auto import tqdm

    parameters, network, optimizer, scaler = run.parameters, run.network, run.optimizer, run.scaler
    task, device, amp = parameters["network_task"], run.device, run.amp
    n_batches = len(run.train_loader)
    accumulation = int(parameters["accumulation_steps"])
    evaluation_steps = int(parameters["evaluation_steps"])
    run.train_set.set_epoch(epoch)
    network.train()
    optimizer.zero_grad(set_to_none=True)
    bar = tqdm(run.train_loader, desc=f"{run.where} epoch {epoch + 1}/{int(parameters['epochs'])}", leave=False,
               disable=not progress)
    for i, batch in enumerate(bar):
        with autocast(device, amp):
            outputs = network(batch["image"].to(device))
        own_loss = getattr(network, "compute_loss", None)  # a VAE's own: reconstruction + KL divergence
        loss = (own_loss(batch["image"].to(device), outputs) if own_loss else
                task_loss(task, run.criterion, outputs, batch)) / accumulation
        scaler.scale(loss).backward()
        if (i + 1) % accumulation == 0 or i + 1 == n_batches:
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
        if progress:  # reading the loss synchronises a GPU: only for a visible bar
            bar.set_postfix(loss=f"{float(loss.detach()) * accumulation:.4g}")
        if evaluation_steps and (i + 1) % evaluation_steps == 0 and i + 1 < n_batches:
            metrics_train, metrics_valid = _evaluate(network, run.eval_loaders, parameters, device, amp, run.names)
            logger.log(log_row(epoch, i, time.perf_counter() - start, metrics_train, metrics_valid),
                       epoch * n_batches + i)


def _end_epoch(run: _SplitRun, epoch: int, logger: TrainingLogger, start: float, progress: bool) -> bool:
    """Evaluate, log, save the best models, step the scheduler and early stopping; return whether to stop."""
    from clinicadl.models.checkpoint import save_model

    parameters = run.parameters
    n_batches = len(run.train_loader)
    metrics_train, metrics_valid = _evaluate(run.network, run.eval_loaders, parameters, run.device, run.amp,
                                             run.names)
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
        "elapsed": time.perf_counter() - start, "rng": get_rng_state(run.order),
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
    run = _build_run(parameters, maps_dir, partition, seeds, device)
    checkpoint = checkpoint_path(run.split_dir)
    epoch, rows, finished, elapsed = _restore(run, checkpoint, seeds)
    logger = TrainingLogger(run.split_dir / "training_logs", rows, purge_step=epoch * len(run.train_loader),
                            tracker=start_tracker(parameters, run.split_dir))
    start = time.perf_counter() - elapsed
    try:
        while not finished and epoch < int(parameters["epochs"]):
            _train_epoch(run, epoch, logger, start, progress)
            stop = _end_epoch(run, epoch, logger, start, progress)
            epoch += 1
            finished = stop or epoch >= int(parameters["epochs"])
            _save(run, checkpoint, logger, epoch, finished, start)
            if EPOCH_END_HOOK is not None:
                EPOCH_END_HOOK(partition.split, epoch - 1)
    finally:
        logger.close()
