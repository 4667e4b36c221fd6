"""Worker processes that die with their parent.

A ``kill -9`` of ``clinicadl`` must not leave its workers running (each may hold hundreds of megabytes and a
core). Every process pool of the package (``prepare-data --n_proc``, ``generate``, local replicate workers,
simulations) runs :func:`die_with_parent` in its initialiser: on Linux the kernel sends the worker SIGKILL when
its parent ends (``prctl(PR_SET_PDEATHSIG)``); a worker whose parent died before that call exits at once.
Elsewhere an orphaned worker ends with its current task, when the pool's pipe to the dead parent breaks.
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None) -> None:
    """Make the calling process end when its parent does (call it first in a worker initialiser).

    Parameters
    ----------
    parent_pid : int, optional
        The parent's pid as the parent saw it (``os.getpid()`` passed in the initialiser's arguments): if the
        parent is already gone when the worker starts, the worker exits at once.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no prctl: an orphaned worker ends with its current task
            pass
    if parent_pid is not None and os.getppid() != parent_pid:  # the parent died before prctl
        os._exit(1)
