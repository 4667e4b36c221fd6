"""Participant TSVs: reading and writing them byte-stably, baseline sessions, and ``tsvtools get-labels``.

A participant TSV lists one session per row (``participant_id``, ``session_id``, then labels and
demographics). Every reader here keeps the cells as the strings found in the file, so that a file
written back holds exactly the input's text (``70.0`` stays ``70.0``); numbers are parsed only where a
computation needs them. Rows are written sorted by participant then session, in the *natural* order
of the identifiers (digits compared as numbers: ``ses-M6 < ses-M12``), which is the plain sorted order
for the zero-padded identifiers of BIDS datasets (``ses-M000 < ses-M006 < ses-M012``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import InputError
from clinicadl.maps.tables import ID_COLUMNS, read_tsv, require_columns, require_unique_sessions

__all__ = [
    "ID_COLUMNS",
    "LabelsResult",
    "baseline_sessions",
    "find_column",
    "format_json",
    "format_tsv",
    "get_labels",
    "natural_key",
    "read_participants_tsv",
    "sort_sessions",
    "write_json",
    "write_tsv",
]

MISSING_VALUES = frozenset({"", "n/a", "na", "nan", "none", "null"})
"""Cell texts read as a missing value (compared in lower case)."""

AGE_COLUMNS = ("age", "age_bl")
"""Columns searched, in this order, for the age (``age_bl`` is Clinica's baseline age of ADNI-like datasets)."""
SEX_COLUMNS = ("sex",)
DIAGNOSIS_COLUMNS = ("diagnosis", "dx1", "diagnosis_bl")
"""Columns searched, in this order, for the diagnosis of a session in a Clinica merged TSV."""

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: object) -> tuple:
    """Sort key comparing the digit runs of ``text`` as numbers: ``ses-M6 < ses-M12 < ses-M100``.

    Examples
    --------
    >>> sorted(["ses-M12", "ses-M6", "ses-M100"], key=natural_key)
    ['ses-M6', 'ses-M12', 'ses-M100']
    """
    parts = _DIGITS.split(str(text))
    return tuple((1, int(part), part) if index % 2 else (0, 0, part) for index, part in enumerate(parts))


def sort_sessions(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by participant then session (natural order), with a fresh 0..n-1 index."""
    if frame.empty:
        return frame.reset_index(drop=True)
    keys = [(natural_key(p), natural_key(s)) for p, s in zip(frame["participant_id"], frame["session_id"])]
    order = sorted(range(len(frame)), key=keys.__getitem__)
    return frame.iloc[order].reset_index(drop=True)


def baseline_sessions(frame: pd.DataFrame) -> pd.DataFrame:
    """The baseline row of each participant: its first session in sorted (natural) order.

    Examples
    --------
    >>> frame = pd.DataFrame({"participant_id": ["sub-1", "sub-1", "sub-0"],
    ...                       "session_id": ["ses-M12", "ses-M6", "ses-M0"]})
    >>> baseline_sessions(frame).values.tolist()
    [['sub-0', 'ses-M0'], ['sub-1', 'ses-M6']]
    """
    ordered = sort_sessions(frame)
    return ordered[~ordered["participant_id"].duplicated(keep="first")].reset_index(drop=True)


def find_column(frame: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    """The first of ``candidates`` that is a column of ``frame`` (exact name, else case-insensitive), or None."""
    for candidate in candidates:
        if candidate in frame.columns:
            return candidate
    lower = {str(column).lower(): str(column) for column in frame.columns}
    for candidate in candidates:
        if candidate.lower() in lower:
            return lower[candidate.lower()]
    return None


def read_participants_tsv(path: str | Path, *, required: Iterable[str] = ID_COLUMNS, fix: str = "") -> pd.DataFrame:
    """Read a participant TSV with every cell as a string (empty cells as ``""``).

    Parameters
    ----------
    path : str or Path
        The TSV file (``participant_id``, ``session_id``, ...). A first column without a name (a
        pandas index, as upstream writes in some files) is dropped.
    required : iterable of str
        Columns that must be present (``participant_id`` and ``session_id`` by default).
    fix : str
        How to fix a missing column, appended to the error message.

    Returns
    -------
    pandas.DataFrame
        The rows in file order, all columns of dtype ``object`` (str).

    Raises
    ------
    InputError
        The file is missing, unreadable, empty or not a TSV; a required column is missing (the message
        lists the columns found); an identifier is empty; or a session is listed twice.
    """
    path = Path(path)
    try:
        frame = read_tsv(path, strings=True)
    except OSError as error:
        raise InputError(
            f"{path} cannot be read ({error.strerror or error}); check the path and its permissions."
        ) from None
    require_columns(frame, list(required), path, fix=fix)
    for column in ID_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].str.strip()
            empty = frame[column] == ""
            if empty.any():
                raise InputError(
                    f"{path} has {int(empty.sum())} row(s) with an empty {column} (first at data row "
                    f"{int(empty.to_numpy().argmax()) + 1}); fill or remove these rows."
                )
    if all(column in frame.columns for column in ID_COLUMNS):
        require_unique_sessions(frame, path)
    return frame


def format_tsv(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """Tab-separated text of ``frame``: header, one line per row, ``\\n`` line ends, cells as ``str``.

    Cells that are missing (None/NaN) are written ``n/a``; other cells with ``str()``, so string cells
    read by :func:`read_participants_tsv` are written back byte for byte.
    """
    columns = list(frame.columns if columns is None else columns)
    lines = ["\t".join(map(str, columns))]
    for row in frame[columns].itertuples(index=False, name=None):
        lines.append("\t".join(_cell(value) for value in row))
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    return str(value)


def _output_error(path: Path, error: OSError) -> InputError:
    return InputError(f"cannot write {path} ({error.strerror or error}); choose a writable folder.")


def write_tsv(path: str | Path, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> Path:
    """Write :func:`format_tsv` of ``frame`` atomically to ``path``; return the path."""
    path = Path(path)
    try:
        return atomic_write_text(path, format_tsv(frame, columns))
    except OSError as error:
        raise _output_error(path, error) from None


def format_json(content: dict) -> str:
    """JSON text with 4-space indentation, keys in the given order, and a final newline."""
    return json.dumps(content, indent=4, ensure_ascii=False) + "\n"


def write_json(path: str | Path, content: dict) -> Path:
    """Write :func:`format_json` of ``content`` atomically to ``path``; return the path."""
    path = Path(path)
    try:
        return atomic_write_text(path, format_json(content))
    except OSError as error:
        raise _output_error(path, error) from None


# ----------------------------------------------------------------------------------------------------------------
# get-labels


@dataclass(frozen=True, eq=False)
class LabelsResult:
    """What :func:`get_labels` wrote.

    Attributes
    ----------
    labels : pandas.DataFrame
        The labels table written (``participant_id session_id diagnosis age sex`` + variables of interest).
    tsv_path, json_path : Path
        ``labels.tsv`` and its sidecar ``labels.json`` (options and counts).
    source : Path
        The merged TSV (or ``data.tsv``) the labels were read from.
    notes : tuple of str
        What was skipped or could not be done (e.g. no modality filter without ``--missing_mods``).
    """

    labels: pd.DataFrame
    tsv_path: Path
    json_path: Path
    source: Path
    notes: tuple[str, ...]


def get_labels(
    bids_or_tsv: str | Path,
    output_directory: str | Path,
    *,
    diagnoses: Sequence[str] = ("AD", "CN"),
    variables_of_interest: Sequence[str] = (),
    merged_tsv: str | Path | None = None,
    missing_mods: str | Path | None = None,
    modality: str = "t1w",
    restriction_tsv: str | Path | None = None,
    keep_smc: bool = False,
    remove_unique_session: bool = False,
    caps_directory: str | Path | None = None,
) -> LabelsResult:
    """Write ``<output_directory>/labels.tsv``: the sessions whose diagnosis is one of ``diagnoses``.

    Parameters
    ----------
    bids_or_tsv : str or Path
        A Clinica merged TSV (output of ``clinica iotools merge-tsv``), a cohort generator's ``data.tsv``,
        or a BIDS folder; for a folder the merged TSV is ``merged_tsv`` or ``<output_directory>/merged.tsv``
        (clinicadl does not run Clinica).
    output_directory : str or Path
        Folder of ``labels.tsv`` and ``labels.json`` (created if needed).
    diagnoses : sequence of str
        Diagnoses kept (sessions with another or an empty diagnosis are dropped).
    variables_of_interest : sequence of str
        Further columns of the merged TSV to copy, after ``participant_id session_id diagnosis age sex``.
    merged_tsv : str or Path, optional
        The merged TSV when ``bids_or_tsv`` is a BIDS folder.
    missing_mods : str or Path, optional
        Output folder of ``clinica iotools check-missing-modalities`` (``missing_mods_<session>.tsv`` files:
        ``participant_id`` + one 0/1 column per modality) or one TSV with ``participant_id session_id
        <modality>``. Sessions without ``modality`` are dropped. Default: ``<output_directory>/missing_mods``
        when it exists, else no modality filter.
    modality : str
        Modality column of ``missing_mods`` that a session must have (``t1w`` by default).
    restriction_tsv : str or Path, optional
        TSV of the sessions allowed (``participant_id session_id``), e.g. those passing quality control.
    keep_smc : bool
        Keep participants whose ``diagnosis_bl`` or ``diagnosis_sc`` is ``SMC`` (dropped by default, as upstream).
    remove_unique_session : bool
        Drop participants with a single session (after the other filters).
    caps_directory : str or Path, optional
        A CAPS: keep only the sessions it holds (``subjects/<participant>/<session>/``).

    Returns
    -------
    LabelsResult

    Raises
    ------
    InputError
        No merged TSV, a missing column (diagnosis, a variable of interest), unreadable files, or no
        session left after filtering.

    Notes
    -----
    The diagnosis is read from ``diagnosis`` (else ``dx1``, else ``diagnosis_bl``), the age from ``age``
    (else ``age_bl``) and the sex from ``sex``; they are written as ``diagnosis``, ``age`` and ``sex``.
    Unlike upstream, a missing diagnosis is not inferred from the neighbouring sessions (the session is
    dropped).
    """
    output_directory = Path(output_directory)
    source_path = _merged_tsv_path(Path(bids_or_tsv), output_directory, merged_tsv)
    merged = read_participants_tsv(source_path)
    notes: list[str] = []
    diagnosis_column = _check_merged(merged, source_path, diagnoses, variables_of_interest)
    frame = merged if keep_smc else _without_smc(merged)
    labels, age_column, sex_column = _label_columns(frame, diagnosis_column, variables_of_interest, source_path,
                                                    notes)
    labels = labels[labels["diagnosis"].isin(list(diagnoses))]
    mods_path = Path(missing_mods) if missing_mods is not None else output_directory / "missing_mods"
    filter_mods = missing_mods is not None or mods_path.is_dir()
    if filter_mods:
        available = _sessions_with_modality(mods_path, modality)
        keys = list(zip(labels["participant_id"], labels["session_id"]))
        labels = labels[[key in available for key in keys]]
    else:
        notes.append("no --missing_mods given: sessions were not filtered on the presence of the modality")
    if restriction_tsv is not None:
        restriction = read_participants_tsv(restriction_tsv)
        allowed = set(zip(restriction["participant_id"], restriction["session_id"]))
        labels = labels[[key in allowed for key in zip(labels["participant_id"], labels["session_id"])]]
    if caps_directory is not None:
        labels = _sessions_in_caps(labels, Path(caps_directory), notes)
    if remove_unique_session:
        counts = labels["participant_id"].value_counts()
        labels = labels[labels["participant_id"].map(counts) > 1]
    if labels.empty:
        found = sorted(set(merged[diagnosis_column].str.strip()) - {""}, key=natural_key)
        raise InputError(
            f"no session of {source_path} is left after filtering (diagnoses asked: {', '.join(diagnoses)}; "
            f"found: {', '.join(found)}); check --diagnoses and the other filters."
        )
    labels = sort_sessions(labels)

    tsv_path = write_tsv(output_directory / "labels.tsv", labels)
    summary = {
        "bids_directory": str(bids_or_tsv) if Path(bids_or_tsv).is_dir() else None,
        "merged_tsv": source_path.name,
        "diagnoses": list(diagnoses),
        "modality": modality,
        "restriction_tsv": Path(restriction_tsv).name if restriction_tsv is not None else None,
        "variables_of_interest": list(variables_of_interest),
        "remove_smc": not keep_smc,
        "missing_mods": mods_path.name if filter_mods else None,
        "remove_unique_session": remove_unique_session,
        "caps_directory": str(caps_directory) if caps_directory is not None else None,
        "columns": {"diagnosis": diagnosis_column, "age": age_column, "sex": sex_column},
        "n_input_sessions": len(merged),
        "n_sessions": len(labels),
        "n_participants": int(labels["participant_id"].nunique()),
        "n_participants_per_diagnosis": {
            d: int(labels.loc[labels["diagnosis"] == d, "participant_id"].nunique()) for d in diagnoses
        },
        "notes": notes,
    }
    json_path = write_json(output_directory / "labels.json", summary)
    return LabelsResult(labels, tsv_path, json_path, source_path, tuple(notes))


def _sessions_in_caps(labels: pd.DataFrame, caps: Path, notes: list[str]) -> pd.DataFrame:
    """The sessions of ``labels`` that ``caps`` holds (``subjects/<participant>/<session>/``)."""
    if not (caps / "subjects").is_dir():
        raise InputError(f"{caps} is not a CAPS: it has no subjects/ folder; give the CAPS folder to --caps_directory.")
    present = [(caps / "subjects" / p / s).is_dir() for p, s in zip(labels["participant_id"], labels["session_id"])]
    dropped = len(present) - sum(present)
    if dropped:
        notes.append(f"{dropped} session(s) absent from the CAPS {caps} were removed")
    return labels[pd.Series(present, index=labels.index, dtype=bool)]


def _check_merged(merged: pd.DataFrame, source_path: Path, diagnoses: Sequence[str],
                  variables_of_interest: Sequence[str]) -> str:
    """The diagnosis column of the merged TSV, once its columns and the diagnoses asked are checked."""
    diagnosis_column = find_column(merged, DIAGNOSIS_COLUMNS)
    if diagnosis_column is None:
        raise InputError(
            f"{source_path} has no diagnosis column (looked for {', '.join(DIAGNOSIS_COLUMNS)}; found: "
            f"{', '.join(merged.columns)}); add a diagnosis column."
        )
    missing_variables = [v for v in variables_of_interest if v not in merged.columns]
    if missing_variables:
        raise InputError(
            f"{source_path} lacks the variables of interest {', '.join(missing_variables)} "
            f"(found: {', '.join(merged.columns)}); remove them from --variables_of_interest."
        )
    if not diagnoses:
        raise InputError("no diagnosis asked; give at least one --diagnoses (e.g. --diagnoses AD --diagnoses CN).")
    return diagnosis_column


def _without_smc(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the participants whose ``diagnosis_bl`` or ``diagnosis_sc`` is SMC (as upstream)."""
    for column in ("diagnosis_bl", "diagnosis_sc"):
        if column in frame.columns:
            smc = set(frame.loc[frame[column].str.strip() == "SMC", "participant_id"])
            frame = frame[~frame["participant_id"].isin(smc)]
    return frame


def _label_columns(frame: pd.DataFrame, diagnosis_column: str, variables_of_interest: Sequence[str],
                   source_path: Path, notes: list[str]) -> tuple[pd.DataFrame, str | None, str | None]:
    """``participant_id session_id diagnosis age sex`` and the variables of interest of ``frame``, with the age
    and sex columns found (None, with a note appended, when absent)."""
    age_column = find_column(frame, AGE_COLUMNS)
    sex_column = find_column(frame, SEX_COLUMNS)
    labels = pd.DataFrame({
        "participant_id": frame["participant_id"],
        "session_id": frame["session_id"],
        "diagnosis": frame[diagnosis_column].str.strip(),
    })
    if age_column is not None:
        labels["age"] = frame[age_column]
    else:
        notes.append(f"{source_path.name} has no age column ({', '.join(AGE_COLUMNS)}); labels.tsv has none")
    if sex_column is not None:
        labels["sex"] = frame[sex_column]
    else:
        notes.append(f"{source_path.name} has no sex column; labels.tsv has none")
    for variable in variables_of_interest:
        if variable not in labels.columns:
            labels[variable] = frame[variable]
    return labels, age_column, sex_column


def _merged_tsv_path(bids_or_tsv: Path, output_directory: Path, merged_tsv: str | Path | None) -> Path:
    if merged_tsv is not None:
        return Path(merged_tsv)
    if bids_or_tsv.is_file():
        return bids_or_tsv
    if bids_or_tsv.is_dir():
        default = output_directory / "merged.tsv"
        if default.is_file():
            return default
        raise InputError(
            f"{bids_or_tsv} is a folder and no merged TSV was found ({default} does not exist); clinicadl does not "
            f"run Clinica: run `clinica iotools merge-tsv {bids_or_tsv} {default}` or pass --merged_tsv."
        )
    raise InputError(f"{bids_or_tsv} not found; give a merged TSV, a data.tsv or a BIDS folder with --merged_tsv.")


def _sessions_with_modality(path: Path, modality: str) -> set[tuple[str, str]]:
    """(participant, session) pairs that have ``modality`` in a missing-modalities folder or TSV."""
    if path.is_file():
        table = read_participants_tsv(path, required=(*ID_COLUMNS, modality),
                                      fix=f"the modality column must be named as --modality ({modality})")
        tables = [table]
    elif path.is_dir():
        tables = []
        for file in sorted(path.glob("*.tsv"), key=lambda p: natural_key(p.name)):
            table = read_participants_tsv(file, required=("participant_id", modality),
                                          fix=f"the modality column must be named as --modality ({modality})")
            if "session_id" not in table.columns:
                table = table.assign(session_id=file.stem.split("_")[-1])
            tables.append(table)
        if not tables:
            raise InputError(
                f"{path} holds no TSV file; give the output folder of `clinica iotools check-missing-modalities`."
            )
    else:
        raise InputError(f"{path} not found; give the output of `clinica iotools check-missing-modalities`.")
    available: set[tuple[str, str]] = set()
    for table in tables:
        present = table[modality].str.strip().isin(["1", "1.0", "True", "true"])
        available.update(zip(table.loc[present, "participant_id"], table.loc[present, "session_id"]))
    return available
