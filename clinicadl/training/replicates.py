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
``maps.json`` and ``replicates.tsv`` (atomically: temporary file + rename); workers only write into
their own ``replicate-<r>/`` and report their status back. An advisory lock on ``<maps>/.lock``
(``fcntl.flock``, released by the kernel when the process dies, even by ``kill -9``) stops a second
process from training the same MAPS at once.

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
from clinicadl.errors import ClinicaDLError, InputError, MAPSError
from clinicadl.training.seeds import DEFAULT_VARIED, SOURCES, check_sources, replicate_seeds

__all__ = [
    "ERROR_LOG",
    "REPLICATES_TSV",
    "STATUSES",
    "TSV_COLUMNS",
    "ProcedureResult",
    "ReplicateRecord",
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
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    text = " ".join(text.split())  # newlines and tabs would break the TSV and the one-line message
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."


def _format_tsv(records: Mapping[int, ReplicateRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(TSV_COLUMNS)
    for r in sorted(records):
        record = records[r]
        writer.writerow([r, record.status, *(record.seeds[s] for s in SOURCES), record.error])
    return buffer.getvalue()


def _write_tsv(maps: Path, records: Mapping[int, ReplicateRecord]) -> None:
    atomic_write_text(maps / REPLICATES_TSV, _format_tsv(records))


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
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return value


def _resolve_train_fn(train_fn: TrainFn | None) -> TrainFn:
    if train_fn is not None:
        if not callable(train_fn):
            raise InputError(f"train_fn must be callable, got {train_fn!r}.")
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
        atomic_write_text(log, traceback.format_exc())
        return "failed", _one_line(error)
    log.unlink(missing_ok=True)  # a stale log of an earlier failure
    return "done", ""


def _run_replicates(maps: Path, records: dict[int, ReplicateRecord], to_run: Sequence[int], *,
                    shared: Mapping[str, Any], root_seed: int, varied: tuple[str, ...], n_jobs: int,
                    train_fn: TrainFn, progress: bool, executor) -> None:
    """Train the replicates ``to_run``, at most ``n_jobs`` at once, updating ``records`` and the TSV."""
    from clinicadl.training.launcher import LocalExecutor, wait_first

    executor = LocalExecutor(n_jobs) if executor is None else executor
    resample_split = "split" in varied
    queue = list(to_run)
    running: dict[Any, int] = {}
    with executor:
        while queue or running:
            while queue and len(running) < n_jobs:
                r = queue.pop(0)
                records[r] = replace(records[r], status="running", error="")
                _write_tsv(maps, records)
                parameters = _replicate_parameters(shared, r, records[r].seeds, root_seed, varied)
                logger.info("Training replicate %d of %s", r, maps)
                job = executor.submit(_train_one, train_fn, parameters, replicate_dir(maps, r),
                                      dict(records[r].seeds), resample_split, progress and n_jobs == 1)
                running[job] = r
            for job in wait_first(running):
                r = running.pop(job)
                try:
                    status, error = job.result()
                except Exception as crash:  # the worker itself died (killed, out of memory)
                    status, error = "failed", f"the worker process ended abruptly ({_one_line(crash)})"
                    atomic_write_text(replicate_dir(maps, r) / ERROR_LOG, f"{error}\n")
                records[r] = replace(records[r], status=status, error=error)
                _write_tsv(maps, records)
                logger.info("Replicate %d of %s: %s %s", r, maps, status, error)


def _finish(maps: Path, records: Mapping[int, ReplicateRecord], *, root_seed: int, varied: tuple[str, ...],
            trained: Sequence[int]) -> ProcedureResult:
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
    if result.failed:
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
                    executor=None) -> ProcedureResult:
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
        An executor with ``submit`` and ``shutdown`` (:mod:`clinicadl.training.launcher`); default
        ``LocalExecutor(n_jobs)``. At most ``n_jobs`` replicates are submitted at once.

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
        _run_replicates(output_maps, records, list(records), shared=shared, root_seed=root_seed, varied=varied,
                        n_jobs=n_jobs, train_fn=train_fn, progress=progress, executor=executor)
        return _finish(output_maps, records, root_seed=root_seed, varied=varied, trained=list(records))


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


def resume_maps(maps: str | Path, *, n_jobs: int = 1, retry_failed: bool = True, train_fn: TrainFn | None = None,
                progress: bool = True, executor=None) -> ProcedureResult:
    """Finish an interrupted or partly failed training: ``clinicadl train resume MAPS``.

    Replicates marked ``done`` in ``replicates.tsv`` are never touched. The others (``running``:
    interrupted; ``pending``; ``failed`` when ``retry_failed``) are trained again by ``train_fn``,
    which skips their finished splits and resumes the interrupted one from its checkpoint. A plain
    1.x MAPS (no ``replicates.tsv``) is resumed as one replicate with the seeds its ``maps.json``
    records.

    Parameters
    ----------
    maps : str or Path
        The MAPS folder.
    n_jobs : int
        Replicates trained at once.
    retry_failed : bool
        Retrain the ``failed`` replicates too (default); if False they stay failed.
    train_fn, progress, executor
        As in :func:`train_procedure`.

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
    n_jobs = _check_int("n_jobs", n_jobs, 1)
    train_fn = _resolve_train_fn(train_fn)
    if not maps.is_dir():
        raise MAPSError(f"MAPS folder {maps} does not exist or is not a folder; give the output folder of "
                        "`clinicadl train`.")
    parameters = read_maps_json(maps)
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
        to_run = [r for r in sorted(records) if records[r].status in wanted]
        if to_run:
            _run_replicates(maps, records, to_run, shared=shared, root_seed=root_seed, varied=varied, n_jobs=n_jobs,
                            train_fn=train_fn, progress=progress, executor=executor)
        return _finish(maps, records, root_seed=root_seed, varied=varied, trained=to_run)
