"""Where the training of a MAPS stands: ``clinicadl train status MAPS``.

Joins ``replicates.tsv`` (the status each job recorded), the job records of ``.jobs/`` (job id, log) and
the scheduler's view (``squeue``), so that a replicate whose job was killed, cancelled or lost with its
node shows as *interrupted* rather than *running* forever. Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from clinicadl.errors import MAPSError
from clinicadl.training.jobs import is_locked, job_state, jobs_dir, read_job_record

__all__ = ["ReplicateStatus", "TrainingStatus", "format_status", "training_status"]


@dataclass(frozen=True)
class ReplicateStatus:
    """One replicate as ``train status`` shows it.

    Attributes
    ----------
    replicate : int
    status : str
        As recorded in ``replicates.tsv``: ``done``, ``running``, ``failed`` or ``pending``.
    job_id : str
        The cluster job's id, ``""`` for a local run.
    job_state : str
        The scheduler's state (``RUNNING``, ``PENDING``, ...), ``alive`` (a local process that runs),
        ``ended``, ``unknown``, or ``""`` (no job to ask about).
    log : str
        The job's log file (``""`` for a local run); a failed one also has ``replicate-<r>/error.log``.
    error : str
        One-line error of a failed replicate.
    """

    replicate: int
    status: str
    job_id: str = ""
    job_state: str = ""
    log: str = ""
    error: str = ""

    @property
    def interrupted(self) -> bool:
        """Recorded as running, but its job ended: ``clinicadl train resume`` trains it again."""
        return self.status in ("running", "pending") and self.job_state == "ended"


@dataclass(frozen=True)
class TrainingStatus:
    """Every replicate of a MAPS.

    Attributes
    ----------
    maps_path : Path
    replicates : tuple of ReplicateStatus
    replicated : bool
        False for a plain 1.x MAPS (shown as one replicate).
    """

    maps_path: Path
    replicates: tuple[ReplicateStatus, ...]
    replicated: bool = True

    @property
    def counts(self) -> dict[str, int]:
        """Number of replicates per status (``interrupted`` counted apart from ``running``)."""
        return dict(Counter("interrupted" if r.interrupted else r.status for r in self.replicates))

    @property
    def complete(self) -> bool:
        """Every replicate is done."""
        return all(r.status == "done" for r in self.replicates)


def training_status(maps: str | Path) -> TrainingStatus:
    """Read the status of every replicate of ``maps`` and ask the scheduler about their jobs.

    A replicate recorded as ``running`` without a cluster job (a local run) is ``alive`` while a
    ``clinicadl train`` or ``train resume`` process holds the MAPS, ``ended`` otherwise.

    Raises
    ------
    MAPSError
        Not a MAPS, or an unreadable ``replicates.tsv``.
    """
    from clinicadl.training.replicates import LOCK_FILE, REPLICATES_TSV, read_replicates_tsv

    maps = Path(maps)
    if not (maps / "maps.json").is_file():
        raise MAPSError(f"{maps} is not a MAPS (no maps.json); give the output folder of 'clinicadl train'.")
    if not (maps / REPLICATES_TSV).is_file():
        trained = any(maps.glob("split-*/best-*/model.pth.tar"))
        state = "alive" if is_locked(maps / LOCK_FILE) else ""
        status = "running" if state else ("done" if trained else "pending")
        return TrainingStatus(maps, (ReplicateStatus(0, status, job_state=state),), replicated=False)
    records = read_replicates_tsv(maps)
    driver_alive = is_locked(maps / LOCK_FILE)
    rows = []
    for r in sorted(records):
        record = records[r]
        job = read_job_record(maps, r)
        if job is not None and record.status in ("running", "pending"):
            state = job_state(job)
        elif record.status == "running":
            busy = is_locked(jobs_dir(maps) / f"replicate-{r}.lock")
            state = "alive" if busy or driver_alive else "ended"
        else:
            state = ""
        rows.append(ReplicateStatus(r, record.status, job.job_id if job else "", state, job.log if job else "",
                                    record.error))
    return TrainingStatus(maps, tuple(rows))


def format_status(status: TrainingStatus) -> str:
    """A table: replicate, status, job id, job state, log, and the error (or what to do) of each replicate."""
    header = ("replicate", "status", "job", "state", "log / error")
    rows = []
    for r in status.replicates:
        shown = "interrupted" if r.interrupted else r.status
        note = r.error
        if r.interrupted:
            note = "its job ended: 'clinicadl train resume' trains it again"
        detail = "  ".join(part for part in (r.log, note) if part)
        rows.append((str(r.replicate), shown, r.job_id or "-", r.job_state or "-", detail))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4] for row in
             (header, *rows)]
    counts = ", ".join(f"{n} {name}" for name, n in sorted(status.counts.items()))
    lines.append(f"{len(status.replicates)} replicate{'s' if len(status.replicates) != 1 else ''}: {counts}")
    return "\n".join(line.rstrip() for line in lines)
