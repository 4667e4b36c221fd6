"""The predictions that end a split of packed replicates sharing that split: one packed pass (imports torch).

After a split's training, each replicate's best model of each selection metric predicts the ``train`` and
``validation`` groups and writes upstream's prediction and metrics files
(:func:`clinicadl.predict.predict.predict_models`). The replicates of a pack whose split has the same sessions
predict the same images: for each group and selection metric, their K best models run as one network
(:func:`~clinicadl.training.packed_evaluation.packed_infer`) on each batch read once, and each replicate's rows and
loss (upstream's sum of batch losses) go to the same writers as when it predicts alone, so the files are equal to
float rounding. A replicate that shares its split with no other one predicts alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clinicadl.training.partitions import SplitSessions

__all__ = ["predict_pack", "shared_splits"]


def shared_splits(parts: Sequence[SplitSessions]) -> list[list[int]]:
    """The positions of ``parts`` grouped by split: same training and validation sessions, in their order."""
    from clinicadl.training.packed_evaluation import group_alike

    return group_alike(parts, lambda a, b: a.train.equals(b.train) and a.validation.equals(b.validation))


def predict_pack(members: Sequence[tuple[Mapping[str, Any], Path]], part: SplitSessions) -> None:
    """Predict the train and validation groups of ``part`` with each replicate's best models, packed.

    Parameters
    ----------
    members : sequence of (parameters, MAPS folder)
        The replicates, of the same parameters but their seeds, that all trained the split ``part``.
    part : SplitSessions
        The split they share.
    """
    from clinicadl.maps.writer import write_description_log
    from clinicadl.predict.files import write_model_predictions
    from clinicadl.predict.predict import group_dataset
    from clinicadl.predict.upstream_loss import BatchLossSum
    from clinicadl.runtime.checkpoints import load_trained_network
    from clinicadl.runtime.device import select_device
    from clinicadl.runtime.loaders import make_loader
    from clinicadl.runtime.metric_names import task_metrics
    from clinicadl.training.packed_evaluation import packed_infer
    from clinicadl.training.trainer import TRAIN, VALIDATION

    parameters = members[0][0]
    task, mode = parameters["network_task"], parameters["mode"]
    caps = parameters["caps_directory"]
    device = select_device(bool(parameters.get("gpu", False)))
    with_labels = task != "reconstruction"
    names = task_metrics(task, max(len(parameters.get("label_code") or {}), 2))
    for group, frame in ((TRAIN, part.train), (VALIDATION, part.validation)):
        loader = make_loader(group_dataset(parameters, frame, caps_directory=caps, with_labels=with_labels),
                             batch_size=parameters["batch_size"], n_proc=parameters.get("n_proc", 0))
        for metric in parameters["selection_metrics"]:
            networks = [load_trained_network(maps, p, part.split, metric, device) for p, maps in members]
            sums = [BatchLossSum(p) for p, _ in members]
            results = packed_infer(networks, loader, parameters=parameters, device=device,
                                   amp=bool(parameters.get("amp", False)), with_labels=with_labels, on_outputs=sums)
            for (_, maps), (table, _), loss in zip(members, results, sums):
                folder = maps / f"split-{part.split}" / f"best-{metric}" / group
                write_model_predictions(folder, group, table, loss.total, task=task, mode=mode, metric_names=names,
                                        with_labels=with_labels)
                write_description_log(folder, group, frame, caps_directory=caps)
