"""``replicates.tsv`` with training's sources of variance: :mod:`clinicadl.maps.replicates` bound to
:data:`~clinicadl.training.seeds.SOURCES` (the ``seed_<source>`` columns) and :func:`~.seeds.replicate_seeds`.

*Statuses.* ``done`` (finished, never touched again), ``running`` (started and not finished: being trained, or
interrupted), ``failed`` (raised; one-line error in the ``error`` column, traceback in ``replicate-<r>/error.log``)
and ``pending`` (not started yet; FORMATS.md lists the first three, ``pending`` is our addition so that every
replicate has a row from the start).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from clinicadl.maps import replicates as replicates_file
from clinicadl.maps.replicates import STATUSES, ReplicateRecord
from clinicadl.training.seeds import DEFAULT_VARIED, SOURCES, replicate_seeds

__all__ = ["TSV_COLUMNS", "read_replicates_tsv", "update_replicates_tsv", "write_replicates_tsv"]

TSV_COLUMNS: tuple[str, ...] = replicates_file.tsv_columns(SOURCES)
"""Columns of ``replicates.tsv``, in order."""


def read_replicates_tsv(maps: str | Path, *, count: int | None = None, root_seed: int | None = None,
                        varied: Sequence[str] = DEFAULT_VARIED) -> dict[int, ReplicateRecord]:
    """Read ``<maps>/replicates.tsv``: replicate index -> :class:`~clinicadl.maps.replicates.ReplicateRecord`.

    A ``seed_<source>`` column that is missing (a file written before that source existed) is derived
    from ``root_seed`` and ``varied``; without ``root_seed`` it is an error.

    Raises
    ------
    MAPSError
        If the file is missing or malformed, a status is unknown, or (with ``count``) the replicates
        are not exactly ``0..count-1``.
    """
    missing = None if root_seed is None else (lambda r: replicate_seeds(root_seed, r, varied))
    return replicates_file.read_replicates_tsv(maps, sources=SOURCES, count=count, missing_seeds=missing)


def write_replicates_tsv(maps: Path, records: Mapping[int, ReplicateRecord]) -> None:
    """Write ``<maps>/replicates.tsv`` (atomically, under its lock)."""
    replicates_file.write_replicates_tsv(maps, records, sources=SOURCES)


def update_replicates_tsv(maps: Path, changes: Mapping[int, tuple[str, str]], *,
                          only_from: Sequence[str] = STATUSES) -> dict[int, ReplicateRecord]:
    """Set ``(status, error)`` of some replicates in ``replicates.tsv`` under its lock; return every record.

    A replicate whose status is not in ``only_from`` is left as it is.
    """
    return replicates_file.update_replicates_tsv(maps, changes, sources=SOURCES, only_from=only_from)
