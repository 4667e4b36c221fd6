"""The replicate folders of a MAPS trained with ``--replicates`` (FORMATS.md section 4): ``replicate-<r>/``."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["replicate_folders"]

_NAME = re.compile(r"replicate-(\d+)")


def replicate_folders(maps_path: str | Path) -> dict[int, Path]:
    """Replicate index -> folder, for every ``replicate-<r>/`` of ``maps_path`` that holds a ``maps.json``.

    Empty for a plain 1.x MAPS (or a folder that is not a MAPS).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> replicate_folders(pathlib.Path(tempfile.mkdtemp()))
    {}
    """
    maps = Path(maps_path)
    if not maps.is_dir():
        return {}
    found = {}
    for child in maps.iterdir():
        match = _NAME.fullmatch(child.name)
        if match and (child / "maps.json").is_file():
            found[int(match.group(1))] = child
    return dict(sorted(found.items()))
