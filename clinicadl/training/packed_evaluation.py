"""The end-of-epoch evaluation of packed replicates that share their split: one packed pass (imports torch).

After each epoch every replicate evaluates its network on the training and validation groups of its split. The
replicates of a pack that vary only their seeds (``init``, ``order``, ``augmentation``, ``dropout``) evaluate the
same images: their evaluation loaders (no augmentation, no shuffling) give the same batches. Those replicates are
evaluated together: each batch is read once and goes through
:func:`~clinicadl.training.packed_network.packed_forward` with the same images for every network, and each
replicate's outputs are tallied as :func:`~clinicadl.runtime.inference.infer` tallies them (its own rows, loss and
metrics, equal to the unpacked ones to float rounding). Replicates whose splits differ (``--vary split``) are
evaluated one at a time, as is the evaluation every ``evaluation_steps`` batches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import torch

from clinicadl.runtime.device import autocast
from clinicadl.runtime.inference import InferenceTally
from clinicadl.runtime.metrics import compute_metrics
from clinicadl.training.packed_network import packed_forward

__all__ = ["evaluate_pack", "group_alike", "packed_infer", "same_evaluation_data"]


def group_alike(items: Sequence[Any], alike: Callable[[Any, Any], bool]) -> list[list[int]]:
    """The positions of ``items`` in groups of items ``alike`` the group's first one, in their order."""
    groups: list[list[int]] = []
    for k, item in enumerate(items):
        group = next((g for g in groups if alike(items[g[0]], item)), None)
        if group is None:
            groups.append([k])
        else:
            group.append(k)
    return groups


def packed_infer(networks: Sequence[torch.nn.Module], loader: Any, *, parameters: Mapping[str, Any],
                 device: torch.device, amp: bool = False, with_labels: bool = True,
                 on_outputs: Sequence[Callable[[torch.Tensor, dict], Any] | None] | None = None,
                 ) -> list[tuple[pd.DataFrame, float]]:
    """:func:`~clinicadl.runtime.inference.infer` of K networks of one architecture on one loader, in one pass.

    ``on_outputs[k](outputs, batch)``, when given, is called on network k's outputs of each batch.

    Returns
    -------
    list of (DataFrame, float)
        For each network, its prediction rows and mean loss.
    """
    tallies = [InferenceTally(parameters, with_labels) for _ in networks]
    steps = list(on_outputs) if on_outputs is not None else [None] * len(networks)
    modes = [network.training for network in networks]
    for network in networks:
        network.eval()
    with torch.no_grad():
        for batch in loader:
            images = batch["image"].to(device)
            with autocast(device, amp):
                outputs = packed_forward(networks, [images] * len(networks))
            for tally, step, output in zip(tallies, steps, outputs):
                output = tally.add(output, batch)
                if step is not None:
                    step(output, batch)
    for network, mode in zip(networks, modes):
        network.train(mode)
    return [tally.result() for tally in tallies]


def same_evaluation_data(a: Any, b: Any) -> bool:
    """Whether two replicates' runs evaluate the same images with the same labels, unaugmented."""
    datasets = [(x.dataset, y.dataset) for x, y in zip(a.eval_loaders, b.eval_loaders)]
    return len(a.eval_loaders) == len(b.eval_loaders) and all(
        type(x) is type(y) and not x.augmentation and not y.augmentation and x.normalize == y.normalize
        and x.data.equals(y.data) and x.paths == y.paths for x, y in datasets)


def evaluate_pack(runs: Sequence[Any]) -> list[tuple[dict, dict] | None]:
    """The training and validation metrics of each run, from one packed pass per group of runs sharing their data.

    Parameters
    ----------
    runs : sequence
        The replicates' split runs (:func:`clinicadl.training.loop.open_run`), of one architecture.

    Returns
    -------
    list
        For each run, ``(train metrics, validation metrics)``, or None when it shares its data with no other run
        (it evaluates itself).
    """
    metrics: list[tuple[dict, dict] | None] = [None] * len(runs)
    for group in (g for g in group_alike(runs, same_evaluation_data) if len(g) > 1):
        first = runs[group[0]]
        task = first.parameters["network_task"]
        per_loader = [packed_infer([runs[k].network for k in group], loader, parameters=first.parameters,
                                   device=first.device, amp=first.amp) for loader in first.eval_loaders]
        for position, k in enumerate(group):
            (train_table, train_loss), (valid_table, valid_loss) = (results[position] for results in per_loader)
            metrics[k] = (compute_metrics(train_table, task, first.names, train_loss),
                          compute_metrics(valid_table, task, first.names, valid_loss))
    return metrics
