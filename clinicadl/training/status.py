"""Where the training of a MAPS stands: ``clinicadl train status MAPS``.

Joins ``replicates.tsv`` (the status each job recorded), the job records of ``.jobs/`` (job id, log),
the scheduler's view (``squeue``) and the files on disk (:mod:`clinicadl.maps.training_state`), so that a
replicate whose job was killed, cancelled or lost with its node shows as *interrupted* rather than
*running* forever, and one recorded ``done`` whose folder was deleted (or whose split still has its
``tmp/`` checkpoint) shows as *missing* (or *interrupted*), never as done. Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from clinicadl.errors import MAPSError
from clinicadl.maps.training_state import maps_disk_state
from clinicadl.training.jobs import is_locked, job_state, jobs_dir, read_job_record

__all__ = ["ReplicateStatus", "TrainingStatus", "format_status", "training_status"]


@dataclass(frozen=True)
class ReplicateStatus:
    """One replicate as ``train status`` shows it.

    Attributes
    ----------
    replicate : int
    status : str
        As recorded in ``replicates.tsv`` (``done``, ``running``, ``failed`` or ``pending``), corrected by
        the files: a replicate recorded ``done`` whose folder is gone is ``missing``, one whose files are not
        complete is ``interrupted`` (a ``tmp/`` checkpoint) or ``incomplete``.
    job_id : str
        The cluster job's id, ``""`` for a local run.
    job_state : str
        The scheduler's state (``RUNNING``, ``PENDING``, ...), ``alive`` (a local process that runs),
        ``ended``, ``unknown``, or ``""`` (no job to ask about).
    log : str
        The job's log file (``""`` for a local run); a failed one also has ``replicate-<r>/error.log``.
    error : str
        One-line error of a failed replicate.
    recorded : str
        The status written in ``replicates.tsv`` (``""`` for a plain MAPS).
    disk : str
        What the files say (:data:`~clinicadl.maps.training_state.DISK_STATES`), with the splits that are not
        done in ``disk_detail``.
    """

    replicate: int
    status: str
    job_id: str = ""
    job_state: str = ""
    log: str = ""
    error: str = ""
    recorded: str = ""
    disk: str = ""
    disk_detail: str = ""

    @property
    def interrupted(self) -> bool:
        """Recorded as running, but its job ended (or its files say so): ``train resume`` trains it again."""
        return (self.status in ("running", "pending") and self.job_state == "ended") or self.status == "interrupted"

    @property
    def needs_training(self) -> bool:
        """Not done on disk: ``clinicadl train resume`` trains it (again)."""
        return self.status != "done"


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
    from clinicadl.maps.locks import LOCK_FILE
    from clinicadl.maps.maps_json import is_maps
    from clinicadl.maps.replicates import has_replicates, replicate_dir
    from clinicadl.training.replicate_table import read_replicates_tsv

    maps = Path(maps)
    if not is_maps(maps):
        raise MAPSError(f"{maps} is not a MAPS (no maps.json); give the output folder of 'clinicadl train'.")
    if not has_replicates(maps):
        disk = maps_disk_state(maps)
        state = "alive" if is_locked(maps / LOCK_FILE) else ""
        if state:
            status = "running"
        elif disk.state in ("done", "interrupted"):
            status = disk.state
        else:
            status = "pending"
        return TrainingStatus(maps, (ReplicateStatus(0, status, job_state=state, disk=disk.state,
                                                     disk_detail=disk.detail),), replicated=False)
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
        disk = maps_disk_state(replicate_dir(maps, r))
        status = record.status
        if status == "done" and disk.state in ("missing", "interrupted", "incomplete"):
            status = disk.state  # the files contradict the record: they win
        rows.append(ReplicateStatus(r, status, job.job_id if job else "", state, job.log if job else "",
                                    record.error, record.status, disk.state, disk.detail))
    return TrainingStatus(maps, tuple(rows))


def format_status(status: TrainingStatus) -> str:
    """A table: replicate, status, job id, job state, log, and the error (or what to do) of each replicate."""
    header = ("replicate", "status", "job", "state", "log / error")
    rows = []
    for r in status.replicates:
        shown = "interrupted" if r.interrupted else r.status
        note = r.error
        if r.status in ("missing", "interrupted", "incomplete") and r.recorded == "done":
            note = (f"recorded done in replicates.tsv, but {r.disk_detail or r.disk}: 'clinicadl train resume' "
                    "trains it again")
        elif r.status == "interrupted" and not r.recorded:
            note = f"{r.disk_detail}: 'clinicadl train resume' finishes it"
        elif r.interrupted:
            note = "its job ended: 'clinicadl train resume' trains it again"
        detail = "  ".join(part for part in (r.log, note) if part)
        rows.append((str(r.replicate), shown, r.job_id or "-", r.job_state or "-", detail))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4] for row in
             (header, *rows)]
    counts = ", ".join(f"{n} {name}" for name, n in sorted(status.counts.items()))
    lines.append(f"{len(status.replicates)} replicate{'s' if len(status.replicates) != 1 else ''}: {counts}")
    return "\n".join(line.rstrip() for line in lines)
