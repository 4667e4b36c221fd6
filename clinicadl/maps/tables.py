"""Reading the TSV tables of a MAPS into pandas, with one-line errors that name the file.

Shared by the readers of predictions, metrics and groups: empty files, unparsable files and the
unnamed pandas index column that upstream writes in some files are handled here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from clinicadl.errors import InputError

__all__ = ["ID_COLUMNS", "read_tsv", "require_columns", "require_unique_sessions"]

ID_COLUMNS: tuple[str, str] = ("participant_id", "session_id")
"""Columns that identify an image (a session of a participant)."""

_UNNAMED_INDEX = "Unnamed: 0"


def read_tsv(path: str | Path, *, strings: bool = False) -> pd.DataFrame:
    """Read a tab-separated table; ``participant_id`` and ``session_id`` are read as strings.

    A first column without a name (a pandas index written by upstream) is dropped.

    Parameters
    ----------
    path : str or Path
        The TSV file.
    strings : bool, default False
        Read every cell as a string, empty cells as ``""`` (no type guessing).

    Raises
    ------
    InputError
        If the file is missing, empty, has a header but no rows, or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} not found; check the path (or re-run the command that writes it).")
    options: dict = {"sep": "\t"}
    if strings:
        options.update(dtype=str, keep_default_na=False)
    else:
        options.update(dtype={column: str for column in ID_COLUMNS})
    try:
        frame = pd.read_csv(path, **options)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty; re-run the command that writes it.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        message = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise InputError(
            f"{path} is not a readable tab-separated table ({message}); fix or re-create the file."
        ) from None
    if len(frame.columns) and str(frame.columns[0]) == _UNNAMED_INDEX:
        frame = frame.drop(columns=frame.columns[0])
    frame.columns = [str(column).strip() for column in frame.columns]
    if frame.empty:
        raise InputError(
            f"{path} has a header but no rows (columns: {', '.join(frame.columns)}); "
            "re-run the command that writes it."
        )
    return frame


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: str | Path, *, fix: str = "") -> None:
    """Raise :class:`InputError` naming the file, the missing columns and the columns found."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        hint = f"; {fix}" if fix else ""
        raise InputError(
            f"{path} lacks the required columns {', '.join(missing)} "
            f"(found: {', '.join(map(str, frame.columns))}){hint}."
        )


def require_unique_sessions(frame: pd.DataFrame, path: str | Path, *, what: str = "sessions") -> None:
    """Raise :class:`InputError` when a (participant_id, session_id) pair is listed twice in ``frame``."""
    duplicated = frame.duplicated(list(ID_COLUMNS), keep=False)
    if duplicated.any():
        first = frame.loc[duplicated, list(ID_COLUMNS)].iloc[0]
        raise InputError(
            f"{path} lists {int(duplicated.sum())} rows of repeated {what} (first: {first['participant_id']} "
            f"{first['session_id']}); keep one row per participant_id, session_id."
        )
