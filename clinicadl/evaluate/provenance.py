"""What a results file needs to be reproduced exactly (command, version, inputs, options, date), and whether
it still describes its inputs.

Every results TSV of ``clinicadl evaluate`` has a JSON sidecar (FORMATS.md section 4) that records each input
file it was computed from: path, size, modification time and SHA-256. :func:`stale_reasons` compares that
record with the files as they are now (and, when the reader knows it, with the list of files the result
*should* be computed from now), so that a reader never shows a number computed from predictions that have
since been replaced (``predict --overwrite``), deleted (a replicate folder removed) or joined by new ones.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import clinicadl

__all__ = ["file_digest", "input_record", "provenance", "stale_message", "stale_reasons"]


def file_digest(path: Path) -> str:
    """SHA-256 of a file, to tell later whether the input changed."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_record(path: str | Path) -> dict:
    """What the sidecar records about one input file: resolved path, size, mtime (ns) and SHA-256."""
    path = Path(path)
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "sha256": file_digest(path)}


def provenance(inputs: Iterable[Path], options: Mapping) -> dict:
    """The JSON sidecar of a results file."""
    return {
        "command": " ".join(["clinicadl", *sys.argv[1:]]) if Path(sys.argv[0]).name == "clinicadl" else None,
        "clinicadl_version": clinicadl.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": [input_record(p) for p in dict.fromkeys(Path(p) for p in inputs)],
        "options": dict(options),
    }


def _unchanged(record: Mapping, path: Path) -> bool:
    stat = path.stat()
    if "size" in record and int(record["size"]) != stat.st_size:
        return False
    if record.get("mtime_ns") == stat.st_mtime_ns and "size" in record:
        return True  # same size and time: not rewritten since
    return record.get("sha256") == file_digest(path)


def stale_reasons(results: str | Path, current: Iterable[str | Path] | None = None) -> tuple[str, ...]:
    """Why the results file ``results`` no longer describes its inputs (empty: it does).

    Parameters
    ----------
    results : str or Path
        A results TSV (or PNG) with its JSON sidecar (same name, suffix ``.json``).
    current : iterable of paths, optional
        The files the result would be computed from now (e.g. the prediction files of every finished
        replicate); a file among them that the sidecar does not record is a reason.

    Returns
    -------
    tuple of str
        One phrase per reason: the sidecar is missing or unreadable (an interrupted run), a recorded input
        no longer exists, changed (size, then SHA-256, compared), or a current input is new.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "pred.tsv").write_text("a\\n1\\n")
    >>> _ = (folder / "ci.tsv").write_text("metric\\n")
    >>> _ = (folder / "ci.json").write_text(json.dumps(provenance([folder / "pred.tsv"], {})))
    >>> stale_reasons(folder / "ci.tsv")
    ()
    >>> _ = (folder / "pred.tsv").write_text("a\\n2\\n3\\n")
    >>> stale_reasons(folder / "ci.tsv")[0].endswith("pred.tsv changed since it was computed")
    True
    """
    results = Path(results)
    sidecar = results.with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return (f"its JSON sidecar {sidecar.name} is missing (the run that wrote it was interrupted)",)
    except (OSError, ValueError):
        return (f"its JSON sidecar {sidecar.name} is unreadable",)
    records = meta.get("inputs") if isinstance(meta, dict) else None
    if not isinstance(records, list):
        return (f"its JSON sidecar {sidecar.name} records no inputs",)
    reasons = []
    recorded = set()
    for record in records:
        path = Path(str(record.get("path", "")))
        recorded.add(str(path))
        if not path.is_file():
            reasons.append(f"its input {path} no longer exists")
        elif not _unchanged(record, path):
            reasons.append(f"its input {path} changed since it was computed")
    for path in current or ():
        resolved = str(Path(path).resolve())
        if resolved not in recorded:
            reasons.append(f"{resolved} is a new input it does not include")
    return tuple(reasons)


def stale_message(results: str | Path, reasons: tuple[str, ...], command: str) -> str:
    """One line: the stale file, the first reason (and how many more), and the command that recomputes it."""
    more = f" (and {len(reasons) - 1} more change{'s' if len(reasons) > 2 else ''})" if len(reasons) > 1 else ""
    return f"{results} is stale: {reasons[0]}{more}; run `{command}` to recompute it."
