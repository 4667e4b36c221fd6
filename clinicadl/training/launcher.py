"""Launchers: run callables somewhere and get their results back, with one Executor/Job API.

The API follows submitit (``executor.submit(fn, *args, **kwargs) -> job``; ``job.result()``,
``job.done()``, ``job.exception()``) so that a SLURM executor plugs in beside the local ones:

- :class:`DebugExecutor` runs each callable in the current process, at submission (tests, debugging
  with ``pdb``, tracebacks as they are).
- :class:`LocalExecutor` runs callables in ``n_jobs`` worker processes; with ``n_jobs=1`` it runs
  them in the current process, like :class:`DebugExecutor`.
- :class:`~clinicadl.training.slurm.SubmititExecutor` submits them as SLURM jobs (through submitit).

:func:`make_executor` builds one of them by name (``--launcher``), and :func:`map_array` runs one
callable over many items (one SLURM job array), whatever the executor: the entry point of every
scale-out (replicates, predictions of replicates, simulations).

Notes
-----
Worker processes are started with the ``spawn`` method by default. ``fork`` copies a process whose
threads (torch's intra-op pool, OpenMP, data-loader threads) may hold locks that are never released
in the child, which can deadlock; ``spawn`` starts clean interpreters. The price is that the callable
and its arguments are pickled by reference: they must be importable by module name (a module-level
function, not a lambda or a function defined in ``__main__`` of an interactive session). Pass
``start_method="fork"`` or ``"forkserver"`` to choose otherwise.

Workers die with the process that started them: on Linux each asks the kernel for ``SIGKILL`` when
its parent ends (``prctl(PR_SET_PDEATHSIG)``), so a ``kill -9`` of ``clinicadl train`` does not leave
orphaned workers writing into a MAPS that ``clinicadl train resume`` is about to finish.

Each worker limits the threads of its numerical libraries to ``max(1, cores // n_jobs)`` so that
``n_jobs`` trainings do not oversubscribe the CPU: ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` are
set before anything imports torch (torch then starts with that many intra-op threads), and
``torch.set_num_threads`` is called as well when torch is already imported. ``cores`` counts the
CPUs this process may run on (``os.sched_getaffinity``), which honours ``taskset`` and cgroups
cpusets (e.g. a SLURM allocation).

Examples
--------
>>> executor = DebugExecutor()
>>> job = executor.submit(divmod, 7, 2)
>>> job.done(), job.result()
(True, (3, 1))
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from clinicadl.errors import InputError, plain

__all__ = [
    "LAUNCHERS",
    "DebugExecutor",
    "Job",
    "LocalExecutor",
    "available_cores",
    "check_launcher",
    "gather",
    "make_executor",
    "map_array",
    "threads_per_job",
    "wait_first",
]

LAUNCHERS: tuple[str, ...] = ("local", "slurm")
"""Launchers of the command line (``--launcher``); :func:`make_executor` also knows ``debug`` and ``submitit_local``."""
_KINDS = (*LAUNCHERS, "debug", "submitit_local")

_START_METHODS = ("spawn", "forkserver", "fork")
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
_ids = itertools.count()


def available_cores() -> int:
    """Number of CPUs this process may run on (affinity mask when the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def threads_per_job(n_jobs: int) -> int:
    """Threads given to each of ``n_jobs`` concurrent jobs: ``max(1, cores // n_jobs)``."""
    return max(1, available_cores() // max(1, n_jobs))


def _initialize_worker(n_threads: int, parent_pid: int | None) -> None:
    """Worker initialiser: die with the parent process, limit threads to ``n_threads`` (see the module notes)."""
    from clinicadl.worker_process import die_with_parent

    die_with_parent(parent_pid)
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(n_threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n_threads)


class Job:
    """A submitted call: its result, exception and state. Wraps a :class:`concurrent.futures.Future`.

    Attributes
    ----------
    job_id : str
        Identifier, unique in this process (``"local-<n>"`` or ``"debug-<n>"``).
    """

    def __init__(self, future: cf.Future, job_id: str):
        self._future = future
        self.job_id = job_id

    def done(self) -> bool:
        """True when the call has finished (returned or raised) or was cancelled."""
        return self._future.done()

    def result(self, timeout: float | None = None) -> Any:
        """The value returned by the call; re-raises its exception. Waits at most ``timeout`` seconds."""
        return self._future.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The exception raised by the call, None if it returned. Waits at most ``timeout`` seconds."""
        return self._future.exception(timeout)

    def cancel(self) -> bool:
        """Cancel the call if it has not started; True if it was cancelled."""
        return self._future.cancel()

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"{type(self).__name__}({self.job_id!r}, {state})"


def _run_now(fn: Callable, args: tuple, kwargs: dict, job_id: str) -> Job:
    future: cf.Future = cf.Future()
    future.set_running_or_notify_cancel()
    try:
        future.set_result(fn(*args, **kwargs))
    except Exception as error:  # reported through the job, like a worker's exception
        future.set_exception(error)
    return Job(future, job_id)


class DebugExecutor:
    """Run each submitted callable at once, in the current process.

    Exceptions are kept in the job (``job.exception()``) and re-raised by ``job.result()``, as with
    the other executors; ``KeyboardInterrupt`` and ``SystemExit`` propagate immediately.
    """

    n_jobs = 1
    records_jobs = False

    def submit(self, fn: Callable, /, *args, **kwargs) -> Job:
        """Run ``fn(*args, **kwargs)`` now and return its finished :class:`Job`."""
        return _run_now(fn, args, kwargs, f"debug-{next(_ids)}")

    def shutdown(self, wait: bool = True, *, cancel: bool = False) -> None:
        """Nothing to release."""

    def __enter__(self) -> DebugExecutor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()


class LocalExecutor:
    """Run submitted callables in ``n_jobs`` local worker processes (in-process when ``n_jobs == 1``).

    Parameters
    ----------
    n_jobs : int
        Number of calls run at once (>= 1).
    start_method : {"spawn", "forkserver", "fork"}
        How worker processes start (default ``"spawn"``; see the module notes).
    n_threads : int, optional
        Threads of the numerical libraries in each worker; default ``max(1, cores // n_jobs)``.

    Notes
    -----
    Calls beyond ``n_jobs`` wait in a queue. If a worker dies abruptly (killed, out of memory), its
    job and those running beside it end with :class:`concurrent.futures.process.BrokenProcessPool`
    and the next :meth:`submit` starts a fresh pool.
    """

    records_jobs = False

    def __init__(self, n_jobs: int = 1, *, start_method: str = "spawn", n_threads: int | None = None):
        if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1:
            raise InputError(f"n_jobs must be a positive integer, got {plain(n_jobs)}.")
        if start_method not in _START_METHODS:
            raise InputError(f"Unknown start method {start_method!r}; choose among {', '.join(_START_METHODS)}.")
        self.n_jobs = n_jobs
        self.start_method = start_method
        self.n_threads = threads_per_job(n_jobs) if n_threads is None else max(1, int(n_threads))
        self._pool: cf.ProcessPoolExecutor | None = None

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.n_jobs,
            mp_context=multiprocessing.get_context(self.start_method),
            initializer=_initialize_worker,
            initargs=(self.n_threads, None if self.start_method == "forkserver" else os.getpid()),
        )

    def submit(self, fn: Callable, /, *args, **kwargs) -> Job:
        """Submit ``fn(*args, **kwargs)``; run it now when ``n_jobs == 1``, else in a worker process."""
        job_id = f"local-{next(_ids)}"
        if self.n_jobs == 1:
            return _run_now(fn, args, kwargs, job_id)
        if self._pool is None:
            self._pool = self._new_pool()
        try:
            future = self._pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:  # a worker died earlier: start again with a fresh pool
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            future = self._pool.submit(fn, *args, **kwargs)
        return Job(future, job_id)

    def shutdown(self, wait: bool = True, *, cancel: bool = False) -> None:
        """Stop the workers once their calls end (``cancel=True`` drops calls not yet started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel)
            self._pool = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        # On an error or Ctrl-C, do not start queued calls; running ones are waited for.
        self.shutdown(wait=True, cancel=exc_type is not None)


def wait_first(jobs: Iterable[Job], *, timeout: float | None = None, poll_interval: float = 1.0) -> set[Job]:
    """Wait until at least one of ``jobs`` is done and return the finished ones (empty on timeout).

    Jobs backed by a future are waited for without polling; other jobs (a cluster executor's) are
    polled every ``poll_interval`` seconds through ``job.done()``.
    """
    jobs = list(jobs)
    if not jobs:
        return set()
    if all(isinstance(getattr(job, "_future", None), cf.Future) for job in jobs):
        by_future = {job._future: job for job in jobs}
        finished, _ = cf.wait(by_future, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return {by_future[future] for future in finished}
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        finished = {job for job in jobs if job.done()}
        if finished or (deadline is not None and time.monotonic() >= deadline):
            return finished
        time.sleep(poll_interval)


def make_executor(kind: str = "local", folder: str | Path | None = None, options: Mapping[str, Any] | None = None, *,
                  n_jobs: int = 1):
    """An executor by name: where the jobs of a scale-out run.

    Parameters
    ----------
    kind : {"local", "slurm", "debug", "submitit_local"}
        ``local``: :class:`LocalExecutor` (``n_jobs`` worker processes); ``slurm``: one SLURM job per call
        (:class:`~clinicadl.training.slurm.SubmititExecutor`); ``debug``: :class:`DebugExecutor`;
        ``submitit_local``: submitit's local processes with SLURM's life cycle (tests, benchmarks).
    folder : path, optional
        Where submitit writes its pickles and the job logs (required by ``slurm`` and ``submitit_local``).
    options : mapping or SlurmOptions, optional
        SLURM options (:class:`~clinicadl.training.slurm.SlurmOptions`: partition, account, qos, time,
        gpus_per_task, cpus_per_task, mem_gb, sbatch, setup); refused for the other kinds.
    n_jobs : int
        Calls run at once (local workers; jobs of a SLURM array running together).

    Returns
    -------
    executor
        With ``submit(fn, *args, **kwargs) -> job``, ``shutdown()``, and a context manager.

    Raises
    ------
    InputError
        Unknown kind, ``n_jobs < 1``, a missing folder, SLURM options for a local executor, or invalid options.

    Examples
    --------
    >>> executor = make_executor("debug")
    >>> [job.result() for job in map_array(executor, abs, [-1, 2, -3])]
    [1, 2, 3]
    """
    options = check_launcher(kind, options)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise InputError(f"n_jobs must be a positive integer, got {plain(n_jobs)}.")
    if kind in ("local", "debug"):
        return DebugExecutor() if kind == "debug" else LocalExecutor(n_jobs)
    if folder is None:
        raise InputError(f"The {kind} launcher needs a folder for its job files and logs.")
    from clinicadl.training.slurm import SubmititExecutor

    return SubmititExecutor(folder, options, n_jobs=n_jobs, cluster="slurm" if kind == "slurm" else "local")


def check_launcher(kind: str, options: Mapping[str, Any] | Any = None):
    """Check a launcher name and its SLURM options; return the options (``SlurmOptions``, or None for local kinds).

    Raises
    ------
    InputError
        Unknown kind, SLURM options given to a local launcher, or invalid SLURM options.
    """
    if kind not in _KINDS:
        raise InputError(f"Unknown launcher {kind!r}; choose among {', '.join(_KINDS)}.")
    if kind in ("local", "debug"):
        if options is not None and not isinstance(options, Mapping):
            options = options.to_dict() if options != type(options)() else {}
        given = sorted(key for key, value in dict(options or {}).items() if value not in (None, (), []))
        if given:
            raise InputError(f"SLURM option(s) {', '.join(given)} need --launcher slurm (the launcher is {kind}).")
        return None
    from clinicadl.training.slurm import SlurmOptions

    return options if isinstance(options, SlurmOptions) else SlurmOptions.from_mapping(options)


def map_array(executor, fn: Callable, items: Iterable[Any]) -> list:
    """Submit ``fn(item)`` for every item; one job array on SLURM. Jobs come back in the order of ``items``.

    ``fn`` may be a callable object with a ``checkpoint(item)`` method returning
    ``submitit.helpers.DelayedSubmission``: a SLURM job that is preempted or reaches its time limit then
    calls it and is requeued with what it returns (see submitit's checkpointing).
    """
    if hasattr(executor, "map_array"):
        return executor.map_array(fn, items)
    return [executor.submit(fn, item) for item in items]


def gather(jobs: Iterable[Job], *, poll_interval: float = 1.0) -> list[Any]:
    """Results of ``jobs`` in their order, waiting for all; the first exception (in job order) is raised."""
    jobs = list(jobs)
    pending = set(jobs)
    while pending:
        pending -= wait_first(pending, poll_interval=poll_interval)
    return [job.result() for job in jobs]
