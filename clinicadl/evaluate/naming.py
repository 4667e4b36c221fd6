"""Names of MAPS in outputs: readable, and unique even when two MAPS have the same folder name.

``evaluate compare pA/maps pB/maps`` must neither write ``compare_procedures_pB/maps.tsv`` (a nested path)
nor call both procedures "maps". A MAPS is named by its folder name when that is unique among the MAPS
given, else by the shortest trailing part of its path that tells it apart (``pA/maps``); in file names the
``/`` becomes ``-`` and a short hash of the resolved path is added, so that two runs from different folders
never collide. The same MAPS given twice is refused.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from clinicadl.errors import InputError

__all__ = ["check_distinct", "comparison_file_name", "distinguishing_names", "file_tokens"]


def check_distinct(paths: Sequence[str | Path], what: str = "MAPS") -> None:
    """Refuse the same input given twice (after resolving links and ``..``).

    Raises
    ------
    InputError
        Naming the input given twice.
    """
    seen: dict[Path, str] = {}
    for path in paths:
        resolved = Path(path).resolve()
        if resolved in seen:
            raise InputError(f"{path} is given twice (as {seen[resolved]} and {path}): comparing a {what} with "
                             "itself tells nothing; give two different ones.")
        seen[resolved] = str(path)


def distinguishing_names(paths: Sequence[str | Path]) -> list[str]:
    """The folder name of each path, or the shortest trailing part of it that differs from the others.

    Examples
    --------
    >>> distinguishing_names(["runs/a/maps", "runs/b/maps", "runs/c/other"])
    ['a/maps', 'b/maps', 'other']
    >>> distinguishing_names(["conv5", "resnet"])
    ['conv5', 'resnet']
    """
    parts = [Path(p).resolve().parts for p in paths]
    names = []
    for i, own in enumerate(parts):
        for depth in range(1, len(own) + 1):
            tail = own[-depth:]
            if all(other[-depth:] != tail for j, other in enumerate(parts) if j != i):
                break
        names.append("/".join(tail))
    return names


def _short_hash(path: str | Path) -> str:
    return hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:6]


def file_tokens(paths: Sequence[str | Path]) -> list[str]:
    """Names usable in a file name: :func:`distinguishing_names` with ``/`` as ``-``, plus a short hash of the
    resolved path when folder names collide.

    Examples
    --------
    >>> file_tokens(["conv5", "resnet"])
    ['conv5', 'resnet']
    >>> [t.split("-")[:2] for t in file_tokens(["a/maps", "b/maps"])]
    [['a', 'maps'], ['b', 'maps']]
    """
    folder_names = [Path(p).resolve().name for p in paths]
    names = distinguishing_names(paths)
    tokens = []
    for path, folder, name in zip(paths, folder_names, names):
        token = re.sub(r"[^A-Za-z0-9._+-]+", "-", name.replace("/", "-")).strip("-") or "maps"
        if folder_names.count(folder) > 1:
            token += f"-{_short_hash(path)}"
        tokens.append(token)
    return tokens


def comparison_file_name(paths: Sequence[str | Path]) -> str:
    """``compare_procedures_<B>[_<C>...].tsv``, written in the evaluation folder of the first MAPS."""
    return f"compare_procedures_{'_'.join(file_tokens(paths)[1:])}.tsv"
