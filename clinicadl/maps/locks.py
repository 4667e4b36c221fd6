"""Advisory locks of a MAPS, and the hidden folder of its jobs (``<maps>/.jobs``).

``<maps>/.lock`` is held by the process that drives a MAPS (:func:`maps_lock`); ``.jobs/`` holds the locks of the
jobs and of ``replicates.tsv`` (see :mod:`clinicadl.maps.replicates` and :mod:`clinicadl.training.jobs`).

Locks are advisory ``fcntl.flock`` locks, released by the kernel when their process dies (even by ``kill -9``, or a
SLURM job cancelled with ``scancel``), so a dead job never leaves a MAPS locked. They guard processes on one machine
and, on Linux, on the nodes of a cluster sharing an NFS or Lustre file system that supports locks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clinicadl.errors import MAPSError

__all__ = ["JOBS_DIR", "LOCK_FILE", "check_not_locked", "exclusive_lock", "is_locked", "jobs_dir", "maps_lock",
           "try_lock"]

JOBS_DIR = ".jobs"
LOCK_FILE = ".lock"
"""Held by the process that drives a MAPS (trains or resumes it)."""


def jobs_dir(maps: str | Path) -> Path:
    """``<maps>/.jobs``."""
    return Path(maps) / JOBS_DIR


@contextmanager
def exclusive_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed), waiting for it (no-op without ``fcntl``)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def try_lock(path: str | Path) -> Iterator[bool]:
    """Try to hold an exclusive ``flock`` on ``path`` without waiting; yield whether it is held."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield True
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def is_locked(path: str | Path) -> bool:
    """Whether another process holds a lock on ``path`` (False when the file does not exist; nothing created)."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextmanager
def maps_lock(maps: Path) -> Iterator[None]:
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


def check_not_locked(maps: Path) -> None:
    """Raise :class:`~clinicadl.errors.MAPSError` when another process holds ``<maps>/.lock``."""
    if (maps / LOCK_FILE).is_file():
        with maps_lock(maps):
            pass
