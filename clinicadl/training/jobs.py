"""The jobs that train a MAPS: their records, their locks, and whether they still run.

Everything lives in ``<maps>/.jobs/`` (a hidden folder: the MAPS layout of FORMATS.md is unchanged)::

    .jobs/
      launcher.json            the launcher of the last submission (kind, n_jobs, SLURM options)
      replicate-<r>.json       the job of replicate r: launcher, job id, log, host, pid (cluster launchers only)
      replicate-<r>.lock       held by the process training replicate r
      replicates.tsv.lock      held while replicates.tsv is read, changed and written back
      logs/<job id>/           submitit's files: pickled call, result, log (``<job id>_0_log.out``)

Locks are advisory ``fcntl.flock`` locks, released by the kernel when their process dies (even by
``kill -9``, or a SLURM job cancelled with ``scancel``), so a dead job never leaves a MAPS locked.
They guard processes on one machine and, on Linux, on the nodes of a cluster sharing an NFS or
Lustre file system that supports locks.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import MAPSError
from clinicadl.maps.locks import JOBS_DIR, exclusive_lock, is_locked, jobs_dir, try_lock

__all__ = [
    "JOBS_DIR",
    "JobRecord",
    "exclusive_lock",
    "is_locked",
    "job_state",
    "jobs_dir",
    "read_job_record",
    "read_launcher",
    "try_lock",
    "write_job_record",
    "write_launcher",
]

LAUNCHER_JSON = "launcher.json"


@dataclass(frozen=True)
class JobRecord:
    """The job that runs (or ran) one replicate.

    Attributes
    ----------
    replicate : int
        The replicate.
    launcher : str
        ``slurm`` or ``submitit_local``.
    job_id : str
        The scheduler's id (``<array>_<index>`` for SLURM array tasks).
    log : str
        The job's log file (its standard output and error).
    host, pid : str, int or None
        Machine and process of the job once it started.
    """

    replicate: int
    launcher: str
    job_id: str
    log: str = ""
    host: str = ""
    pid: int | None = None


def _record_path(maps: Path, replicate: int) -> Path:
    return jobs_dir(maps) / f"replicate-{int(replicate)}.json"


def write_job_record(maps: str | Path, record: JobRecord) -> Path:
    """Write the record of a replicate's job (atomically)."""
    return atomic_write_text(_record_path(Path(maps), record.replicate), json.dumps(asdict(record), indent=2) + "\n")


def read_job_record(maps: str | Path, replicate: int) -> JobRecord | None:
    """The record of a replicate's job, None if it has none (never submitted to a cluster) or it is unreadable."""
    path = _record_path(Path(maps), replicate)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        return JobRecord(**content)
    except (OSError, ValueError, TypeError):
        return None


def write_launcher(maps: str | Path, content: dict[str, Any]) -> Path:
    """Record the launcher of a submission (read back by ``train resume``)."""
    return atomic_write_text(jobs_dir(maps) / LAUNCHER_JSON, json.dumps(content, indent=2, sort_keys=True) + "\n")


def read_launcher(maps: str | Path) -> dict[str, Any] | None:
    """The recorded launcher, None when the MAPS was trained locally."""
    path = jobs_dir(maps) / LAUNCHER_JSON
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise MAPSError(f"{path} is not valid JSON ({error}); delete it and give the launcher options again.") from None
    if not isinstance(content, dict) or "launcher" not in content:
        raise MAPSError(f"{path} has no 'launcher' entry; delete it and give the launcher options again.")
    return content


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine runs (a zombie waiting to be reaped does not)."""
    if Path("/proc/self/stat").exists():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def job_state(record: JobRecord) -> str:
    """``RUNNING``/``PENDING``/... as SLURM says, ``alive``, ``ended``, or ``unknown`` (no ``squeue``, other host).

    A SLURM job is ``ended`` once ``squeue`` no longer lists it or lists it in a final state.
    """
    if record.launcher == "slurm":
        from clinicadl.training.slurm import FINAL_STATES, slurm_state

        try:
            state = slurm_state(record.job_id)
        except (FileNotFoundError, OSError):
            return "unknown"
        return "ended" if state is None or state in FINAL_STATES else state
    if record.pid is None:
        return "unknown"
    if record.host and record.host != socket.gethostname():
        return "unknown"
    return "alive" if _pid_alive(record.pid) else "ended"
