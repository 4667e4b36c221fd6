"""SLURM through submitit: validated job options, an Executor/Job pair with the API of :mod:`.launcher`.

:class:`SlurmOptions` holds what a user sets on the command line or in the ``[Launcher]`` TOML section
(partition, account, qos, time, GPUs and CPUs per task, memory, extra ``#SBATCH`` lines, setup lines).
:class:`SubmititExecutor` wraps a submitit executor (SLURM, or submitit's local one for tests) so that its
jobs answer ``done()``, ``result()`` and ``exception()`` like those of :class:`~.launcher.LocalExecutor`,
and submits lists of calls as one job array (:meth:`SubmititExecutor.map_array`).

Notes
-----
submitit decides whether a SLURM job ended by asking ``sacct``, which fails where accounting is off (small
clusters, tests): a job cancelled with ``scancel`` would then be waited for forever. :class:`SubmititJob`
asks ``squeue`` instead: a job is over when its result file exists, or when ``squeue`` no longer lists it
(or lists it in a final state). A job that was requeued (preemption, time limit) is listed again as pending,
so it is waited for.

submitit is imported only when an executor is made: ``clinicadl --help`` never imports it.

Examples
--------
>>> options = SlurmOptions.from_mapping({"partition": "gpu", "time": "2:00:00", "gpus_per_task": 1,
...                                     "sbatch": ["--constraint=v100"]})
>>> options.time, options.additional_parameters()
(120, {'constraint': 'v100'})
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from clinicadl.errors import ClinicaDLError, InputError

__all__ = [
    "FINAL_STATES",
    "JobEndedError",
    "SlurmOptions",
    "SubmititExecutor",
    "SubmititJob",
    "limit_threads_to_allocation",
    "slurm_state",
]

FINAL_STATES = frozenset({"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY",
                          "PREEMPTED", "TIMEOUT", "SPECIAL_EXIT"})
"""SLURM job states after which the job will not run again (unless requeued, which lists it as pending)."""

_TIME = re.compile(r"^(?:(?P<days>\d+)-)?(?P<a>\d+)(?::(?P<b>\d+))?(?::(?P<c>\d+))?$")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_SQUEUE_INTERVAL_S = 2.0


class JobEndedError(ClinicaDLError):
    """A cluster job ended without a result (cancelled, killed, out of memory, node failure)."""


def _parse_time(value: Any) -> int:
    """Minutes of a SLURM time limit: ``90``, ``"90"``, ``"1:30:00"``, ``"2-00:00:00"`` (days-hours:min:s)."""
    if isinstance(value, int) and not isinstance(value, bool):
        minutes = value
    else:
        match = _TIME.match(str(value).strip())
        if not match:
            raise InputError(f"Invalid SLURM time {value!r}; give minutes (90) or [D-]HH:MM:SS (1:30:00).")
        days, a, b, c = (int(match[k]) if match[k] else None for k in ("days", "a", "b", "c"))
        if b is None:  # minutes, or days-hours
            minutes = a * 60 if days is not None else a
        elif c is None:  # MM:SS, or days-HH:MM
            minutes = a * 60 + b if days is not None else a + (b > 0)
        else:  # HH:MM:SS
            minutes = a * 60 + b + (c > 0)
        minutes += (days or 0) * 24 * 60
    if minutes < 1:
        raise InputError(f"SLURM time {value!r} must be at least one minute.")
    return minutes


def _parse_sbatch_line(line: str) -> tuple[str, Any]:
    text = str(line).strip()
    text = text.removeprefix("#SBATCH").strip().lstrip("-")
    key, _, value = text.partition("=")
    key = key.strip()
    if not _KEY.match(key) or (text.count("=") and not value.strip()):
        raise InputError(f"Invalid extra sbatch line {line!r}; write it as --key=value or --flag (e.g. "
                         "--constraint=v100).")
    return key.replace("_", "-"), value.strip() if "=" in text else True


@dataclass(frozen=True)
class SlurmOptions:
    """Resources and scheduling options of each SLURM job (one job per replicate, simulation, ...).

    Attributes
    ----------
    partition, account, qos : str or None
        ``--partition``, ``--account``, ``--qos`` (None: the cluster's default).
    time : int
        Time limit of each job, in minutes (``--time``). A job that reaches it is requeued and resumes
        from its checkpoint (at most 3 times).
    gpus_per_task : int or None
        ``--gpus-per-task`` (None: no GPU requested).
    cpus_per_task : int
        ``--cpus-per-task``; the job's numerical libraries use that many threads.
    mem_gb : float or None
        Memory of each job in GB (``--mem``; None: the cluster's default, often the whole node).
    sbatch : tuple of str
        Further ``#SBATCH`` lines, as ``--key=value`` or ``--flag`` (e.g. ``--constraint=v100``).
    setup : tuple of str
        Shell lines run before each job (e.g. ``module load cuda``).
    """

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: int = 60
    gpus_per_task: int | None = None
    cpus_per_task: int = 1
    mem_gb: float | None = None
    sbatch: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> SlurmOptions:
        """Validated options from a mapping (TOML section, command-line options); None values are ignored.

        Raises
        ------
        InputError
            For an unknown key (the known ones are listed) or an invalid value.
        """
        values = {key: value for key, value in dict(values or {}).items() if value is not None}
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InputError(f"Unknown SLURM option(s) {', '.join(unknown)}; the options are {', '.join(known)}.")
        clean: dict[str, Any] = {}
        for key in ("partition", "account", "qos"):
            if key in values:
                if not isinstance(values[key], str) or not values[key].strip():
                    raise InputError(f"SLURM {key} must be a non-empty name, got {values[key]!r}.")
                clean[key] = values[key].strip()
        if "time" in values:
            clean["time"] = _parse_time(values["time"])
        for key, minimum in (("gpus_per_task", 0), ("cpus_per_task", 1)):
            if key in values:
                value = values[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                    raise InputError(f"SLURM {key} must be an integer >= {minimum}, got {value!r}.")
                clean[key] = value
        if clean.get("gpus_per_task") == 0:
            clean["gpus_per_task"] = None
        if "mem_gb" in values:
            value = values["mem_gb"]
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InputError(f"SLURM mem_gb must be a positive number of GB, got {value!r}.")
            clean["mem_gb"] = float(value)
        for key in ("sbatch", "setup"):
            if key in values:
                lines = [values[key]] if isinstance(values[key], str) else values[key]
                if not isinstance(lines, Sequence) or not all(isinstance(line, str) for line in lines):
                    raise InputError(f"SLURM {key} must be a list of strings, got {values[key]!r}.")
                clean[key] = tuple(lines)
        options = cls(**clean)
        options.additional_parameters()  # checks the sbatch lines
        return options

    def additional_parameters(self) -> dict[str, Any]:
        """The extra ``#SBATCH`` lines as submitit's ``additional_parameters``."""
        return dict(_parse_sbatch_line(line) for line in self.sbatch)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content (lists for tuples); :meth:`from_mapping` reads it back."""
        return {f.name: list(getattr(self, f.name)) if isinstance(getattr(self, f.name), tuple)
                else getattr(self, f.name) for f in fields(self)}

    def submitit_parameters(self, *, n_jobs: int, job_name: str = "clinicadl") -> dict[str, Any]:
        """Parameters of ``submitit.SlurmExecutor.update_parameters``; ``n_jobs`` jobs of an array run at once."""
        parameters: dict[str, Any] = {
            "job_name": job_name, "time": self.time, "cpus_per_task": self.cpus_per_task,
            "array_parallelism": n_jobs, "stderr_to_stdout": True, "signal_delay_s": 120,
        }
        for key in ("partition", "account", "qos", "gpus_per_task"):
            if getattr(self, key) is not None:
                parameters[key] = getattr(self, key)
        if self.mem_gb is not None:
            mem = self.mem_gb
            parameters["mem"] = f"{int(mem)}GB" if mem == int(mem) else f"{round(mem * 1024)}MB"
        if self.sbatch:
            parameters["additional_parameters"] = self.additional_parameters()
        if self.setup:
            parameters["setup"] = list(self.setup)
        return parameters


def slurm_state(job_id: str) -> str | None:
    """State of a SLURM job from ``squeue`` (e.g. ``RUNNING``, ``PENDING``); None once SLURM no longer lists it.

    The tasks of a job array are asked about together, in one ``squeue`` call every few seconds at most
    (a wait on 1,000 simulations does not run 1,000 ``squeue`` each time).

    Raises
    ------
    FileNotFoundError
        Where ``squeue`` is not installed.
    """
    job_id = str(job_id)
    array = job_id.split("_")[0]
    now = time.monotonic()
    cached = _SQUEUE_CACHE.get(array)
    if cached is None or now - cached[0] > _SQUEUE_INTERVAL_S:
        out = subprocess.run(["squeue", "-h", "-r", "-j", array, "-o", "%i %T"], capture_output=True, text=True,
                             timeout=60)
        states = dict(line.split()[:2] for line in out.stdout.splitlines() if len(line.split()) >= 2) \
            if out.returncode == 0 else {}
        cached = _SQUEUE_CACHE[array] = (now, states)
    return cached[1].get(job_id)


_SQUEUE_CACHE: dict[str, tuple[float, dict[str, str]]] = {}


class SubmititJob:
    """A submitit job with the :class:`~.launcher.Job` API; over when it has a result or SLURM dropped it.

    Attributes
    ----------
    job_id : str
        The scheduler's id (``"<array>_<index>"`` for an array task; a process id for submitit's local jobs).
    log : Path
        Its log file (standard output and error).
    """

    def __init__(self, job, *, cluster: str):
        self._job = job
        self._cluster = cluster
        self._ended: str | None = None

    @property
    def job_id(self) -> str:
        return str(self._job.job_id)

    @property
    def log(self) -> Path:
        return Path(self._job.paths.stdout)

    def _has_result(self) -> bool:
        return Path(self._job.paths.result_pickle).exists()

    def _final_state(self) -> str | None:
        """A final state, or None while the job is queued or running (``squeue`` polled every few seconds)."""
        if self._ended is None and self._cluster == "slurm":
            state = slurm_state(self.job_id)
            if state is None or state in FINAL_STATES:
                time.sleep(0.5)  # the result file of a job that just completed may lag its state
                self._ended = state or "ENDED"
        elif self._ended is None and self._cluster != "slurm" and self._job.done():
            self._ended = self._job.state
        return self._ended

    def done(self) -> bool:
        """True once the job returned or raised, or ended without a result."""
        return self._has_result() or self._final_state() is not None

    def _wait(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done():
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"Job {self.job_id} is not done after {timeout} s.")
            time.sleep(0.2)

    def result(self, timeout: float | None = None) -> Any:
        """The value returned by the call; re-raises its exception, or :class:`JobEndedError`."""
        self._wait(timeout)
        if not self._has_result():
            raise JobEndedError(f"job {self.job_id} ended without a result ({self._ended}); see {self.log}")
        return self._job.result()

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The exception of the call (or :class:`JobEndedError`), None if it returned."""
        try:
            self.result(timeout)
        except TimeoutError:
            raise
        except Exception as error:
            return error
        return None

    def cancel(self) -> bool:
        """Cancel the job (``scancel``); True if it was not done."""
        if self.done():
            return False
        self._job.cancel(check=False)
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.job_id!r}, {'done' if self.done() else 'pending'})"


class SubmititExecutor:
    """Submit calls as SLURM jobs (or submitit local jobs), one job array per :meth:`map_array`.

    Parameters
    ----------
    folder : path
        Where submitit writes the pickled calls, results and logs (``%j_log.out``).
    options : SlurmOptions or mapping, optional
        Resources of each job (SLURM only).
    n_jobs : int
        Jobs of one array that run at once (``--array=0-N%n_jobs``).
    cluster : {"slurm", "local"}
        ``"local"``: submitit's ``LocalExecutor`` (each job a local process with SLURM's life cycle), for tests.

    Attributes
    ----------
    records_jobs : bool
        True: its jobs outlive this process and have ids and logs worth recording.
    """

    records_jobs = True

    def __init__(self, folder: str | Path, options: SlurmOptions | Mapping[str, Any] | None = None, *,
                 n_jobs: int = 1, cluster: str = "slurm"):
        import submitit

        if cluster not in ("slurm", "local"):
            raise InputError(f"Unknown submitit cluster {cluster!r}; choose slurm or local.")
        self.options = options if isinstance(options, SlurmOptions) else SlurmOptions.from_mapping(options)
        self.n_jobs = n_jobs
        self.cluster = cluster
        self.folder = Path(folder)
        if cluster == "slurm":
            self._executor = submitit.SlurmExecutor(folder=self.folder / "%j", max_num_timeout=3)
            self._executor.update_parameters(**self.options.submitit_parameters(n_jobs=n_jobs))
        else:
            self._executor = submitit.LocalExecutor(folder=self.folder / "%j", max_num_timeout=3)
            self._executor.update_parameters(timeout_min=self.options.time, stderr_to_stdout=True)

    @property
    def launcher(self) -> str:
        """``slurm`` or ``submitit_local`` (the name :func:`~.launcher.make_executor` knows it by)."""
        return "slurm" if self.cluster == "slurm" else "submitit_local"

    def submit(self, fn: Callable, /, *args, **kwargs) -> SubmititJob:
        """Submit ``fn(*args, **kwargs)`` as one job."""
        return SubmititJob(self._executor.submit(fn, *args, **kwargs), cluster=self.cluster)

    def map_array(self, fn: Callable, items: Iterable[Any]) -> list[SubmititJob]:
        """Submit ``fn(item)`` for each item as one job array (one ``sbatch``); jobs in the order of ``items``."""
        items = list(items)
        if not items:
            return []
        return [SubmititJob(job, cluster=self.cluster) for job in self._executor.map_array(fn, items)]

    def sbatch_text(self, array_size: int | None = None, *,
                    command: str = "python -u -m submitit.core._submit FOLDER") -> str:
        """The ``sbatch`` script of one job, or of an array of ``array_size`` jobs (SLURM only), to check options."""
        from submitit.slurm.slurm import _make_sbatch_string

        parameters = dict(self._executor.parameters)
        return _make_sbatch_string(command=command, folder=str(self.folder / "%j"), map_count=array_size,
                                   **parameters)

    def shutdown(self, wait: bool = True, *, cancel: bool = False) -> None:
        """Nothing to release: cluster jobs go on after this process."""

    def __enter__(self) -> SubmititExecutor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()


def limit_threads_to_allocation() -> int | None:
    """In a SLURM job submitted by submitit, use as many threads as CPUs allocated; return that number.

    SLURM does not always bind a job to its CPUs (``TaskPlugin=task/none``): without this, each job of an
    array would start one thread per core of the node and oversubscribe it. Elsewhere (a local worker, even
    inside a SLURM allocation, keeps the threads :class:`~.launcher.LocalExecutor` gave it) nothing is done
    and None is returned.
    """
    value = os.environ.get("SLURM_CPUS_PER_TASK")
    if os.environ.get("SUBMITIT_EXECUTOR") != "slurm" or not value or not value.isdigit():
        return None
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = value
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(value))
    return int(value)
