"""The training loop of K replicates' split trained together (``--pack_replicates``; imports torch).

Each replicate keeps everything of its own, built exactly as :func:`clinicadl.training.loop.train_split` builds it
(:func:`~clinicadl.training.loop.open_run`): datasets and loader (its ``order`` and ``augmentation`` seeds), network
(its ``init`` seed), dropout generator (its ``dropout`` seed), optimizer, scheduler, gradient scaler, early stopping,
best models, logs and checkpoint. What is shared is the forward and backward pass of a training step: the K batches
of a step (one per replicate, drawn from its own loader) go through :func:`~clinicadl.training.packed_network.
packed_forward` as one batched network, the K losses are summed and back-propagated once (each loss depends only
on its replicate's parameters, so each module receives its own gradients), then each optimizer steps its own
parameters. The end-of-epoch evaluation of the replicates that share their split is one packed pass as well
(:mod:`~clinicadl.training.packed_evaluation`: each batch read once, each replicate's own metrics); best-model
selection, early stopping and checkpoints run per replicate with the unpacked code, so a packed replicate writes the
files of an unpacked one.

Replicates leave the pack: one that finished (its epochs, or early stopping) is no longer stepped; one whose
training raises (a diverged loss: :class:`~clinicadl.training.loop.TrainingDivergedError`, or any error in its own
evaluation or files) is recorded as failed and the others go on. Replicates whose batches differ in size in a step
(the last batch of a replicate with another partition) are packed with those of the same size.
``KeyboardInterrupt`` and other non-``Exception`` errors stop the whole pack: each replicate then resumes from its
last checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from clinicadl.runtime.device import autocast
from clinicadl.training.loop import after_backward, batch_loss, check_finite, end_epoch, open_run, start_epoch
from clinicadl.training.packed_evaluation import evaluate_pack
from clinicadl.training.packed_network import packed_forward
from clinicadl.training.partitions import SplitSessions

__all__ = ["PackedSplit", "train_splits_packed"]

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackedSplit:
    """One replicate's split to train in a pack: its parameters, MAPS folder, partition and seeds."""

    parameters: Mapping[str, Any]
    maps_dir: Path
    partition: SplitSessions
    seeds: Mapping[str, int]


@dataclass
class _Member:
    """A replicate in the pack: its run, next epoch and whether it has finished."""

    run: Any
    epoch: int
    finished: bool
    logger: Any
    start: float
    total: torch.Tensor | None = None

    @property
    def training(self) -> bool:
        return not self.finished and self.epoch < int(self.run.parameters["epochs"])


def _step(members: Sequence[_Member], batches: Sequence[Mapping[str, Any]]) -> None:
    """Forward K batches as one network, back-propagate the sum of the K losses."""
    runs = [member.run for member in members]
    device, amp = runs[0].device, runs[0].amp
    with autocast(device, amp):
        images = [batch["image"].to(device) for batch in batches]
        outputs = packed_forward([run.network for run in runs], images) if len(runs) > 1 else [
            runs[0].network(images[0])]
    losses = [batch_loss(run, batch, output) for run, batch, output in zip(runs, batches, outputs)]
    torch.stack([run.scaler.scale(loss) for run, loss in zip(runs, losses)]).sum().backward()
    for member, loss in zip(members, losses):
        member.total += loss.detach()


def _epoch(members: list[_Member], failed: dict[int, BaseException]) -> None:
    """One epoch of every member: each draws its own batches; those of a size are stepped together."""
    iterators = {}
    for index, member in enumerate(members):
        start_epoch(member.run, member.epoch)
        member.total = torch.zeros((), device=member.run.device)
        iterators[index] = iter(member.run.train_loader)
    i = 0
    while iterators:
        drawn = {index: next(iterator, None) for index, iterator in iterators.items()}
        iterators = {index: iterators[index] for index, batch in drawn.items() if batch is not None}
        by_size: dict[tuple[int, ...], list[int]] = {}
        for index in iterators:
            by_size.setdefault(tuple(drawn[index]["image"].shape), []).append(index)
        for indices in by_size.values():
            try:
                _step([members[k] for k in indices], [drawn[k] for k in indices])
            except Exception as error:  # these replicates fail, the others go on
                failed.update({k: error for k in indices})
                for k in indices:
                    del iterators[k]
        for index in list(iterators):
            member = members[index]
            try:
                after_backward(member.run, member.epoch, i, member.logger, member.start)
            except Exception as error:  # the replicate fails, the others go on
                failed[index] = error
                del iterators[index]
        i += 1


def _shared_metrics(members: Sequence[_Member], indices: Sequence[int]) -> dict[int, tuple[dict, dict]]:
    """The epoch's metrics of the members that share their evaluation data, from one packed pass per group.

    A packed evaluation that raises is left to each member (which then evaluates itself, and fails alone).
    """
    try:
        metrics = evaluate_pack([members[k].run for k in indices])
    except Exception as error:  # each member evaluates itself
        _logger.warning("the packed evaluation failed (%s); each replicate evaluates itself", error)
        return {}
    return {k: m for k, m in zip(indices, metrics) if m is not None}


def _end(members: list[_Member], failed: dict[int, BaseException], progress: bool) -> None:
    """Per member: check the loss, evaluate (together when they share their data), save; one that raises fails
    alone."""
    ending = []
    for index, member in enumerate(members):
        if index in failed or not member.training:
            continue
        try:
            check_finite(member.run, member.epoch, member.total)
            ending.append(index)
        except Exception as error:  # the replicate fails, the others go on
            _logger.warning("%s fails and leaves the pack: %s", member.run.where, error)
            failed[index] = error
    shared = _shared_metrics(members, ending) if len(ending) > 1 else {}
    for index in ending:
        member = members[index]
        try:
            member.epoch, member.finished = end_epoch(member.run, member.epoch, member.logger, member.start,
                                                      progress, shared.get(index))
        except Exception as error:  # the replicate fails, the others go on
            _logger.warning("%s fails and leaves the pack: %s", member.run.where, error)
            failed[index] = error


def train_splits_packed(splits: Sequence[PackedSplit], *, device: torch.device,
                        progress: bool = False) -> dict[int, BaseException]:
    """Train the split of each of K replicates together; return the errors of those that failed (by index).

    Each split is written as :func:`clinicadl.training.loop.train_split` writes it (best models, logs, checkpoint
    after each epoch) and resumes from its own checkpoint. A replicate that fails leaves the pack; the others go on.

    Parameters
    ----------
    splits : sequence of PackedSplit
        The replicates' splits, of one architecture of :data:`~clinicadl.training.packed_network.PACKABLE`.
    device : torch.device
        Where they train (together).
    progress : bool
        Print a line per replicate and epoch.

    Returns
    -------
    dict
        ``{index in splits: exception}`` for the replicates whose training failed.
    """
    failed: dict[int, BaseException] = {}
    members: list[_Member] = []
    try:
        for index, split in enumerate(splits):
            try:
                members.append(_Member(*open_run(split.parameters, split.maps_dir, split.partition, split.seeds,
                                                 device)))
            except Exception as error:
                failed[index] = error
                members.append(None)  # type: ignore[arg-type]
        while True:
            active = [k for k, member in enumerate(members) if k not in failed and member.training]
            if not active:
                break
            _epoch([members[k] for k in active], local := {})
            failed.update({active[k]: error for k, error in local.items()})
            _end(members, failed, progress)
    finally:
        for member in members:
            if member is not None:
                member.logger.close()
    return failed
