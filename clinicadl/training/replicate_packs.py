"""The job that trains a pack of replicates together (``--pack_replicates K``).

A :class:`PackRunner` is the :class:`~clinicadl.training.replicate_jobs.ReplicateRunner` of K replicates: it holds
each replicate's lock (``.jobs/replicate-<r>.lock``; one held elsewhere is ``busy`` and left out of the pack), sets
their rows of ``replicates.tsv`` to ``running``, trains them with
:func:`clinicadl.training.packed_trainer.train_pack`, then records each one's ``done`` or ``failed`` (with its
``error.log``) as an unpacked replicate's job does. A replicate that fails leaves the pack; the others go on.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clinicadl.atomic import atomic_write_text
from clinicadl.maps.locks import jobs_dir, try_lock
from clinicadl.maps.replicates import replicate_dir
from clinicadl.training.replicate_inputs import replicate_parameters
from clinicadl.training.replicate_table import update_replicates_tsv

__all__ = ["PackRunner", "packs"]


def packs(replicates: list[int], size: int) -> list[tuple[int, ...]]:
    """The replicates in packs of ``size`` (the last may be smaller).

    Examples
    --------
    >>> packs([0, 1, 2, 3, 4], 2)
    [(0, 1), (2, 3), (4,)]
    """
    return [tuple(replicates[i:i + size]) for i in range(0, len(replicates), size)]


def _record(maps: Path, r: int, error: BaseException | None) -> tuple[str, str]:
    from clinicadl.training.replicate_jobs import ERROR_LOG, one_line

    log = replicate_dir(maps, r) / ERROR_LOG
    if error is None:
        log.unlink(missing_ok=True)  # a stale log of an earlier failure
        return "done", ""
    try:
        atomic_write_text(log, "".join(traceback.format_exception(error)))
    except OSError:  # a full or read-only disk: the status still says failed, with the one-line error
        pass
    return "failed", one_line(error)


@dataclass(frozen=True)
class PackRunner:
    """The job of a pack: ``runner((r1, r2, ...))`` trains those replicates together and records their statuses.

    Attributes
    ----------
    maps : Path
        The MAPS.
    shared : dict
        Parameters shared by the replicates.
    seeds : dict
        Replicate -> seed of every source.
    root_seed : int
    varied : tuple of str
        Sources varied across replicates.
    progress : bool
        Print a line per replicate and epoch.
    after_split : callable, optional
        As in :func:`clinicadl.training.trainer.train_replicate`.
    """

    maps: Path
    shared: dict
    seeds: dict
    root_seed: int
    varied: tuple[str, ...]
    progress: bool
    after_split: Callable | None = None

    def __call__(self, replicates: tuple[int, ...]) -> dict[int, tuple[str, str]]:
        """Train the pack; return ``{r: (status, one-line error)}`` with ``done``, ``failed`` or ``busy``."""
        from clinicadl.training.packed_trainer import PackMember, train_pack
        from clinicadl.training.slurm import limit_threads_to_allocation

        maps = Path(self.maps)
        results: dict[int, tuple[str, str]] = {}
        with contextlib.ExitStack() as stack:
            held = []
            for r in map(int, replicates):
                if stack.enter_context(try_lock(jobs_dir(maps) / f"replicate-{r}.lock")):
                    held.append(r)
                else:
                    results[r] = ("busy", f"replicate {r} is being trained by another process")
            if not held:
                return results
            limit_threads_to_allocation()
            update_replicates_tsv(maps, {r: ("running", "") for r in held})
            members = [PackMember(replicate_parameters(self.shared, r, dict(self.seeds[r]), self.root_seed,
                                                       self.varied), replicate_dir(maps, r), dict(self.seeds[r]))
                       for r in held]
            errors = train_pack(members, resample_split="split" in self.varied, progress=self.progress,
                                after_split=self.after_split)
            done = {r: _record(maps, r, error) for r, error in zip(held, errors)}
            update_replicates_tsv(maps, done)
            results.update(done)
        return results

    def checkpoint(self, replicates: tuple[int, ...]):
        """What a preempted or timed-out SLURM job requeues: this same call (training resumes from disk)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, replicates)
