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

*Launchers.* Local workers (:class:`~clinicadl.training.launcher.LocalExecutor`) get at most ``n_jobs``
replicates at once. A cluster executor (``launcher="slurm"``) gets every replicate as one job array; the
job ids and logs are recorded in ``.jobs/replicate-<r>.json`` and the launcher in ``.jobs/launcher.json``
(see :mod:`clinicadl.training.jobs`, and ``clinicadl train status``).

*Failures.* A replicate that raises is marked ``failed`` and the others go on; at the end
:class:`ReplicatesFailedError` lists the failed ones. Finished replicates are kept, and
``clinicadl train resume MAPS`` (:func:`resume_maps`) retrains the failed, interrupted and pending ones,
each resuming from its own checkpoints.

*The ``seed`` key.* ClinicaDL 1.x records one ``seed`` that seeds everything. Each replicate's
``maps.json`` sets it to the seed of weight initialisation (``seeds["init"]``), the main use of the
upstream seed; the seed of every source is in ``seeds``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import ClinicaDLError, InputError, MAPSError, plain
from clinicadl.training.jobs import (
    JobRecord,
    exclusive_lock,
    job_state,
    jobs_dir,
    read_job_record,
    read_launcher,
    try_lock,
    write_job_record,
    write_launcher,
)
from clinicadl.training.seeds import DEFAULT_VARIED, SOURCES, check_sources, replicate_seeds

__all__ = [
    "ERROR_LOG",
    "REPLICATES_TSV",
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

logger = logging.getLogger(__name__)

REPLICATES_TSV = "replicates.tsv"
ERROR_LOG = "error.log"
LOCK_FILE = ".lock"
TSV_LOCK = "replicates.tsv.lock"
STATUSES: tuple[str, ...] = ("done", "running", "failed", "pending")
"""Statuses of a replicate in ``replicates.tsv``."""
TSV_COLUMNS: tuple[str, ...] = ("replicate", "status", *(f"seed_{source}" for source in SOURCES), "error")
"""Columns of ``replicates.tsv``, in order."""
RESERVED_KEYS: tuple[str, ...] = ("seed", "seeds", "replicate", "replicates", "root_seed", "varied_sources")
"""Keys of ``maps.json`` set by the procedure; values given for them in ``parameters`` are replaced."""

_MAX_ERROR_CHARS = 300

TrainFn = Callable[..., None]


@dataclass(frozen=True)
class ReplicateRecord:
    """One row of ``replicates.tsv``.

    Attributes
    ----------
    replicate : int
        Index of the replicate (folder ``replicate-<r>``).
    status : str
        One of :data:`STATUSES`.
    seeds : dict
        Seed of every source of variance (keys: :data:`~clinicadl.training.seeds.SOURCES`).
    error : str
        One-line error of a failed replicate, ``""`` otherwise.
    """

    replicate: int
    status: str
    seeds: dict[str, int]
    error: str = ""


@dataclass(frozen=True)
class ProcedureResult:
    """What :func:`train_procedure` or :func:`resume_maps` did.

    Attributes
    ----------
    maps_path : Path
        The MAPS folder.
    replicated : bool
        True for a MAPS with replicates (``replicates.tsv``), False for a plain 1.x MAPS (one run).
    statuses : dict
        Replicate index -> status (:data:`STATUSES`). A plain MAPS reports replicate 0.
    failed : dict
        Replicate index -> one-line error, for the replicates whose status is ``failed``.
    seeds : dict
        Replicate index -> seed of every source.
    root_seed : int or None
        Root seed of the seeds (None for a plain MAPS that did not record it).
    varied_sources : tuple of str
        Sources whose seed changes from one replicate to the next (empty for a plain MAPS).
    trained : tuple of int
        Replicates that this call trained or tried to train.
    """

    maps_path: Path
    replicated: bool
    statuses: dict[int, str]
    failed: dict[int, str] = field(default_factory=dict)
    seeds: dict[int, dict[str, int]] = field(default_factory=dict)
    root_seed: int | None = None
    varied_sources: tuple[str, ...] = ()
    trained: tuple[int, ...] = ()

    @property
    def n_done(self) -> int:
        """Number of finished replicates."""
        return sum(status == "done" for status in self.statuses.values())


class ReplicatesFailedError(ClinicaDLError):
    """Some replicates failed; the others are kept. ``result`` holds the :class:`ProcedureResult`."""

    def __init__(self, message: str, result: ProcedureResult):
        super().__init__(message)
        self.result = result


# --------------------------------------------------------------------------------------------------- files


def replicate_dir(maps: str | Path, replicate: int) -> Path:
    """Folder of one replicate: ``<maps>/replicate-<r>``."""
    return Path(maps) / f"replicate-{int(replicate)}"


def _one_line(error: BaseException) -> str:
    from clinicadl.errors import os_error_message

    if isinstance(error, OSError) and error.errno is not None:
        text = f"{type(error).__name__}: {os_error_message(error)}"
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    text = " ".join(text.split())  # newlines and tabs would break the TSV and the one-line message
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."


def _chosen_hyper_parameters(maps: Path, records: Mapping[int, ReplicateRecord]) -> dict[int, dict[str, Any]]:
    """Hyper-parameters selected by the search of each replicate (``--vary ...,hpo``), from its ``hpo.json``."""
    from clinicadl.training.hpo import SELECTED_JSON

    chosen = {}
    for r in records:
        path = replicate_dir(maps, r) / SELECTED_JSON
        if path.is_file():
            chosen[r] = dict(json.loads(path.read_text(encoding="utf-8")).get("values", {}))
    return chosen


def _format_tsv(records: Mapping[int, ReplicateRecord], maps: Path | None = None) -> str:
    """The TSV text; with a search of hyper-parameters, one ``hpo_<name>`` column per searched parameter."""
    chosen = _chosen_hyper_parameters(maps, records) if maps is not None else {}
    names = list(dict.fromkeys(name for values in chosen.values() for name in values))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow([*TSV_COLUMNS, *(f"hpo_{name}" for name in names)])
    for r in sorted(records):
        record = records[r]
        hpo = [chosen.get(r, {}).get(name, "") for name in names]
        writer.writerow([r, record.status, *(record.seeds[s] for s in SOURCES), record.error, *hpo])
    return buffer.getvalue()


def _write_tsv(maps: Path, records: Mapping[int, ReplicateRecord]) -> None:
    with exclusive_lock(jobs_dir(maps) / TSV_LOCK):
        atomic_write_text(maps / REPLICATES_TSV, _format_tsv(records, maps))


def _update_tsv(maps: Path, changes: Mapping[int, tuple[str, str]], *,
                only_from: Sequence[str] = STATUSES) -> dict[int, ReplicateRecord]:
    """Set ``(status, error)`` of some replicates in ``replicates.tsv``; return every record.

    The file is read, changed and written back (atomically) under an exclusive lock, so that jobs finishing at
    the same moment never lose each other's update. A replicate whose status is not in ``only_from`` is left
    as it is.
    """
    with exclusive_lock(jobs_dir(maps) / TSV_LOCK):
        records = read_replicates_tsv(maps)
        changed = False
        for r, (status, error) in changes.items():
            if r in records and records[r].status in only_from and (records[r].status, records[r].error) != (
                    status, error):
                records[r] = replace(records[r], status=status, error=error)
                changed = True
        if changed:
            atomic_write_text(maps / REPLICATES_TSV, _format_tsv(records, maps))
        return records


def read_replicates_tsv(maps: str | Path, *, count: int | None = None, root_seed: int | None = None,
                        varied: Sequence[str] = DEFAULT_VARIED) -> dict[int, ReplicateRecord]:
    """Read ``<maps>/replicates.tsv``: replicate index -> :class:`ReplicateRecord`.

    A ``seed_<source>`` column that is missing (a file written before that source existed) is derived
    from ``root_seed`` and ``varied``; without ``root_seed`` it is an error.

    Raises
    ------
    MAPSError
        If the file is missing or malformed, a status is unknown, or (with ``count``) the replicates
        are not exactly ``0..count-1``.
    """
    file = Path(maps) / REPLICATES_TSV
    if not file.is_file():
        raise MAPSError(f"{file} not found: a MAPS with replicates lists them in replicates.tsv.")
    fix = "restore it from a backup, or retrain with `clinicadl train ... --overwrite`"
    with open(file, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
        header = set(rows[0]) if rows else set()
    if not rows or not {"replicate", "status"} <= header:
        raise MAPSError(f"{file} has no 'replicate' and 'status' columns or no row; {fix}.")
    records: dict[int, ReplicateRecord] = {}
    for row in rows:
        try:
            r = int(row["replicate"])
            seeds = {}
            for source in SOURCES:
                value = row.get(f"seed_{source}")
                if value in (None, ""):
                    if root_seed is None:
                        raise ValueError(f"no seed_{source}")
                    value = replicate_seeds(root_seed, r, varied)[source]
                seeds[source] = int(value)
        except (TypeError, ValueError) as error:
            raise MAPSError(f"{file}: unreadable row {dict(row)} ({error}); {fix}.") from None
        status = (row["status"] or "").strip()
        if status not in STATUSES:
            raise MAPSError(f"{file}: replicate {r} has status {status!r}, expected one of {', '.join(STATUSES)}; "
                            f"{fix}.")
        if r in records:
            raise MAPSError(f"{file}: replicate {r} appears twice; {fix}.")
        records[r] = ReplicateRecord(r, status, seeds, (row.get("error") or "").strip())
    if count is not None and sorted(records) != list(range(count)):
        raise MAPSError(f"{file} lists replicates {sorted(records)}, but maps.json says there are {count} "
                        f"(0..{count - 1}); {fix}.")
    return records


@contextmanager
def _maps_lock(maps: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<maps>/.lock`` (no-op where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    path = maps / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MAPSError(f"{maps} is being trained by another clinicadl process (lock {path}); wait for it "
                            "to end or stop it first.") from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _check_not_locked(maps: Path) -> None:
    if (maps / LOCK_FILE).is_file():
        with _maps_lock(maps):
            pass


# --------------------------------------------------------------------------------------------------- inputs


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {plain(value)}.")
    return value


def _resolve_train_fn(train_fn: TrainFn | None) -> TrainFn:
    if train_fn is not None:
        if not callable(train_fn):
            raise InputError(f"train_fn must be callable, got {plain(train_fn)}.")
        return train_fn
    from clinicadl.training.trainer import train_replicate

    return train_replicate


def _shared_parameters(parameters: Any) -> dict[str, Any]:
    """The parameters without the keys the procedure sets; checked to be writable as JSON."""
    if not isinstance(parameters, Mapping):
        raise InputError(f"parameters must be a mapping of training parameters, got {type(parameters).__name__}.")
    from clinicadl.maps.results_io import to_jsonable

    shared = {str(key): value for key, value in parameters.items() if key not in RESERVED_KEYS}
    for key, value in shared.items():
        try:
            json.dumps(to_jsonable(value), allow_nan=False)
        except (TypeError, ValueError):
            raise InputError(f"Parameter {key!r} = {value!r} cannot be written to maps.json "
                             "(expected numbers, strings, paths, lists or mappings of them).") from None
    return shared


def _check_vary(vary: Sequence[str] | str | None) -> tuple[str, ...]:
    if vary is None:
        return DEFAULT_VARIED
    if isinstance(vary, str):
        vary = vary.split(",")
    return check_sources(vary)


def _prepare_output(output_maps: Path, overwrite: bool) -> None:
    """Refuse or remove an existing output folder (called after every other check)."""
    if output_maps.exists() and not output_maps.is_dir():
        raise MAPSError(f"{output_maps} exists and is not a folder; choose another output path for the MAPS.")
    if output_maps.is_dir() and any(output_maps.iterdir()):
        if not overwrite:
            raise MAPSError(f"{output_maps} already exists and is not empty; use --overwrite to replace it, or "
                            f"`clinicadl train resume {output_maps}` to finish an interrupted training.")
        resolved = output_maps.resolve()
        if resolved in (Path.cwd().resolve(), *Path.cwd().resolve().parents, Path.home().resolve()):
            raise MAPSError(f"Refusing to overwrite {output_maps}: it holds the current folder or is the home "
                            "folder; give the MAPS its own folder.")
        _check_not_locked(output_maps)
        shutil.rmtree(output_maps)


def _replicate_parameters(shared: Mapping[str, Any], replicate: int, seeds: Mapping[str, int], root_seed: int | None,
                          varied: Sequence[str] | None) -> dict[str, Any]:
    parameters = {**shared, "replicate": replicate, "seed": seeds["init"], "seeds": dict(seeds)}
    if root_seed is not None:
        parameters["root_seed"] = root_seed
    if varied is not None:
        parameters["varied_sources"] = list(varied)
    return parameters


# --------------------------------------------------------------------------------------------------- running


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
        return "failed", _one_line(error)
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
            _update_tsv(maps, {r: ("running", "")})
            seeds = dict(self.seeds[r])
            parameters = _replicate_parameters(self.shared, r, seeds, self.root_seed, self.varied)
            status, error = _train_one(self.train_fn, parameters, replicate_dir(maps, r), seeds,
                                       "split" in self.varied, self.progress)
            _update_tsv(maps, {r: (status, error)})
            return status, error

    def checkpoint(self, replicate: int):
        """What a preempted or timed-out SLURM job requeues: this same call (training resumes from disk)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, replicate)


def _settle(maps: Path, job, r: int) -> None:
    """Record the end of a replicate's job; a job that died without reporting is marked ``failed``."""
    try:
        status, error = job.result()
    except Exception as crash:  # the worker or the cluster job died (killed, cancelled, out of memory)
        error = f"the job ended abruptly ({_one_line(crash)})"
        records = _update_tsv(maps, {r: ("failed", error)}, only_from=("running", "pending"))
        if (records[r].status, records[r].error) == ("failed", error):
            atomic_write_text(replicate_dir(maps, r) / ERROR_LOG, f"{error}\n")
        logger.info("Replicate %d of %s: %s", r, maps, error)
        return
    if status != "busy":
        _update_tsv(maps, {r: (status, error)})
    logger.info("Replicate %d of %s: %s %s", r, maps, status, error)


def _run_replicates(maps: Path, records: dict[int, ReplicateRecord], to_run: Sequence[int], *,
                    shared: Mapping[str, Any], root_seed: int, varied: tuple[str, ...], n_jobs: int,
                    train_fn: TrainFn, progress: bool, executor, wait: bool = True) -> dict[int, ReplicateRecord]:
    """Train the replicates ``to_run`` and return the records of ``replicates.tsv`` afterwards.

    A local executor gets at most ``n_jobs`` replicates at once (a worker that dies then breaks only the
    replicates running beside it). A cluster executor (``records_jobs``) gets them all as one job array, whose
    job ids and logs are recorded in ``.jobs/replicate-<r>.json``; with ``wait=False`` this returns once they
    are submitted.
    """
    from clinicadl.training.launcher import LocalExecutor, map_array, wait_first

    executor = LocalExecutor(n_jobs) if executor is None else executor
    cluster = bool(getattr(executor, "records_jobs", False))
    in_process = not cluster and getattr(executor, "n_jobs", 1) == 1
    runner = ReplicateRunner(maps, train_fn, dict(shared), {r: dict(records[r].seeds) for r in to_run}, root_seed,
                             tuple(varied), progress and in_process)
    running: dict[Any, int] = {}
    with executor:
        if cluster:
            for job, r in zip(map_array(executor, runner, list(to_run)), to_run):
                write_job_record(maps, JobRecord(r, executor.launcher, job.job_id, str(job.log),
                                                 *_local_process(executor.launcher, job.job_id)))
                running[job] = r
            logger.info("Submitted replicates %s of %s as jobs %s", list(to_run), maps,
                        ", ".join(job.job_id for job in running))
            if not wait:
                return read_replicates_tsv(maps)
        queue = [] if cluster else list(to_run)
        while queue or running:
            while queue and len(running) < n_jobs:
                r = queue.pop(0)
                logger.info("Training replicate %d of %s", r, maps)
                running[executor.submit(runner, r)] = r
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


def _finish(maps: Path, records: Mapping[int, ReplicateRecord], *, root_seed: int, varied: tuple[str, ...],
            trained: Sequence[int], submitted: bool = False) -> ProcedureResult:
    result = ProcedureResult(
        maps_path=maps,
        replicated=True,
        statuses={r: records[r].status for r in sorted(records)},
        failed={r: records[r].error for r in sorted(records) if records[r].status == "failed"},
        seeds={r: dict(records[r].seeds) for r in sorted(records)},
        root_seed=root_seed,
        varied_sources=varied,
        trained=tuple(trained),
    )
    if result.failed and not submitted:
        listed = "; ".join(f"{r}: {error}" for r, error in result.failed.items())
        raise ReplicatesFailedError(
            f"{len(result.failed)} of {len(records)} replicates failed ({listed}); the {result.n_done} finished "
            f"ones are kept. Tracebacks are in {maps}/replicate-<r>/{ERROR_LOG}; retry with "
            f"`clinicadl train resume {maps}`.",
            result,
        )
    return result


# --------------------------------------------------------------------------------------------------- public


def train_procedure(parameters: Mapping[str, Any], output_maps: str | Path, *, replicates: int | None,
                    root_seed: int, vary: Sequence[str] | str | None = None, n_jobs: int = 1,
                    overwrite: bool = False, train_fn: TrainFn | None = None, progress: bool = True,
                    executor=None, launcher: str = "local", slurm: Mapping[str, Any] | None = None,
                    wait: bool = True) -> ProcedureResult:
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
    shared = _shared_parameters(parameters)
    if replicates is not None:
        _check_int("The number of replicates", replicates, 1)
    root_seed = _check_int("The root seed", root_seed, 0)
    varied = _check_vary(vary)
    n_jobs = _check_int("n_jobs", n_jobs, 1)
    train_fn = _resolve_train_fn(train_fn)
    slurm = _check_launcher(launcher, slurm, replicated=replicates is not None, executor=executor)
    output_maps = Path(output_maps)
    _prepare_output(output_maps, overwrite)

    if replicates is None:  # one run, upstream behaviour: a plain 1.x MAPS
        seeds = replicate_seeds(root_seed, 0, varied)
        params = _replicate_parameters(shared, 0, seeds, root_seed, None)
        train_fn(params, output_maps, dict(seeds), resample_split=False, progress=progress)
        return ProcedureResult(output_maps, replicated=False, statuses={0: "done"}, seeds={0: seeds},
                               root_seed=root_seed, trained=(0,))

    output_maps.mkdir(parents=True, exist_ok=True)
    with _maps_lock(output_maps):
        records = {r: ReplicateRecord(r, "pending", replicate_seeds(root_seed, r, varied)) for r in range(replicates)}
        _write_root_json(output_maps, shared, replicates, root_seed, varied)  # first: resume needs it
        _write_tsv(output_maps, records)
        executor = _executor(output_maps, executor, launcher, slurm, n_jobs)
        records = _run_replicates(output_maps, records, list(records), shared=shared, root_seed=root_seed,
                                  varied=varied, n_jobs=n_jobs, train_fn=train_fn, progress=progress,
                                  executor=executor, wait=wait)
        return _finish(output_maps, records, root_seed=root_seed, varied=varied, trained=list(records),
                       submitted=not wait and bool(getattr(executor, "records_jobs", False)))


def _check_launcher(launcher: str, slurm: Any, *, replicated: bool, executor) -> Any:
    """Validated SLURM options (None for a local launcher); a cluster launcher needs replicates."""
    from clinicadl.training.launcher import check_launcher

    options = check_launcher(launcher, slurm)
    if executor is None and launcher not in ("local", "debug") and not replicated:
        raise InputError(f"The {launcher} launcher runs replicates: add --replicates R (R >= 1, e.g. "
                         "--replicates 1 for one run).")
    return options


def _executor(maps: Path, executor, launcher: str, slurm: Any, n_jobs: int):
    """The given executor, or the launcher's; a cluster launcher is recorded in ``.jobs/launcher.json``."""
    if executor is not None:
        return executor
    from clinicadl.training.launcher import make_executor

    if launcher in ("local", "debug"):
        return make_executor(launcher, n_jobs=n_jobs)
    write_launcher(maps, {"launcher": launcher, "n_jobs": n_jobs, "slurm": slurm.to_dict()})
    return make_executor(launcher, jobs_dir(maps) / "logs", slurm, n_jobs=n_jobs)


def _write_root_json(maps: Path, shared: Mapping[str, Any], count: int, root_seed: int,
                     varied: Sequence[str]) -> None:
    from clinicadl.maps.maps_json import write_maps_json

    block = {"count": count, "root_seed": root_seed, "varied_sources": list(varied)}
    write_maps_json(maps, {**shared, "replicates": block})


def _read_replicates_block(maps: Path, parameters: Mapping[str, Any]) -> tuple[int, int, tuple[str, ...]]:
    block = parameters["replicates"]
    file = maps / "maps.json"
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
        raise MAPSError(f"{maps / 'maps.json'} records no seed of every source ('seeds'): this MAPS was not "
                        "trained by this version of clinicadl and cannot be resumed; train it again.") from None


def resume_maps(maps: str | Path, *, n_jobs: int | None = None, retry_failed: bool = True,
                train_fn: TrainFn | None = None, progress: bool = True, executor=None, launcher: str | None = None,
                slurm: Mapping[str, Any] | None = None, wait: bool = True,
                splits: Sequence[int] | None = None) -> ProcedureResult:
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
    train_fn, progress, executor, wait
        As in :func:`train_procedure`.
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
    from clinicadl.maps.maps_json import read_maps_json

    maps = Path(maps)
    if not maps.is_dir():
        raise MAPSError(f"MAPS folder {maps} does not exist or is not a folder; give the output folder of "
                        "`clinicadl train`.")
    if train_fn is None and (maps / "maps.json").is_file():
        from clinicadl.training.hpo import search_train_fn

        train_fn = search_train_fn(read_maps_json(maps))  # None without a search of hyper-parameters
    train_fn = _resolve_train_fn(train_fn)
    recorded = read_launcher(maps) if executor is None else None
    if recorded is not None and launcher in (None, recorded["launcher"]):  # given options override recorded ones
        launcher = recorded["launcher"]
        given = slurm.to_dict() if hasattr(slurm, "to_dict") else dict(slurm or {})
        slurm = {**(recorded.get("slurm") or {}), **given}
        n_jobs = recorded.get("n_jobs", 1) if n_jobs is None else n_jobs
    launcher = launcher or "local"
    n_jobs = _check_int("n_jobs", 1 if n_jobs is None else n_jobs, 1)
    parameters = read_maps_json(maps)
    if splits:
        if "replicates" in parameters:
            raise InputError(f"{maps} holds replicates, which are resumed whole (a replicate is done when all its "
                             "splits are); remove --split.")
        parameters["split"] = sorted({int(split) for split in splits})
    slurm = _check_launcher(launcher, slurm, replicated="replicates" in parameters, executor=executor)
    if "replicates" not in parameters:
        if (maps / REPLICATES_TSV).is_file():
            raise MAPSError(f"{maps / 'maps.json'} has no 'replicates' entry but {REPLICATES_TSV} exists; restore "
                            "maps.json from a backup.")
        seeds = _recorded_seeds(maps, parameters)
        train_fn(parameters, maps, seeds, resample_split=False, progress=progress)
        root_seed = parameters.get("root_seed")
        return ProcedureResult(maps, replicated=False, statuses={0: "done"}, seeds={0: seeds},
                               root_seed=int(root_seed) if root_seed is not None else None, trained=(0,))

    count, root_seed, varied = _read_replicates_block(maps, parameters)
    shared = {key: value for key, value in parameters.items() if key not in RESERVED_KEYS}
    with _maps_lock(maps):
        if (maps / REPLICATES_TSV).is_file():
            records = read_replicates_tsv(maps, count=count, root_seed=root_seed, varied=varied)
        else:  # interrupted right after maps.json was written
            records = {r: ReplicateRecord(r, "pending", replicate_seeds(root_seed, r, varied)) for r in range(count)}
        wanted = ("running", "pending", "failed") if retry_failed else ("running", "pending")
        records = _check_done_on_disk(maps, records)
        to_run = [r for r in sorted(records) if records[r].status in wanted and not _job_alive(maps, r)]
        if to_run:
            executor = _executor(maps, executor, launcher, slurm, n_jobs)
            records = _run_replicates(maps, records, to_run, shared=shared, root_seed=root_seed, varied=varied,
                                      n_jobs=n_jobs, train_fn=train_fn, progress=progress, executor=executor,
                                      wait=wait)
        return _finish(maps, records, root_seed=root_seed, varied=varied, trained=to_run,
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
    return _update_tsv(maps, changes, only_from=("done",))


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
