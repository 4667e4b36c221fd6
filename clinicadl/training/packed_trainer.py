"""Training K replicates together into K complete ClinicaDL 1.x MAPS (``--pack_replicates K``).

:func:`train_pack` is :func:`clinicadl.training.trainer.train_replicate` for K replicates at once: each
``replicate-<r>/`` gets the same files (``maps.json``, groups, ``split-<i>/`` with models, logs and predictions) as
when it trains alone; only the training steps of a split run as one batched network
(:mod:`clinicadl.training.packed_loop`), and so do the predictions that end a split of the replicates sharing it
(:mod:`clinicadl.training.packed_prediction`). Split ``i`` of every replicate is trained before split ``i + 1``; a
replicate that fails leaves the pack and the others go on; each replicate resumes from its own checkpoints.

When it helps: on a CPU, oneDNN runs the grouped, channels-last convolutions and poolings of a pack faster than K
small separate ones (``benchmarks/results/packed.md``: at 4 mm on 2 cores, a packed step of 4 replicates is about
1.4-1.6x the throughput of 4 separate ones, the whole procedure about 1.65x, the end-of-epoch evaluation and the
predictions that end each split being packed too); on a GPU, one small network leaves most of the device idle, and
K of them fill it. Packing K replicates multiplies the memory of activations by K.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinicadl.errors import InputError
from clinicadl.training.trainer import AfterSplit, deterministic_algorithms, finish_split, prepare_replicate

__all__ = ["PackMember", "check_pack", "check_packable", "train_pack"]

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackMember:
    """One replicate of a pack: its resolved parameters, MAPS folder and seeds."""

    parameters: Mapping[str, Any]
    maps_dir: Path
    seeds: Mapping[str, int]


def check_packable(parameters: Mapping[str, Any]) -> None:
    """Raise :class:`InputError` when replicates of these parameters cannot be packed (the message says why)."""
    from clinicadl.runtime.network import build_network
    from clinicadl.training.packed_network import packable

    reason = packable(str(parameters.get("architecture")))
    if reason is None:
        reason = packable(str(parameters["architecture"]), build_network(parameters, seed=0))
    if reason is None and int(parameters.get("accumulation_steps", 1)) < 1:
        reason = "accumulation_steps must be >= 1."
    if reason is not None:
        raise InputError(f"--pack_replicates: {reason}")


def check_pack(pack: int, parameters: Mapping[str, Any], *, replicated: bool, train_fn: Any = None) -> int:
    """The checked pack size (``--pack_replicates``): 1 trains replicates one at a time."""
    from clinicadl.training.replicate_inputs import check_int

    pack = check_int("pack_replicates", pack, 1)
    if pack == 1:
        return pack
    if not replicated:
        raise InputError("--pack_replicates K trains K replicates together: give --replicates R as well.")
    if train_fn is not None:
        raise InputError("--pack_replicates trains with the built-in trainer; it cannot be combined with a custom "
                         "train_fn (such as --vary ...,hpo); remove --pack_replicates.")
    check_packable(parameters)
    return pack


def train_pack(members: Sequence[PackMember], *, resample_split: bool = False, progress: bool = False,
               after_split: AfterSplit | None = None) -> list[BaseException | None]:
    """Train every split of K replicates together; return each replicate's error (None when it is done).

    Parameters
    ----------
    members : sequence of PackMember
        The replicates, of the same architecture and parameters but their seeds.
    resample_split, after_split
        As in :func:`clinicadl.training.trainer.train_replicate`.
    progress : bool
        Print one line per replicate and epoch.

    Returns
    -------
    list
        For each member, None (trained) or the exception that failed it (the others went on).
    """
    from clinicadl.maps.training_state import split_is_complete
    from clinicadl.training.packed_loop import PackedSplit, train_splits_packed
    from clinicadl.training.packed_prediction import predict_pack, shared_splits

    errors: list[BaseException | None] = [None] * len(members)
    prepared = {}
    for k, member in enumerate(members):
        try:
            prepared[k] = prepare_replicate(member.parameters, member.maps_dir, member.seeds,
                                            resample_split=resample_split)
        except Exception as error:  # this replicate fails, the others go on
            errors[k] = error
    if not prepared:
        return errors
    parameters = members[next(iter(prepared))].parameters
    device = prepared[next(iter(prepared))][2]
    metrics = list(parameters["selection_metrics"])
    n_splits = max(len(parts) for _, parts, _ in prepared.values())
    with deterministic_algorithms(bool(parameters["deterministic"]), gpu=device.type == "cuda"):
        for position in range(n_splits):
            todo = [k for k in prepared if errors[k] is None and not split_is_complete(
                prepared[k][0], prepared[k][1][position].split, metrics, intervals=after_split is not None)]
            splits = [PackedSplit(members[k].parameters, prepared[k][0], prepared[k][1][position], members[k].seeds)
                      for k in todo]
            _logger.info("Training split %d of %d replicates together", position, len(todo))
            failed = train_splits_packed(splits, device=device, progress=progress) if splits else {}
            for index, k in enumerate(todo):
                if index in failed:
                    errors[k] = failed[index]
            trained = [k for k in todo if errors[k] is None]
            for group in shared_splits([prepared[k][1][position] for k in trained]):
                ks = [trained[index] for index in group]
                predicted = len(ks) > 1
                if predicted:
                    try:
                        predict_pack([(members[k].parameters, prepared[k][0]) for k in ks],
                                     prepared[ks[0]][1][position])
                    except Exception as error:  # these replicates fail, the others go on
                        for k in ks:
                            errors[k] = error
                        continue
                for k in ks:
                    try:
                        finish_split(members[k].parameters, prepared[k][0], prepared[k][1][position], after_split,
                                     predicted=predicted)
                    except Exception as error:  # this replicate fails, the others go on
                        errors[k] = error
    return errors
