"""``study.tsv`` of a variance study: which replicate is which model of which design (FORMATS.md, our extension).

A MAPS made by ``clinicadl train ... --study sources`` is a MAPS with replicates (``replicates.tsv`` holds each
training's seeds and status) plus ``study.tsv``, one row per model of each design::

    design  member  replicate  varied            split_draw  seed_draw  draw_split  draw_init ...
    init    0       0          init              -1          -1         0           0
    init    1       1          init              -1          -1         0           1
    all     0       0          split,init,order  -1          -1         0           0
    nested  5       9          split,init        1           1          6           7

The reference configuration (``member`` 0) appears in every design but is one replicate, trained once. ``draw_*``
are the draw indices of each source (0: the reference draw), ``split_draw``/``seed_draw`` the position in the
nested design's table (-1 outside it). ``maps.json`` records the study under ``"study"``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import MAPSError

__all__ = ["STUDY_TSV", "StudyRow", "has_study", "read_study_tsv", "write_study_tsv"]

STUDY_TSV = "study.tsv"

_FIX = "restore it from a backup, or retrain the study with `clinicadl train ... --study sources --overwrite`"


@dataclass(frozen=True)
class StudyRow:
    """One model of a study design (a row of ``study.tsv``)."""

    design: str
    member: int
    replicate: int
    varied: tuple[str, ...]
    split_draw: int
    seed_draw: int
    draws: tuple[tuple[str, int], ...]


def has_study(maps: str | Path) -> bool:
    """Whether the MAPS holds a variance study."""
    return (Path(maps) / STUDY_TSV).is_file()


def write_study_tsv(maps: str | Path, rows: Sequence[StudyRow]) -> None:
    """Write ``<maps>/study.tsv`` atomically."""
    sources = [source for source, _ in rows[0].draws] if rows else []
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(["design", "member", "replicate", "varied", "split_draw", "seed_draw",
                     *(f"draw_{s}" for s in sources)])
    for row in rows:
        writer.writerow([row.design, row.member, row.replicate, ",".join(row.varied), row.split_draw,
                         row.seed_draw, *(draw for _, draw in row.draws)])
    atomic_write_text(Path(maps) / STUDY_TSV, out.getvalue())


def read_study_tsv(maps: str | Path) -> tuple[StudyRow, ...]:
    """Read ``<maps>/study.tsv``.

    Raises
    ------
    MAPSError
        If the file is missing or malformed.
    """
    file = Path(maps) / STUDY_TSV
    if not file.is_file():
        raise MAPSError(f"{file} not found: {maps} is not a variance study; train one with "
                        "`clinicadl train ... --study sources --replicates R`.")
    with open(file, encoding="utf-8", newline="") as stream:
        table = list(csv.DictReader(stream, delimiter="\t"))
    required = {"design", "member", "replicate", "varied", "split_draw", "seed_draw"}
    if not table or not required <= set(table[0]):
        raise MAPSError(f"{file} lacks the columns {', '.join(sorted(required))} or has no row; {_FIX}.")
    sources = [c.removeprefix("draw_") for c in table[0] if c.startswith("draw_")]
    rows = []
    for line in table:
        try:
            rows.append(StudyRow(line["design"], int(line["member"]), int(line["replicate"]),
                                 tuple(s for s in line["varied"].split(",") if s), int(line["split_draw"]),
                                 int(line["seed_draw"]), tuple((s, int(line[f"draw_{s}"])) for s in sources)))
        except (TypeError, ValueError) as error:
            raise MAPSError(f"{file}: unreadable row {dict(line)} ({error}); {_FIX}.") from None
    return tuple(rows)
