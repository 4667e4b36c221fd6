"""The jobs that train replicates: one job per replicate, on local workers or a cluster (SLURM).

*Who writes what.* Each job (:class:`ReplicateRunner`: a local worker, or a SLURM job) writes into its own
``replicate-<r>/`` and updates its own row of ``replicates.tsv`` (``running``, then ``done`` or ``failed``); the
driver marks ``failed`` a job that died without reporting. ``.jobs/replicate-<r>.lock`` stops two jobs from training
the same replicate.

*Launchers.* Local workers (:class:`~clinicadl.training.launcher.LocalExecutor`) get at most ``n_jobs``
replicates at once. A cluster executor (``launcher="slurm"``) gets every replicate as one job array; the
job ids and logs are recorded in ``.jobs/replicate-<r>.json`` and the launcher in ``.jobs/launcher.json``
(see :mod:`clinicadl.training.jobs`, and ``clinicadl train status``).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinicadl.atomic import atomic_write_text
from clinicadl.maps.locks import exclusive_lock, jobs_dir, try_lock
from clinicadl.maps.replicates import TSV_LOCK, ReplicateRecord, replicate_dir
from clinicadl.training.jobs import JobRecord, write_job_record, write_launcher
from clinicadl.training.replicate_inputs import TrainFn, replicate_parameters
from clinicadl.training.replicate_table import read_replicates_tsv, update_replicates_tsv

__all__ = ["ERROR_LOG", "ReplicateRunner", "one_line", "replicate_executor", "run_replicates"]

logger = logging.getLogger("clinicadl.training.replicates")

ERROR_LOG = "error.log"
"""Traceback of a failed replicate, in ``replicate-<r>/``."""

_MAX_ERROR_CHARS = 300


def one_line(error: BaseException) -> str:
    """The error in one line (for the ``error`` column of ``replicates.tsv``), at most 300 characters."""
    from clinicadl.errors import os_error_message

    if isinstance(error, OSError) and error.errno is not None:
        text = f"{type(error).__name__}: {os_error_message(error)}"
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    text = " ".join(text.split())  # newlines and tabs would break the TSV and the one-line message
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."


def _train_one(train_fn: TrainFn, parameters: dict, maps_dir: Path, seeds: dict, resample_split: bool,
               progress: bool) -> tuple[str, str]:
    """Train one replicate (in a worker); return ``(status, one-line error)``, writing error.log on failure."""
    log = Path(maps_dir) / ERROR_LOG
    try:
        train_fn(parameters, Path(maps_dir), dict(seeds), resample_split=resample_split, progress=progress)
    except Exception as error:
        try:
            atomic_write_text(log, traceback.format_exc())
        except OSError:  # a full or read-only disk: the status still says failed, with the one-line error
            pass
        return "failed", one_line(error)
    log.unlink(missing_ok=True)  # a stale log of an earlier failure
    return "done", ""


@dataclass(frozen=True)
class ReplicateRunner:
    """The job of one replicate: ``runner(r)`` trains replicate ``r`` and records its status.

    One runner serves every replicate of a submission (``map_array(executor, runner, replicates)``); it is
    pickled to worker processes and SLURM jobs, so ``train_fn`` must be importable by module name there.

    The job holds ``.jobs/replicate-<r>.lock`` while it trains (a second job of the same replicate returns
    ``("busy", ...)`` at once), sets its row of ``replicates.tsv`` to ``running``, trains, then sets ``done``
    or ``failed``; each update is a locked read-change-write of the file.

    :meth:`checkpoint` makes SLURM jobs requeue themselves when they are preempted or reach their time
    limit (submitit's checkpointing): the requeued job calls the runner again, which resumes the replicate
    from its last epoch checkpoint (``split-<i>/tmp/checkpoint.pth.tar``) and skips its finished splits.

    Attributes
    ----------
    maps : Path
        The MAPS.
    train_fn : callable
        ``train_fn(parameters, maps_dir, seeds, *, resample_split, progress)``.
    shared : dict
        Parameters shared by the replicates.
    seeds : dict
        Replicate -> seed of every source.
    root_seed : int
    varied : tuple of str
        Sources varied across replicates.
    progress : bool
        Show the trainer's progress bars.
    """

    maps: Path
    train_fn: TrainFn
    shared: dict[str, Any]
    seeds: dict[int, dict[str, int]]
    root_seed: int
    varied: tuple[str, ...]
    progress: bool = False

    def __call__(self, replicate: int) -> tuple[str, str]:
        """Train ``replicate``; return ``(status, one-line error)``: ``done``, ``failed`` or ``busy``."""
        from clinicadl.training.slurm import limit_threads_to_allocation

        maps, r = Path(self.maps), int(replicate)
        with try_lock(jobs_dir(maps) / f"replicate-{r}.lock") as held:
            if not held:
                return "busy", f"replicate {r} is being trained by another process"
            limit_threads_to_allocation()
            update_replicates_tsv(maps, {r: ("running", "")})
            seeds = dict(self.seeds[r])
            parameters = replicate_parameters(self.shared, r, seeds, self.root_seed, self.varied)
            status, error = _train_one(self.train_fn, parameters, replicate_dir(maps, r), seeds,
                                       "split" in self.varied, self.progress)
            update_replicates_tsv(maps, {r: (status, error)})
            return status, error

    def checkpoint(self, replicate: int):
        """What a preempted or timed-out SLURM job requeues: this same call (training resumes from disk)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, replicate)


def _settle(maps: Path, job, unit: int | tuple[int, ...]) -> None:
    """Record the end of a job (one replicate, or a pack); a job that died without reporting is marked ``failed``."""
    pack = unit if isinstance(unit, tuple) else (unit,)
    try:
        result = job.result()
    except Exception as crash:  # the worker or the cluster job died (killed, cancelled, out of memory)
        error = f"the job ended abruptly ({one_line(crash)})"
        records = update_replicates_tsv(maps, {r: ("failed", error) for r in pack}, only_from=("running", "pending"))
        for r in pack:
            if (records[r].status, records[r].error) == ("failed", error):
                atomic_write_text(replicate_dir(maps, r) / ERROR_LOG, f"{error}\n")
            logger.info("Replicate %d of %s: %s", r, maps, error)
        return
    results = result if isinstance(unit, tuple) else {unit: result}
    for r, (status, error) in results.items():
        if status != "busy":
            update_replicates_tsv(maps, {r: (status, error)})
        logger.info("Replicate %d of %s: %s %s", r, maps, status, error)


def run_replicates(maps: Path, records: dict[int, ReplicateRecord], to_run: Sequence[int], *,
                   shared: Mapping[str, Any], root_seed: int, varied: tuple[str, ...], n_jobs: int,
                   train_fn: TrainFn, progress: bool, executor, wait: bool = True, pack: int = 1,
                   after_split=None) -> dict[int, ReplicateRecord]:
    """Train the replicates ``to_run`` and return the records of ``replicates.tsv`` afterwards.

    A local executor gets at most ``n_jobs`` replicates at once (a worker that dies then breaks only the
    replicates running beside it). A cluster executor (``records_jobs``) gets them all as one job array, whose
    job ids and logs are recorded in ``.jobs/replicate-<r>.json``; with ``wait=False`` this returns once they
    are submitted. With ``pack`` > 1, each job trains ``pack`` replicates together
    (:class:`~clinicadl.training.replicate_packs.PackRunner`, with ``after_split``; ``train_fn`` is not used).
    """
    from clinicadl.training.launcher import LocalExecutor, map_array, wait_first

    executor = LocalExecutor(n_jobs) if executor is None else executor
    cluster = bool(getattr(executor, "records_jobs", False))
    in_process = not cluster and getattr(executor, "n_jobs", 1) == 1
    seeds = {r: dict(records[r].seeds) for r in to_run}
    units: list = list(to_run)
    runner: Any = ReplicateRunner(maps, train_fn, dict(shared), seeds, root_seed, tuple(varied),
                                  progress and in_process)
    if pack > 1:
        from clinicadl.training.replicate_packs import PackRunner, packs

        runner = PackRunner(maps, dict(shared), seeds, root_seed, tuple(varied), progress and in_process, after_split)
        units = packs(list(to_run), pack)
    running: dict[Any, Any] = {}
    with executor:
        if cluster:
            for job, unit in zip(map_array(executor, runner, units), units):
                for r in unit if isinstance(unit, tuple) else (unit,):
                    write_job_record(maps, JobRecord(r, executor.launcher, job.job_id, str(job.log),
                                                     *_local_process(executor.launcher, job.job_id)))
                running[job] = unit
            logger.info("Submitted replicates %s of %s as jobs %s", list(to_run), maps,
                        ", ".join(job.job_id for job in running))
            if not wait:
                return read_replicates_tsv(maps)
        queue = [] if cluster else units
        while queue or running:
            while queue and len(running) < n_jobs:
                unit = queue.pop(0)
                logger.info("Training replicate(s) %s of %s", unit, maps)
                running[executor.submit(runner, unit)] = unit
            for job in wait_first(running):
                _settle(maps, job, running.pop(job))
    with exclusive_lock(jobs_dir(maps) / TSV_LOCK):
        return read_replicates_tsv(maps)


def _local_process(launcher: str, job_id: str) -> tuple[str, int | None]:
    """Host and pid of a submitit local job (its id is the pid of its controller process)."""
    import socket

    if launcher == "submitit_local" and job_id.isdigit():
        return socket.gethostname(), int(job_id)
    return "", None


def replicate_executor(maps: Path, executor, launcher: str, slurm: Any, n_jobs: int):
    """The given executor, or the launcher's; a cluster launcher is recorded in ``.jobs/launcher.json``."""
    if executor is not None:
        return executor
    from clinicadl.training.launcher import make_executor

    if launcher in ("local", "debug"):
        return make_executor(launcher, n_jobs=n_jobs)
    write_launcher(maps, {"launcher": launcher, "n_jobs": n_jobs, "slurm": slurm.to_dict()})
    return make_executor(launcher, jobs_dir(maps) / "logs", slurm, n_jobs=n_jobs)
