"""Writing a generated CAPS: refuse to overwrite, build it in a hidden sibling folder, then move it in place.

A generator never mixes its output with existing files: OUTPUT_CAPS must not exist or be an empty folder. The CAPS
is written into a temporary sibling folder (each file atomically) and renamed to OUTPUT_CAPS only when complete, so
an interrupted run leaves no half-made CAPS under the final name. TSV and JSON files are formatted by hand with fixed
number formats, so that the same content always gives the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import InputError


def check_output(output: str | Path) -> Path:
    """Return ``output`` as a Path; raise :class:`InputError` if it exists and is not an empty folder."""
    output = Path(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise InputError(f"The output {output} already exists and is not an empty folder; give a new path (or remove "
                         "it) so that the generated CAPS is not mixed with other files.")
    return output


@contextmanager
def staged_caps(output: str | Path) -> Iterator[Path]:
    """Yield a temporary folder next to ``output``; on success rename it to ``output``, on error delete it."""
    output = check_output(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent))
    try:
        yield staging
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp creates 0o700
        try:
            os.replace(staging, output)  # replaces an empty folder, fails on anything else
        except OSError as error:
            raise InputError(f"Could not move the generated CAPS to {output} ({error.strerror}): something else wrote "
                             "there while it was generated; give a new path.") from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def format_value(value) -> str:
    """TSV text of one value: floats with 4 decimals, the rest with ``str``."""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def write_tsv(path: str | Path, rows: Sequence[dict], columns: Sequence[str]) -> Path:
    """Write ``rows`` (dicts) as a tab-separated file with the header ``columns``."""
    lines = ["\t".join(columns)]
    lines += ["\t".join(format_value(row[column]) for column in columns) for row in rows]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def write_missing_mods(caps: Path, rows: Sequence[dict]) -> list[Path]:
    """``missing_mods/missing_mods_<session>.tsv`` as upstream's generators write it: ``participant_id synthetic``."""
    sessions: dict[str, list[dict]] = {}
    for row in rows:
        sessions.setdefault(row["session_id"], []).append({"participant_id": row["participant_id"], "synthetic": 1})
    return [write_tsv(caps / "missing_mods" / f"missing_mods_{session}.tsv", session_rows,
                      ["participant_id", "synthetic"]) for session, session_rows in sorted(sessions.items())]


def write_json(path: str | Path, content: dict) -> Path:
    """Write ``content`` as indented JSON (keys in the given order)."""
    return atomic_write_text(path, json.dumps(content, indent=2) + "\n")
