"""``tsvtools get-progression``: is each session's diagnosis stable over a time horizon (ClinicaDL 1.x's rules)?

For the session at month ``m`` of a participant, the diagnosis at month ``m + horizon`` is compared with its own on
the scale CN < MCI < AD (``Dementia`` counts as AD):

1. a session at ``m + horizon`` exists: that session's diagnosis;
2. ``m + horizon`` is after the participant's last session: the last session's diagnosis;
3. otherwise the session just before ``m + horizon``, and, if it is equal, the session just after it.

A higher diagnosis gives ``p`` (progressive), a lower one ``r`` (regressive), the same ``s`` (stable). A participant
who both progresses and regresses (``p`` then ``r`` or ``r`` then ``p``) is unstable: every session becomes ``us``.
The last session of every other participant is ``uk`` (unknown: nothing is seen after it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from clinicadl.data.labels import read_participants_tsv, sort_sessions, write_tsv
from clinicadl.errors import InputError

__all__ = ["STABILITY", "get_progression", "progression_labels"]

STABILITY = {"CN": 0, "MCI": 1, "AD": 2, "Dementia": 2}
"""Order of the diagnoses along the disease (upstream's ``stability_dict``)."""

_MONTH = re.compile(r"^ses-M(\d+)$")


def _months(sessions: pd.Series, source: object) -> list[int]:
    months = []
    for session in sessions:
        match = _MONTH.match(session)
        if match is None:
            raise InputError(f"{source}: session {session!r} is not named ses-M<months> (e.g. ses-M012); "
                             "get-progression needs the month of each session.")
        months.append(int(match.group(1)))
    return months


def _compare(later: int, now: int) -> str:
    return "p" if later > now else "r" if later < now else "s"


def _participant_labels(months: list[int], levels: list[int], horizon: int) -> list[str]:
    """Labels of one participant's sessions, ``months`` sorted ascending."""
    level_at = dict(zip(months, levels))
    labels = []
    for month, level in zip(months, levels):
        target = month + horizon
        if target in level_at:
            label = _compare(level_at[target], level)
        elif target > months[-1]:
            label = _compare(levels[-1], level)
        else:
            before = max(m for m in months if m < target)
            after = min(m for m in months if m > target)
            label = _compare(level_at[before], level)
            if label == "s":
                label = _compare(level_at[after], level)
        labels.append(label)
    status, unstable = 0, False
    for label in labels:
        if label == "p":
            unstable, status = unstable or status < 0, 1
        elif label == "r":
            unstable, status = unstable or status > 0, -1
    if unstable:
        return ["us"] * len(labels)
    return [*labels[:-1], "uk"]


def progression_labels(frame: pd.DataFrame, *, horizon: int = 36, source: object = "the data") -> pd.Series:
    """The progression label (``s p r us uk``) of every session of ``frame`` (same index), see the module docstring.

    Raises
    ------
    InputError
        No ``diagnosis`` column, a diagnosis off the CN/MCI/AD scale, or a session not named ``ses-M<months>``.

    Examples
    --------
    >>> frame = pd.DataFrame({"participant_id": ["sub-1"] * 3, "session_id": ["ses-M000", "ses-M036", "ses-M072"],
    ...                       "diagnosis": ["CN", "MCI", "MCI"]})
    >>> progression_labels(frame).tolist()
    ['p', 's', 'uk']
    """
    if "diagnosis" not in frame.columns:
        raise InputError(f"{source} has no diagnosis column (found: {', '.join(frame.columns)}); add it with "
                         "`clinicadl tsvtools get-metadata DATA_TSV MERGED_TSV -voi diagnosis`.")
    diagnoses = frame["diagnosis"].astype(str).str.strip()
    unknown = sorted(set(diagnoses) - set(STABILITY))
    if unknown:
        raise InputError(f"{source} has diagnoses off the CN < MCI < AD scale: {', '.join(unknown)}; "
                         "get-progression knows CN, MCI, AD and Dementia only.")
    if horizon < 0:
        raise InputError(f"time_horizon must be >= 0 months; got {horizon}.")
    months = pd.Series(_months(frame["session_id"], source), index=frame.index)
    labels = pd.Series("", index=frame.index, dtype=object)
    for _, rows in frame.groupby("participant_id", sort=False):
        order = months.loc[rows.index].sort_values(kind="stable").index
        labels.loc[order] = _participant_labels(months.loc[order].tolist(),
                                                [STABILITY[d] for d in diagnoses.loc[order]], horizon)
    return labels


def get_progression(data_tsv: str | Path, *, time_horizon: int = 36) -> Path:
    """``tsvtools get-progression``: add (or replace) the column ``progression`` of ``data_tsv``, in place.

    Returns
    -------
    Path
        ``data_tsv``, rewritten atomically with rows sorted by participant then session.
    """
    data_tsv = Path(data_tsv)
    frame = sort_sessions(read_participants_tsv(data_tsv))
    frame = frame.assign(progression=progression_labels(frame, horizon=time_horizon, source=data_tsv))
    return write_tsv(data_tsv, frame)
