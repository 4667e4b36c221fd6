"""``replicates.tsv`` of a MAPS with replicates, its lock, and the ``replicate-<r>/`` folders (FORMATS.md, section 4).

::

    <maps>/
      maps.json          shared parameters + "replicates": {"count", "root_seed", "varied_sources"}
      replicates.tsv     replicate status seed_<source>... error [hpo_<name>...]
      replicate-<r>/     a complete 1.x MAPS (its hyper-parameters chosen by a search in hpo.json)
      .jobs/replicates.tsv.lock

Every update of the TSV is a read-change-write under an exclusive lock (``.jobs/replicates.tsv.lock``) with an
atomic rename, so jobs that finish at the same moment never lose an update. The sources of variance (the
``seed_<source>`` columns) are given by the caller (:data:`clinicadl.training.seeds.SOURCES`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import MAPSError
from clinicadl.maps.locks import exclusive_lock, jobs_dir
from clinicadl.maps.tables import read_tsv, require_columns

__all__ = [
    "HPO_JSON",
    "REPLICATES_TSV",
    "STATUSES",
    "TSV_LOCK",
    "ReplicateRecord",
    "chosen_hyper_parameters",
    "finished_replicate_folders",
    "has_replicates",
    "read_replicates_tsv",
    "replicate_dir",
    "tsv_columns",
    "update_replicates_tsv",
    "write_replicates_tsv",
]

REPLICATES_TSV = "replicates.tsv"
TSV_LOCK = "replicates.tsv.lock"
HPO_JSON = "hpo.json"
"""The hyper-parameters a search chose for one replicate (``replicate-<r>/hpo.json``)."""
STATUSES: tuple[str, ...] = ("done", "running", "failed", "pending")
"""Statuses of a replicate in ``replicates.tsv``."""

_FIX = "restore it from a backup, or retrain with `clinicadl train ... --overwrite`"


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


def replicate_dir(maps: str | Path, replicate: int) -> Path:
    """Folder of one replicate: ``<maps>/replicate-<r>``."""
    return Path(maps) / f"replicate-{int(replicate)}"


def has_replicates(maps: str | Path) -> bool:
    """Whether ``maps`` is a MAPS with replicates (it holds ``replicates.tsv``)."""
    return (Path(maps) / REPLICATES_TSV).is_file()


def tsv_columns(sources: Sequence[str]) -> tuple[str, ...]:
    """Columns of ``replicates.tsv``, in order (before the ``hpo_<name>`` ones)."""
    return ("replicate", "status", *(f"seed_{source}" for source in sources), "error")


def chosen_hyper_parameters(maps: Path, replicates: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Hyper-parameters selected by the search of each replicate (``--vary ...,hpo``), from its ``hpo.json``."""
    chosen = {}
    for r in replicates:
        path = replicate_dir(maps, r) / HPO_JSON
        if path.is_file():
            chosen[r] = dict(json.loads(path.read_text(encoding="utf-8")).get("values", {}))
    return chosen


def _format_tsv(records: Mapping[int, ReplicateRecord], sources: Sequence[str], maps: Path | None = None) -> str:
    """The TSV text; with a search of hyper-parameters, one ``hpo_<name>`` column per searched parameter."""
    chosen = chosen_hyper_parameters(maps, list(records)) if maps is not None else {}
    names = list(dict.fromkeys(name for values in chosen.values() for name in values))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow([*tsv_columns(sources), *(f"hpo_{name}" for name in names)])
    for r in sorted(records):
        record = records[r]
        hpo = [chosen.get(r, {}).get(name, "") for name in names]
        writer.writerow([r, record.status, *(record.seeds[s] for s in sources), record.error, *hpo])
    return buffer.getvalue()


def write_replicates_tsv(maps: Path, records: Mapping[int, ReplicateRecord], *, sources: Sequence[str]) -> None:
    """Write ``<maps>/replicates.tsv`` (atomically, under its lock)."""
    with exclusive_lock(jobs_dir(maps) / TSV_LOCK):
        atomic_write_text(maps / REPLICATES_TSV, _format_tsv(records, sources, maps))


def update_replicates_tsv(maps: Path, changes: Mapping[int, tuple[str, str]], *, sources: Sequence[str],
                          only_from: Sequence[str] = STATUSES) -> dict[int, ReplicateRecord]:
    """Set ``(status, error)`` of some replicates in ``replicates.tsv``; return every record.

    The file is read, changed and written back (atomically) under an exclusive lock, so that jobs finishing at
    the same moment never lose each other's update. A replicate whose status is not in ``only_from`` is left
    as it is.
    """
    with exclusive_lock(jobs_dir(maps) / TSV_LOCK):
        records = read_replicates_tsv(maps, sources=sources)
        changed = False
        for r, (status, error) in changes.items():
            if r in records and records[r].status in only_from and (records[r].status, records[r].error) != (
                    status, error):
                records[r] = replace(records[r], status=status, error=error)
                changed = True
        if changed:
            atomic_write_text(maps / REPLICATES_TSV, _format_tsv(records, sources, maps))
        return records


def _row_seeds(row: Mapping[str, str], r: int, sources: Sequence[str],
               missing_seeds: Callable[[int], Mapping[str, int]] | None) -> dict[str, int]:
    seeds = {}
    for source in sources:
        value = row.get(f"seed_{source}")
        if value in (None, ""):
            if missing_seeds is None:
                raise ValueError(f"no seed_{source}")
            value = missing_seeds(r)[source]
        seeds[source] = int(value)
    return seeds


def read_replicates_tsv(maps: str | Path, *, sources: Sequence[str], count: int | None = None,
                        missing_seeds: Callable[[int], Mapping[str, int]] | None = None) -> dict[int, ReplicateRecord]:
    """Read ``<maps>/replicates.tsv``: replicate index -> :class:`ReplicateRecord`.

    A ``seed_<source>`` column that is missing (a file written before that source existed) is taken from
    ``missing_seeds(replicate)``; without it, it is an error.

    Raises
    ------
    MAPSError
        If the file is missing or malformed, a status is unknown, or (with ``count``) the replicates
        are not exactly ``0..count-1``.
    """
    file = Path(maps) / REPLICATES_TSV
    if not file.is_file():
        raise MAPSError(f"{file} not found: a MAPS with replicates lists them in replicates.tsv.")
    with open(file, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
        header = set(rows[0]) if rows else set()
    if not rows or not {"replicate", "status"} <= header:
        raise MAPSError(f"{file} has no 'replicate' and 'status' columns or no row; {_FIX}.")
    records: dict[int, ReplicateRecord] = {}
    for row in rows:
        try:
            r = int(row["replicate"])
            seeds = _row_seeds(row, r, sources, missing_seeds)
        except (TypeError, ValueError) as error:
            raise MAPSError(f"{file}: unreadable row {dict(row)} ({error}); {_FIX}.") from None
        status = (row["status"] or "").strip()
        if status not in STATUSES:
            raise MAPSError(f"{file}: replicate {r} has status {status!r}, expected one of {', '.join(STATUSES)}; "
                            f"{_FIX}.")
        if r in records:
            raise MAPSError(f"{file}: replicate {r} appears twice; {_FIX}.")
        records[r] = ReplicateRecord(r, status, seeds, (row.get("error") or "").strip())
    if count is not None and sorted(records) != list(range(count)):
        raise MAPSError(f"{file} lists replicates {sorted(records)}, but maps.json says there are {count} "
                        f"(0..{count - 1}); {_FIX}.")
    return records


def finished_replicate_folders(maps_dir: str | Path) -> list[Path]:
    """The MAPS to predict with: the ``replicate-<r>/`` folders with status ``done``, or the MAPS itself.

    Only the ``replicate`` and ``status`` columns of ``replicates.tsv`` are read.
    """
    maps = Path(maps_dir)
    table = maps / REPLICATES_TSV
    if not table.is_file():
        return [maps]
    frame = read_tsv(table, strings=True)
    require_columns(frame, ["replicate", "status"], table)
    done = [maps / f"replicate-{int(r)}" for r, s in zip(frame["replicate"], frame["status"]) if s == "done"]
    if not done:
        raise MAPSError(f"{table} lists no finished replicate (status done); finish training first "
                        "('clinicadl train resume').")
    return done
