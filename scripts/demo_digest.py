"""Digest of the outputs of ``make demo`` that must not change under a refactoring (same seeds, same bytes).

Usage::

    python scripts/demo_digest.py clinicadl_demo                 # one SHA-256 per TSV, then one for them all
    python scripts/demo_digest.py clinicadl_demo other_demo      # compare two runs; exit 1 on any difference

Every ``*.tsv`` of the demo folder is compared (predictions, metrics with their intervals, procedure tables,
replicates.tsv); the wall-clock ``time`` column of the training logs is dropped before hashing, and files with
dates or run times (``maps.json``, logs, ``report.html``) are left out.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

TIMED_COLUMNS = {"training.tsv": "time"}
"""Columns that hold wall-clock times, by file name."""


def content(path: Path) -> bytes:
    """The bytes of a TSV, without its wall-clock column if it has one."""
    data = path.read_bytes()
    column = TIMED_COLUMNS.get(path.name)
    if column is None:
        return data
    rows = [line.split(b"\t") for line in data.split(b"\n")]
    if column.encode() not in rows[0]:
        return data
    drop = rows[0].index(column.encode())
    return b"\n".join(b"\t".join(r[:drop] + r[drop + 1:]) for r in rows)


def digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every TSV under ``folder``, by path relative to it."""
    return {str(p.relative_to(folder)): hashlib.sha256(content(p)).hexdigest() for p in sorted(folder.rglob("*.tsv"))}


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__)
        return 2
    first = digests(Path(argv[0]))
    if len(argv) == 1:
        for name, digest in first.items():
            print(f"{digest[:16]}  {name}")
        total = hashlib.sha256("".join(first.values()).encode()).hexdigest()
        print(f"{len(first)} TSV files, digest of all: {total[:16]}")
        return 0
    second = digests(Path(argv[1]))
    differ = sorted(n for n in first.keys() | second.keys() if first.get(n) != second.get(n))
    for name in differ:
        print(f"differs: {name}")
    print(f"{len(first.keys() & second.keys())} TSV files compared, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
