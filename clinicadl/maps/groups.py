"""Data groups of a MAPS: the ``data.tsv`` listing the images of each group."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clinicadl.maps.layout import group_data_tsv_path
from clinicadl.maps.tables import ID_COLUMNS, read_tsv, require_columns, require_unique_sessions

__all__ = ["read_group_data", "read_group_tsv"]


def read_group_tsv(path: str | Path) -> pd.DataFrame:
    """Read the ``data.tsv`` of a data group (``participant_id, session_id, cohort`` + label columns).

    The train/validation files of a 1.x MAPS carry an unnamed pandas index as first column; it is dropped.

    Raises
    ------
    InputError
        If the file is missing or empty, lacks ``participant_id``/``session_id``, or lists an image twice.
    """
    frame = read_tsv(path)
    require_columns(frame, ID_COLUMNS, path)
    require_unique_sessions(frame, path, what="images")
    return frame.reset_index(drop=True)


def read_group_data(maps_path: str | Path, data_group: str, *, split: int | None = None) -> pd.DataFrame:
    """Images of a data group of a MAPS.

    Parameters
    ----------
    maps_path : str or Path
        Folder of the MAPS (1.x or 2.0).
    data_group : str
        Name of the group (``"train"``, ``"validation"``, ``"test-heldout"``...).
    split : int, optional
        Split of the per-split groups ``train`` and ``validation``; may be left out when there is one split.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``session_id`` then the other columns of the file, in file order.

    Raises
    ------
    MAPSError
        If the group or split does not exist (the message lists the available ones).
    InputError
        If the file is malformed (see :func:`read_group_tsv`).
    """
    return read_group_tsv(group_data_tsv_path(maps_path, data_group, split=split))
