"""``tsvtools get-metadata``: copy columns of a merged TSV into a participant TSV, session by session.

Also used by ``tsvtools kfold --merged-tsv`` to find the columns (diagnosis, age, sex) that a participant TSV lacks.
Cells stay the text found in the files, so that a file written back keeps every other cell byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from clinicadl.data.labels import ID_COLUMNS, read_participants_tsv, write_tsv
from clinicadl.errors import InputError

__all__ = ["add_metadata", "get_metadata", "session_columns"]


def add_metadata(data: pd.DataFrame, merged: pd.DataFrame, *, variables: Sequence[str] | None = None,
                 data_path: str | Path = "the data", merged_path: str | Path = "the merged TSV") -> pd.DataFrame:
    """``data`` with columns of ``merged`` added, matched on ``participant_id`` and ``session_id``.

    Parameters
    ----------
    data, merged : pandas.DataFrame
        Participant TSVs (string cells), as :func:`~clinicadl.data.labels.read_participants_tsv` reads them.
    variables : sequence of str, optional
        Columns of ``merged`` to add (replacing those of ``data`` with the same name); default: every column of
        ``merged`` that ``data`` lacks.
    data_path, merged_path : str or Path
        Names of the files, for the messages.

    Returns
    -------
    pandas.DataFrame
        The rows of ``data`` in their order, its columns then the added ones.

    Raises
    ------
    InputError
        A variable is not a column of ``merged``, or a session of ``data`` is not in ``merged``.
    """
    if variables:
        unknown = [name for name in variables if name not in merged.columns]
        if unknown:
            raise InputError(
                f"{merged_path} has no column {', '.join(unknown)} (found: {', '.join(merged.columns)}); "
                "choose the variables among its columns."
            )
        columns = [name for name in dict.fromkeys(variables) if name not in ID_COLUMNS]
    else:
        columns = [name for name in merged.columns if name not in data.columns]
    if not columns:
        return data.reset_index(drop=True)
    return session_columns(data, merged, columns, data_path, merged_path)


def session_columns(data: pd.DataFrame, merged: pd.DataFrame, columns: Sequence[str], data_path: str | Path,
                    merged_path: str | Path) -> pd.DataFrame:
    """``data`` (in its row order, index reset) with ``columns`` taken from ``merged`` session by session.

    Columns of ``data`` with those names are replaced. A session of ``data`` that ``merged`` lacks is an
    :class:`~clinicadl.errors.InputError` naming both files.
    """
    columns = list(columns)
    lookup = merged.set_index(list(ID_COLUMNS))[columns]
    keys = pd.MultiIndex.from_frame(data[list(ID_COLUMNS)])
    absent = ~keys.isin(lookup.index)
    if absent.any():
        first = keys[absent][0]
        raise InputError(
            f"{int(absent.sum())} session(s) of {data_path} are not in {merged_path} (first: {first[0]} {first[1]}); "
            "give the merged TSV the data come from."
        )
    extra = lookup.loc[keys].reset_index(drop=True)
    kept = data.drop(columns=[name for name in columns if name in data.columns]).reset_index(drop=True)
    return pd.concat([kept, extra], axis=1)


def get_metadata(data_tsv: str | Path, merged_tsv: str | Path,
                 variables_of_interest: Sequence[str] | None = None) -> Path:
    """``tsvtools get-metadata``: add columns of ``merged_tsv`` to ``data_tsv``, rewritten in place (atomically).

    Parameters
    ----------
    data_tsv : str or Path
        Participant TSV (``participant_id session_id`` ...), e.g. a file written by ``tsvtools split``.
    merged_tsv : str or Path
        TSV with every session's data (``clinica iotools merge-tsv`` output, ``labels.tsv``, a ``data.tsv``).
    variables_of_interest : sequence of str, optional
        Columns to add; default (as upstream): every column of ``merged_tsv`` that ``data_tsv`` lacks.

    Returns
    -------
    Path
        ``data_tsv``.

    Examples
    --------
    ``clinicadl tsvtools get-metadata split/train.tsv merged.tsv -voi MMSE -voi age``
    """
    data_tsv, merged_tsv = Path(data_tsv), Path(merged_tsv)
    data = read_participants_tsv(data_tsv)
    merged = read_participants_tsv(merged_tsv)
    result = add_metadata(data, merged, variables=variables_of_interest or None, data_path=data_tsv,
                          merged_path=merged_tsv)
    return write_tsv(data_tsv, result)
