"""Finishing an interrupted or partly failed training: ``clinicadl train resume MAPS`` (:func:`resume_maps`).

Replicates marked ``done`` in ``replicates.tsv`` are never touched; the others resume from their checkpoints.
A replicate recorded ``done`` whose files say otherwise is trained again; one whose cluster job still runs is left
to it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps.locks import maps_lock
from clinicadl.maps.maps_json import is_maps, maps_json_path, read_maps_json
from clinicadl.maps.replicates import REPLICATES_TSV, ReplicateRecord, has_replicates, replicate_dir
from clinicadl.training.jobs import job_state, read_job_record, read_launcher
from clinicadl.training.procedure_result import ProcedureResult, finish_procedure
from clinicadl.training.replicate_inputs import RESERVED_KEYS, TrainFn, check_int, resolve_train_fn, slurm_options
from clinicadl.training.replicate_jobs import replicate_executor, run_replicates
from clinicadl.training.replicate_table import read_replicates_tsv, update_replicates_tsv
from clinicadl.training.seeds import DEFAULT_VARIED, SOURCES, check_sources, replicate_seeds
from clinicadl.training.variance_study import StudySearchTrainFn, study_phases, study_train_fn

__all__ = ["resume_maps"]

logger = logging.getLogger("clinicadl.training.replicates")


def _read_replicates_block(maps: Path, parameters: Mapping[str, Any]) -> tuple[int, int, tuple[str, ...]]:
    block = parameters["replicates"]
    file = maps_json_path(maps)
    try:
        count = int(block["count"])
        root_seed = int(block["root_seed"])
        varied = check_sources(block.get("varied_sources", DEFAULT_VARIED))
    except (TypeError, KeyError, ValueError, InputError) as error:
        raise MAPSError(f"{file}: unreadable 'replicates' entry {block!r} ({error}); expected "
                        '{"count": R, "root_seed": S, "varied_sources": [...]}.') from None
    if count < 1 or root_seed < 0:
        raise MAPSError(f"{file}: 'replicates' entry {block!r} needs count >= 1 and root_seed >= 0.")
    return count, root_seed, varied


def _recorded_seeds(maps: Path, parameters: Mapping[str, Any]) -> dict[str, int]:
    seeds = parameters.get("seeds")
    try:
        return {source: int(seeds[source]) for source in SOURCES}
    except (TypeError, KeyError, ValueError):
        raise MAPSError(f"{maps_json_path(maps)} records no seed of every source ('seeds'): this MAPS was not "
                        "trained by this version of clinicadl and cannot be resumed; train it again.") from None


def resume_maps(maps: str | Path, *, n_jobs: int | None = None, retry_failed: bool = True,
                train_fn: TrainFn | None = None, progress: bool = True, executor=None, launcher: str | None = None,
                slurm: Mapping[str, Any] | None = None, wait: bool = True,
                splits: Sequence[int] | None = None, after_split=None, pack_replicates: int = 1) -> ProcedureResult:
    """Finish an interrupted or partly failed training: ``clinicadl train resume MAPS``.

    Replicates marked ``done`` in ``replicates.tsv`` are never touched. The others (``running``:
    interrupted; ``pending``; ``failed`` when ``retry_failed``) are trained again by ``train_fn``,
    which skips their finished splits and resumes the interrupted one from its checkpoint. A plain
    1.x MAPS (no ``replicates.tsv``) is resumed as one replicate with the seeds its ``maps.json``
    records.

    A replicate whose cluster job is still queued or running (``.jobs/replicate-<r>.json``, checked with
    ``squeue``) is left to it, not submitted twice.

    Parameters
    ----------
    maps : str or Path
        The MAPS folder.
    n_jobs : int, optional
        Replicates trained at once; default: the recorded launcher's, else 1.
    retry_failed : bool
        Retrain the ``failed`` replicates too (default); if False they stay failed.
    launcher : str, optional
        Default: the launcher recorded by the training (``.jobs/launcher.json``: ``slurm`` and its options),
        else ``local``.
    slurm : mapping, optional
        SLURM options; default: the recorded ones (with ``launcher="slurm"``).
    train_fn, progress, executor, wait, after_split, pack_replicates
        As in :func:`train_procedure` (replicates are packed only when ``pack_replicates`` > 1 is given again).
    splits : sequence of int, optional
        Only resume these splits of a plain MAPS (upstream's ``train resume --split``); default: the splits
        recorded in ``maps.json``. Refused for replicates, which are resumed whole.

    Returns
    -------
    ProcedureResult

    Raises
    ------
    MAPSError
        Not a MAPS, unreadable ``replicates.tsv``, or the MAPS is being trained by another process.
    ReplicatesFailedError
        Some replicates are still failed after this call.
    """
    maps = Path(maps)
    if not maps.is_dir():
        raise MAPSError(f"MAPS folder {maps} does not exist or is not a folder; give the output folder of "
                        "`clinicadl train`.")
    if train_fn is None and is_maps(maps):
        from clinicadl.training.hpo import search_train_fn

        train_fn = search_train_fn(read_maps_json(maps))  # None without a search of hyper-parameters
    study_of_hpo = is_maps(maps) and len(study_phases(read_maps_json(maps), [0, 1])) > 1
    if study_of_hpo and not isinstance(train_fn, StudySearchTrainFn):
        count, root_seed, varied = _read_replicates_block(maps, read_maps_json(maps))
        records = read_replicates_tsv(maps, count=count, root_seed=root_seed, varied=varied)
        train_fn = study_train_fn(train_fn, maps, {r: record.seeds for r, record in records.items()})
    custom_fn = train_fn  # a search of hyper-parameters, or the caller's: replicates are then not packed
    train_fn = resolve_train_fn(train_fn, after_split)
    recorded = read_launcher(maps) if executor is None else None
    if recorded is not None and launcher in (None, recorded["launcher"]):  # given options override recorded ones
        launcher = recorded["launcher"]
        given = slurm.to_dict() if hasattr(slurm, "to_dict") else dict(slurm or {})
        slurm = {**(recorded.get("slurm") or {}), **given}
        n_jobs = recorded.get("n_jobs", 1) if n_jobs is None else n_jobs
    launcher = launcher or "local"
    n_jobs = check_int("n_jobs", 1 if n_jobs is None else n_jobs, 1)
    parameters = read_maps_json(maps)
    if splits:
        if "replicates" in parameters:
            raise InputError(f"{maps} holds replicates, which are resumed whole (a replicate is done when all its "
                             "splits are); remove --split.")
        parameters["split"] = sorted({int(split) for split in splits})
    slurm = slurm_options(launcher, slurm, replicated="replicates" in parameters, executor=executor)
    if "replicates" not in parameters:
        if has_replicates(maps):
            raise MAPSError(f"{maps_json_path(maps)} has no 'replicates' entry but {REPLICATES_TSV} exists; restore "
                            "maps.json from a backup.")
        seeds = _recorded_seeds(maps, parameters)
        train_fn(parameters, maps, seeds, resample_split=False, progress=progress)
        root_seed = parameters.get("root_seed")
        return ProcedureResult(maps, replicated=False, statuses={0: "done"}, seeds={0: seeds},
                               root_seed=int(root_seed) if root_seed is not None else None, trained=(0,))

    count, root_seed, varied = _read_replicates_block(maps, parameters)
    shared = {key: value for key, value in parameters.items() if key not in RESERVED_KEYS}
    from clinicadl.training.packed_trainer import check_pack

    pack = check_pack(pack_replicates, shared, replicated=True, train_fn=custom_fn)
    with maps_lock(maps):
        if has_replicates(maps):
            records = read_replicates_tsv(maps, count=count, root_seed=root_seed, varied=varied)
        else:  # interrupted right after maps.json was written
            records = {r: ReplicateRecord(r, "pending", replicate_seeds(root_seed, r, varied)) for r in range(count)}
        wanted = ("running", "pending", "failed") if retry_failed else ("running", "pending")
        records = _check_done_on_disk(maps, records)
        to_run = [r for r in sorted(records) if records[r].status in wanted and not _job_alive(maps, r)]
        if to_run:
            executor = replicate_executor(maps, executor, launcher, slurm, n_jobs)
            for number, phase in enumerate(study_phases(parameters, to_run)):
                if number and records[0].status != "done":
                    break  # a study's reference failed: the models that keep its choice wait for it
                records = run_replicates(maps, records, phase, shared=shared, root_seed=root_seed, varied=varied,
                                         n_jobs=n_jobs, train_fn=train_fn, progress=progress, executor=executor,
                                         wait=wait, pack=pack, after_split=after_split)
        return finish_procedure(maps, records, root_seed=root_seed, varied=varied, trained=to_run,
                                submitted=not wait and bool(getattr(executor, "records_jobs", False)))


def _check_done_on_disk(maps: Path, records: dict[int, ReplicateRecord]) -> dict[int, ReplicateRecord]:
    """Replicates recorded ``done`` whose files say otherwise (folder deleted, ``tmp/`` checkpoint left,
    a split not complete) are recorded ``pending`` again, so that resume trains them."""
    from clinicadl.maps.training_state import maps_disk_state

    changes = {}
    for r, record in records.items():
        if record.status != "done":
            continue
        disk = maps_disk_state(replicate_dir(maps, r))
        if disk.state in ("missing", "interrupted", "incomplete"):
            logger.warning("Replicate %d of %s is recorded done but is %s on disk (%s); it is trained again.", r,
                           maps, disk.state, disk.detail)
            changes[r] = ("pending", "")
    if not changes:
        return records
    return update_replicates_tsv(maps, changes, only_from=("done",))


def _job_alive(maps: Path, replicate: int) -> bool:
    """Whether the recorded cluster job of a replicate is still queued or running (it is then left to run)."""
    record = read_job_record(maps, replicate)
    if record is None:
        return False
    state = job_state(record)
    if state not in ("ended", "unknown"):
        logger.warning("Replicate %d of %s is still %s as job %s; it is not submitted again.", replicate, maps,
                       state, record.job_id)
        return True
    return False
