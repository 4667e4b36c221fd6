"""Replicates of a learning procedure: train R independent runs, each with its own recorded seeds.

A replicate is one complete run of the learning procedure (every split, from data partition to
selected models), written as a ClinicaDL 1.x MAPS. ``train_procedure(..., replicates=R)`` trains R of
them under one folder (FORMATS.md, section 4)::

    <maps>/
      maps.json          shared parameters + "replicates": {"count", "root_seed", "varied_sources"}
      replicates.tsv     replicate status seed_split seed_init seed_order seed_augmentation seed_dropout seed_hpo error
      replicate-<r>/     a complete 1.x MAPS, its maps.json holding "replicate", "seed", "seeds", "root_seed"

Seeds come from :func:`clinicadl.training.seeds.replicate_seeds` (root seed, replicate index,
source): a source that is not varied keeps replicate 0's seed, and seeds do not depend on the
hyper-parameters, so two procedures trained with the same root seed are paired replicate by replicate.

Notes
-----
*Statuses.* ``done`` (finished, never touched again), ``running`` (started and not finished: being
trained, or interrupted), ``failed`` (raised; one-line error in the ``error`` column, traceback in
``replicate-<r>/error.log``) and ``pending`` (not started yet; FORMATS.md lists the first three,
``pending`` is our addition so that every replicate has a row from the start).

*Who writes what.* Only the process that runs :func:`train_procedure` or :func:`resume_maps` writes
``maps.json``. Each job (:class:`ReplicateRunner`: a local worker, or a SLURM job) writes into its own
``replicate-<r>/`` and updates its own row of ``replicates.tsv`` (``running``, then ``done`` or
``failed``); the driver marks ``failed`` a job that died without reporting. Every update of the TSV is a
read-change-write under an exclusive lock (``.jobs/replicates.tsv.lock``) with an atomic rename, so jobs
that finish at the same moment never lose an update. An advisory lock on ``<maps>/.lock``
(``fcntl.flock``, released by the kernel when the process dies, even by ``kill -9``) stops a second
process from driving the same MAPS at once; ``.jobs/replicate-<r>.lock`` stops two jobs from training
the same replicate.

*Where each part lives.* The file format of ``replicates.tsv``, its lock and the MAPS lock:
:mod:`clinicadl.maps.replicates` and :mod:`clinicadl.maps.locks` (bound to the sources of variance by
:mod:`clinicadl.training.replicate_table`); checks of the inputs: :mod:`clinicadl.training.replicate_inputs`; the
jobs and launchers: :mod:`clinicadl.training.replicate_jobs`; the result: :mod:`clinicadl.training.procedure_result`;
``clinicadl train resume``: :mod:`clinicadl.training.resume`. This module holds the driver
:func:`train_procedure` and re-exports the names of all of them.

*Failures.* A replicate that raises is marked ``failed`` and the others go on; at the end
:class:`ReplicatesFailedError` lists the failed ones. Finished replicates are kept, and
``clinicadl train resume MAPS`` (:func:`resume_maps`) retrains the failed, interrupted and pending ones,
each resuming from its own checkpoints.

*The ``seed`` key.* ClinicaDL 1.x records one ``seed`` that seeds everything. Each replicate's
``maps.json`` sets it to the seed of weight initialisation (``seeds["init"]``), the main use of the
upstream seed; the seed of every source is in ``seeds``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clinicadl.maps.locks import LOCK_FILE, maps_lock
from clinicadl.maps.maps_json import write_maps_json
from clinicadl.maps.replicates import REPLICATES_TSV, STATUSES, ReplicateRecord, replicate_dir
from clinicadl.training.procedure_result import ProcedureResult, ReplicatesFailedError, finish_procedure
from clinicadl.training.replicate_inputs import (
    RESERVED_KEYS,
    TrainFn,
    check_int,
    check_vary,
    prepare_output,
    replicate_parameters,
    resolve_train_fn,
    shared_parameters,
    slurm_options,
)
from clinicadl.training.replicate_jobs import ERROR_LOG, ReplicateRunner, replicate_executor, run_replicates
from clinicadl.training.replicate_table import TSV_COLUMNS, read_replicates_tsv, write_replicates_tsv
from clinicadl.training.resume import resume_maps
from clinicadl.training.seeds import replicate_seeds

__all__ = [
    "ERROR_LOG",
    "LOCK_FILE",
    "REPLICATES_TSV",
    "RESERVED_KEYS",
    "STATUSES",
    "TSV_COLUMNS",
    "ProcedureResult",
    "ReplicateRecord",
    "ReplicateRunner",
    "ReplicatesFailedError",
    "read_replicates_tsv",
    "replicate_dir",
    "resume_maps",
    "train_procedure",
]


def train_procedure(parameters: Mapping[str, Any], output_maps: str | Path, *, replicates: int | None,
                    root_seed: int, vary: Sequence[str] | str | None = None, n_jobs: int = 1,
                    overwrite: bool = False, train_fn: TrainFn | None = None, progress: bool = True,
                    executor=None, launcher: str = "local", slurm: Mapping[str, Any] | None = None,
                    wait: bool = True, after_split=None, pack_replicates: int = 1) -> ProcedureResult:
    """Train a learning procedure once (a 1.x MAPS) or as ``replicates`` independent runs.

    Parameters
    ----------
    parameters : mapping
        Training parameters (the flat content of a 1.x ``maps.json``). The keys of
        :data:`RESERVED_KEYS` are set by this function (``root_seed`` replaces any ``seed`` given).
    output_maps : str or Path
        Output MAPS folder; must not exist or be empty, unless ``overwrite``.
    replicates : int or None
        None (no ``--replicates`` option): one plain 1.x MAPS at ``output_maps``, trained with the
        seeds of replicate 0 and the upstream split (``resample_split=False``). ``R >= 1``: R replicates
        in ``output_maps/replicate-<r>/`` with ``maps.json`` and ``replicates.tsv`` at the root.
    root_seed : int
        Root of every seed (>= 0).
    vary : sequence of str, or str, optional
        Sources of variance that change across replicates (comma-separated string accepted);
        default :data:`~clinicadl.training.seeds.DEFAULT_VARIED`. Varying ``split`` re-draws the
        train/validation partition in each replicate (``resample_split=True``).
    n_jobs : int
        Replicates trained at once, each in its own process (1: in this process).
    overwrite : bool
        Replace an existing non-empty ``output_maps``; it is removed only after the inputs are checked.
    train_fn : callable, optional
        ``train_fn(parameters, maps_dir, seeds, *, resample_split, progress)`` trains one replicate
        into ``maps_dir`` and resumes from its checkpoints; default
        :func:`clinicadl.training.trainer.train_replicate`. With ``n_jobs > 1`` it must be importable
        by module name (it is sent to worker processes).
    after_split : callable, optional
        Step run on each split once its models predicted the validation group
        (:func:`clinicadl.training.trainer.train_replicate`); ``clinicadl train`` passes each model's intervals.
    progress : bool
        Show the trainer's progress bars (only when ``n_jobs == 1``, where they do not interleave).
    executor : optional
        An executor with ``submit`` and ``shutdown`` (:mod:`clinicadl.training.launcher`); default: the
        one of ``launcher``. A local one gets at most ``n_jobs`` replicates at once; a cluster one
        (``records_jobs``, e.g. :class:`~clinicadl.training.slurm.SubmititExecutor`) gets one job array.
    launcher : {"local", "slurm", "debug", "submitit_local"}
        Where the replicates run when no ``executor`` is given (:func:`~clinicadl.training.launcher.make_executor`):
        ``slurm`` submits one SLURM job per replicate, ``n_jobs`` of them running at once, with their
        logs in ``<maps>/.jobs/logs/``; the launcher is recorded for ``clinicadl train resume``.
    slurm : mapping or SlurmOptions, optional
        SLURM options (:class:`~clinicadl.training.slurm.SlurmOptions`); only with ``launcher="slurm"``.
    wait : bool
        Wait for cluster jobs to end (default). False: return once they are submitted (the statuses are then
        those at submission; ``clinicadl train status`` follows them).

    pack_replicates : int
        Replicates trained together in one process as one batched network
        (:mod:`clinicadl.training.packed_trainer`), each with its own seeds, optimizer, early stopping and files:
        the same MAPS as replicates trained one at a time. 1 (default): one at a time. Needs ``replicates``, the
        built-in trainer and an architecture of :data:`~clinicadl.training.packed_network.PACKABLE`.

    Returns
    -------
    ProcedureResult
        Path, status and seeds of every replicate.

    Raises
    ------
    InputError
        Invalid parameters, number of replicates, seed, ``n_jobs`` or source names (nothing written).
    MAPSError
        ``output_maps`` exists and is not empty (without ``overwrite``), or is being trained.
    ReplicatesFailedError
        Some replicates failed; the others are finished and kept, ``clinicadl train resume`` retries.
        Without ``replicates`` (one plain run), the trainer's exception propagates as it is.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> def fake_train(parameters, maps_dir, seeds, *, resample_split, progress):
    ...     maps_dir.mkdir(parents=True, exist_ok=True)
    >>> maps = pathlib.Path(tempfile.mkdtemp()) / "maps"
    >>> result = train_procedure({"learning_rate": 1e-4}, maps, replicates=3, root_seed=0, vary=["init"],
    ...                          train_fn=fake_train)
    >>> result.statuses
    {0: 'done', 1: 'done', 2: 'done'}
    >>> len({seeds["init"] for seeds in result.seeds.values()}), len({s["split"] for s in result.seeds.values()})
    (3, 1)
    """
    # validate everything first: nothing is written or removed for invalid inputs
    shared = shared_parameters(parameters)
    if replicates is not None:
        check_int("The number of replicates", replicates, 1)
    root_seed = check_int("The root seed", root_seed, 0)
    varied = check_vary(vary)
    n_jobs = check_int("n_jobs", n_jobs, 1)
    from clinicadl.training.packed_trainer import check_pack

    pack = check_pack(pack_replicates, shared, replicated=replicates is not None, train_fn=train_fn)
    train_fn = resolve_train_fn(train_fn, after_split)
    slurm = slurm_options(launcher, slurm, replicated=replicates is not None, executor=executor)
    output_maps = Path(output_maps)
    prepare_output(output_maps, overwrite)

    if replicates is None:  # one run, upstream behaviour: a plain 1.x MAPS
        seeds = replicate_seeds(root_seed, 0, varied)
        params = replicate_parameters(shared, 0, seeds, root_seed, None)
        train_fn(params, output_maps, dict(seeds), resample_split=False, progress=progress)
        return ProcedureResult(output_maps, replicated=False, statuses={0: "done"}, seeds={0: seeds},
                               root_seed=root_seed, trained=(0,))

    output_maps.mkdir(parents=True, exist_ok=True)
    with maps_lock(output_maps):
        records = {r: ReplicateRecord(r, "pending", replicate_seeds(root_seed, r, varied)) for r in range(replicates)}
        _write_root_json(output_maps, shared, replicates, root_seed, varied)  # first: resume needs it
        write_replicates_tsv(output_maps, records)
        executor = replicate_executor(output_maps, executor, launcher, slurm, n_jobs)
        records = run_replicates(output_maps, records, list(records), shared=shared, root_seed=root_seed,
                                 varied=varied, n_jobs=n_jobs, train_fn=train_fn, progress=progress,
                                 executor=executor, wait=wait, pack=pack, after_split=after_split)
        return finish_procedure(output_maps, records, root_seed=root_seed, varied=varied, trained=list(records),
                                submitted=not wait and bool(getattr(executor, "records_jobs", False)))


def _write_root_json(maps: Path, shared: Mapping[str, Any], count: int, root_seed: int,
                     varied: Sequence[str]) -> None:
    block = {"count": count, "root_seed": root_seed, "varied_sources": list(varied)}
    write_maps_json(maps, {**shared, "replicates": block})
