"""``clinicadl tsvtools split | kfold | analysis``: participant TSVs written in ClinicaDL 1.x's folder layout.

``split DATA_TSV`` writes, next to ``DATA_TSV``::

    split/
        train.tsv                   all sessions of the train participants
        train_baseline.tsv          their baseline sessions
        <subset>_baseline.tsv       baseline sessions of the <subset> participants (test by default)
        <subset>.tsv                all their sessions (with --not_only_keep_baseline)
        split.json                  options (upstream's keys), seed, draws and p-values

``kfold DATA_TSV`` writes, next to ``DATA_TSV``::

    <n_splits>_fold/
        kfold.json
        split-<i>/train.tsv, train_baseline.tsv, <subset>_baseline.tsv (+ <subset>.tsv with --valid_longitudinal)

Every TSV keeps the columns of ``DATA_TSV`` in its order and its cells byte for byte, with rows sorted
by participant then session; JSON files hold no date or absolute path. The same input, options and seed
therefore give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from clinicadl.data.demographics import ANALYSIS_COLUMNS, demographics_table
from clinicadl.data.labels import (
    AGE_COLUMNS,
    ID_COLUMNS,
    SEX_COLUMNS,
    baseline_sessions,
    find_column,
    natural_key,
    read_participants_tsv,
    sort_sessions,
    write_json,
    write_tsv,
)
from clinicadl.data.metadata import session_columns
from clinicadl.data.splitting import PartitionDraw, balanced_kfold, balanced_split, resolve_n_test
from clinicadl.errors import InputError

__all__ = ["TsvToolsResult", "analysis_tsv", "kfold_tsv", "split_tsv"]


@dataclass(frozen=True, eq=False)
class TsvToolsResult:
    """What a ``tsvtools`` command wrote.

    Attributes
    ----------
    folder : Path
        The output folder (``split/``, ``<k>_fold/``) or the parent of the output file.
    written : tuple of Path
        Every file written, in writing order.
    draw : PartitionDraw or None
        The partitions, seeds and p-values (split and kfold).
    """

    folder: Path
    written: tuple[Path, ...]
    draw: PartitionDraw | None = None
    removed: tuple[Path, ...] = ()
    """Folders derived from the replaced files (``<k>_fold/``, a nested ``split/``) removed by ``--overwrite``."""


def _round(value: float) -> float | None:
    """A p-value for JSON: 6 decimals, None when undefined."""
    return None if value is None or value != value else round(float(value), 6)


def _check_subset_name(subset_name: str) -> str:
    if not subset_name or subset_name != Path(subset_name).name or subset_name in (".", "..", "train"):
        raise InputError(
            f"subset_name={subset_name!r} is not valid; give a plain name other than train (e.g. test, validation)."
        )
    return subset_name


def _read_data(data_tsv: Path, test_tsv: str | Path | None) -> tuple[pd.DataFrame, int]:
    """The sessions of DATA_TSV (minus the participants of test_tsv), and the number of participants removed."""
    frame = read_participants_tsv(data_tsv)
    removed = 0
    if test_tsv is not None:
        held_out = set(read_participants_tsv(test_tsv)["participant_id"])
        keep = ~frame["participant_id"].isin(held_out)
        removed = int(frame.loc[~keep, "participant_id"].nunique())
        frame = frame[keep]
        if frame.empty:
            raise InputError(f"every participant of {data_tsv} is in {test_tsv}; nothing is left to split.")
    return sort_sessions(frame), removed


def _derived_folders(folder: Path) -> list[Path]:
    """Folders made by ``tsvtools split`` or ``kfold`` from the files of ``folder`` (they hold a split.json or
    kfold.json): a ``<k>_fold/`` of ``train.tsv``, a ``split/`` of it."""
    if not folder.is_dir():
        return []
    return sorted(child for child in folder.iterdir() if child.is_dir() and not child.is_symlink()
                  and ((child / "kfold.json").is_file() or (child / "split.json").is_file()))


def _prepare_folder(folder: Path, *, overwrite: bool, stale: Sequence[str], what: str) -> list[Path]:
    """Create ``folder``; refuse an existing one unless ``overwrite`` (then remove ``stale`` glob patterns and the
    folders derived from the files replaced, which would otherwise describe participants of the old split).

    Returns the derived folders removed."""
    import shutil

    removed = []
    if folder.exists():
        if not folder.is_dir():
            raise InputError(f"{folder} exists and is not a folder; move it away to write the {what}.")
        if not overwrite:
            raise InputError(
                f"{folder} already exists; pass --overwrite to replace the {what}, or move the folder away."
            )
        for derived in _derived_folders(folder):
            shutil.rmtree(derived)
            removed.append(derived)
        for pattern in stale:
            for path in sorted(folder.glob(pattern)):
                if path.is_file():
                    path.unlink()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create {folder} ({error.strerror or error}); choose a writable folder.") from None
    return removed


def _write_sides(folder: Path, train: pd.DataFrame, test: pd.DataFrame, subset_name: str, longitudinal: bool,
                 columns: list[str]) -> list[Path]:
    written = [
        write_tsv(folder / "train.tsv", train, columns),
        write_tsv(folder / "train_baseline.tsv", baseline_sessions(train), columns),
        write_tsv(folder / f"{subset_name}_baseline.tsv", baseline_sessions(test), columns),
    ]
    if longitudinal:
        written.append(write_tsv(folder / f"{subset_name}.tsv", test, columns))
    return written


def _stratification(frame: pd.DataFrame, columns: Sequence[str], data_tsv: Path, fix: str) -> list[str]:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InputError(
            f"{data_tsv} lacks the column {', '.join(missing)} needed to stratify (found: "
            f"{', '.join(frame.columns)}); {fix}."
        )
    return list(columns)


def _draw_split(frame: pd.DataFrame, data_tsv: Path, n_test: float, label: list[str], seed: int, max_tries: int,
                multi_diagnoses: bool, thresholds: tuple[float, float] | None):
    """The split of ``split_tsv``: most balanced on every column (multi_diagnoses), balanced on age and sex
    (thresholds), or one draw; and the covariate balance (multi_diagnoses only, else None)."""
    if multi_diagnoses:
        from clinicadl.data.covariate_balance import most_balanced_split

        return most_balanced_split(frame, n_test, label=label, seed=seed, n_draws=max_tries, source=data_tsv)
    if thresholds is not None and (find_column(frame, AGE_COLUMNS) is None or find_column(frame, SEX_COLUMNS) is None):
        raise InputError(
            f"{data_tsv} has no age ({'/'.join(AGE_COLUMNS)}) or sex column to balance the split (found: "
            f"{', '.join(frame.columns)}); add them, pass --ignore_demographics, or --multi-diagnoses."
        )
    thresholds = thresholds or (None, None)
    draw = balanced_split(frame, n_test, label=label, seed=seed, p_age_threshold=thresholds[0],
                          p_sex_threshold=thresholds[1], max_tries=max_tries, source=data_tsv)
    return draw, None


def split_tsv(
    data_tsv: str | Path,
    *,
    n_test: float = 100,
    subset_name: str = "validation",
    seed: int = 0,
    p_age_threshold: float = 0.80,
    p_sex_threshold: float = 0.80,
    ignore_demographics: bool = False,
    categorical_split_variable: str | None = None,
    not_only_keep_baseline: bool = False,
    test_tsv: str | Path | None = None,
    max_tries: int = 1000,
    overwrite: bool = False,
    multi_diagnoses: bool = False,
) -> TsvToolsResult:
    """``tsvtools split``: one participant-level train/<subset> split of ``data_tsv``, stratified on diagnosis.

    Parameters
    ----------
    data_tsv : str or Path
        Participant TSV (``participant_id session_id diagnosis`` + ``age``/``age_bl`` and ``sex`` unless
        ``ignore_demographics``). The output folder is ``<data_tsv folder>/split``.
    n_test : float
        Participants on the <subset> side: a count (>= 1) or a fraction < 1 (rounded down).
    subset_name : str
        Name of the side complementary to train (``validation``, upstream's default; ``test`` for a test set).
    seed : int
        Seed of the draw, recorded in ``split.json``.
    p_age_threshold, p_sex_threshold : float
        With demographics, draws are repeated (seeds ``seed``, ``[seed, 1]``, ``[seed, 2]``...) until the age
        t-test and sex chi-square p-values between the sides' baseline sessions reach these thresholds.
    ignore_demographics : bool
        One draw, no age/sex check (the p-values are still recorded when the columns exist).
    categorical_split_variable : str, optional
        A further column to stratify on, combined with diagnosis.
    not_only_keep_baseline : bool
        Also write ``<subset>.tsv`` with all the sessions of the <subset> participants.
    test_tsv : str or Path, optional
        A TSV whose participants are removed from ``data_tsv`` before splitting.
    max_tries : int
        Bound on the number of draws with demographics.
    overwrite : bool
        Replace an existing ``split/`` folder's files (its sub-folders are kept).
    multi_diagnoses : bool
        Upstream's ``--multi-diagnoses``: of ``max_tries`` draws, keep the one whose least balanced column (every
        column, :mod:`clinicadl.data.covariate_balance`) is most balanced; the age/sex thresholds are not used.

    Returns
    -------
    TsvToolsResult

    Raises
    ------
    InputError
        Unreadable file, missing column (listing those found), bad ``n_test``, existing output folder,
        or no balanced draw within ``max_tries``.
    """
    data_tsv = Path(data_tsv)
    subset_name = _check_subset_name(subset_name)
    frame, removed = _read_data(data_tsv, test_tsv)
    label = _stratification(
        frame, ["diagnosis", *([categorical_split_variable] if categorical_split_variable else [])], data_tsv,
        "add the diagnosis column (clinicadl tsvtools get-labels writes it)",
    )
    n_participants = int(frame["participant_id"].nunique())
    n_test_participants = resolve_n_test(n_test, n_participants, source=data_tsv)
    draw, covariates = _draw_split(frame, data_tsv, n_test, label, seed, max_tries, multi_diagnoses,
                                   None if ignore_demographics else (p_age_threshold, p_sex_threshold))
    partition = draw.partitions[0]

    folder = data_tsv.parent / "split"
    derived = _prepare_folder(folder, overwrite=overwrite, stale=("*.tsv", "split.json"), what="split")
    columns = list(frame.columns)
    written = _write_sides(folder, partition.train, partition.test, subset_name, not_only_keep_baseline, columns)
    summary = {
        # upstream's keys, in upstream's order (including its spelling of mullti_diagnoses)
        "n_test": float(n_test),
        "subset_name": subset_name,
        "p_age_threshold": p_age_threshold,
        "p_sex_threshold": p_sex_threshold,
        "categorical_split_variable": categorical_split_variable,
        "ignore_demographics": ignore_demographics,
        "mullti_diagnoses": multi_diagnoses,
        # ours
        "data_tsv": data_tsv.name,
        "test_tsv": Path(test_tsv).name if test_tsv is not None else None,
        "n_participants_removed_by_test_tsv": removed,
        "not_only_keep_baseline": not_only_keep_baseline,
        "stratification": label,
        "seed": draw.seed,
        "draw_seed": draw.draw_seed,
        "n_tries": draw.n_tries,
        "max_tries": max_tries,
        "n_participants": {
            "train": int(partition.train["participant_id"].nunique()),
            subset_name: n_test_participants,
        },
        "n_sessions": {"train": len(partition.train), subset_name: len(partition.test)},
        "p_age": _round(partition.balance.p_age),
        "p_sex": _round(partition.balance.p_sex),
    }
    if covariates is not None:
        summary.update(p_min_covariates=_round(covariates.p_min), least_balanced_column=covariates.column)
    written.append(write_json(folder / "split.json", summary))
    return TsvToolsResult(folder, tuple(written), draw, tuple(derived))


def kfold_tsv(
    data_tsv: str | Path,
    *,
    n_splits: int = 5,
    subset_name: str = "validation",
    stratification: str | None = None,
    seed: int = 0,
    valid_longitudinal: bool = False,
    p_age_threshold: float | None = None,
    p_sex_threshold: float | None = None,
    test_tsv: str | Path | None = None,
    max_tries: int = 1000,
    overwrite: bool = False,
    merged_tsv: str | Path | None = None,
) -> TsvToolsResult:
    """``tsvtools kfold``: ``n_splits`` participant-level folds of ``data_tsv``, stratified on a column.

    Parameters
    ----------
    data_tsv : str or Path
        Participant TSV; the output folder is ``<data_tsv folder>/<n_splits>_fold``.
    n_splits : int
        Number of folds (>= 2); every class needs at least ``n_splits`` participants.
    subset_name : str
        Name of the validation side (``validation``).
    stratification : str or None
        Column to stratify on (e.g. ``diagnosis``); None (upstream's default): no stratification.
    seed : int
        Seed of the draw, recorded in ``kfold.json``.
    valid_longitudinal : bool
        Also write ``<subset>.tsv`` with all the sessions of the validation participants.
    p_age_threshold, p_sex_threshold : float, optional
        When given, re-draw (seeds ``seed``, ``[seed, 1]``...) until every fold passes; by default the
        p-values of each fold are only recorded.
    test_tsv : str or Path, optional
        A TSV whose participants are removed before splitting.
    max_tries : int
        Bound on the number of draws with thresholds.
    overwrite : bool
        Replace the files of an existing ``<n_splits>_fold/`` folder.
    merged_tsv : str or Path, optional
        Upstream's ``--merged-tsv``: a TSV of every session (e.g. ``clinica iotools merge-tsv`` output) whose
        columns that ``data_tsv`` lacks (diagnosis, age, sex, ...) are added before splitting, and written.

    Returns
    -------
    TsvToolsResult
    """
    data_tsv = Path(data_tsv)
    subset_name = _check_subset_name(subset_name)
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2:
        raise InputError(f"n_splits={n_splits!r} is not valid; give an integer >= 2.")
    frame, removed = _read_data(data_tsv, test_tsv)
    if merged_tsv is not None:
        from clinicadl.data.metadata import add_metadata

        frame = add_metadata(frame, read_participants_tsv(merged_tsv), data_path=data_tsv, merged_path=merged_tsv)
    label = None
    if stratification is not None:
        label = _stratification(frame, [stratification], data_tsv,
                                "add it, choose another column with --stratification, or pass --stratification none")[0]
    draw = balanced_kfold(frame, n_splits, label=label, seed=seed, p_age_threshold=p_age_threshold,
                          p_sex_threshold=p_sex_threshold, max_tries=max_tries, source=data_tsv)

    folder = data_tsv.parent / f"{n_splits}_fold"
    _prepare_folder(folder, overwrite=overwrite, stale=("split-*/*.tsv", "kfold.json"), what="k-fold split")
    columns = list(frame.columns)
    written: list[Path] = []
    folds = []
    for index, partition in enumerate(draw.partitions):
        written += _write_sides(folder / f"split-{index}", partition.train, partition.test, subset_name,
                                valid_longitudinal, columns)
        folds.append({
            "split": index,
            "n_participants": {"train": int(partition.train["participant_id"].nunique()),
                               subset_name: int(partition.test["participant_id"].nunique())},
            "n_sessions": {"train": len(partition.train), subset_name: len(partition.test)},
            "p_age": _round(partition.balance.p_age),
            "p_sex": _round(partition.balance.p_sex),
        })
    summary = {
        # upstream's keys
        "n_splits": n_splits,
        "subset_name": subset_name,
        "stratification": stratification,
        "valid_longitudinal": valid_longitudinal,
        # ours
        "data_tsv": data_tsv.name,
        "test_tsv": Path(test_tsv).name if test_tsv is not None else None,
        "n_participants_removed_by_test_tsv": removed,
        "seed": draw.seed,
        "draw_seed": draw.draw_seed,
        "n_tries": draw.n_tries,
        "max_tries": max_tries,
        "p_age_threshold": p_age_threshold,
        "p_sex_threshold": p_sex_threshold,
        "folds": folds,
    }
    if merged_tsv is not None:
        summary["merged_tsv"] = Path(merged_tsv).name
    written.append(write_json(folder / "kfold.json", summary))
    return TsvToolsResult(folder, tuple(written), draw)


# ----------------------------------------------------------------------------------------------------------------
# analysis

_DEMOGRAPHIC_CANDIDATES = ("age", "age_bl", "sex", "MMSE", "MMS", "mmse", "mms", "cdr_global", "CDR", "cdr")


def _with_demographics(data: pd.DataFrame, merged: pd.DataFrame, data_path: Path, merged_tsv: Path) -> pd.DataFrame:
    """``data`` with the demographic columns of ``merged`` (preferred) or its own, per session."""
    columns = [c for c in _DEMOGRAPHIC_CANDIDATES if c in merged.columns and c not in ID_COLUMNS]
    if "diagnosis" not in data.columns:
        if "diagnosis" not in merged.columns:
            raise InputError(
                f"neither {data_path} nor {merged_tsv} has a diagnosis column (found in {data_path.name}: "
                f"{', '.join(data.columns)}); add it (clinicadl tsvtools get-labels writes it)."
            )
        columns.append("diagnosis")
    if not columns:
        return data
    return session_columns(data, merged, columns, data_path, merged_tsv)


def _format_number(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    value = float(value)
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def analysis_tsv(
    merged_tsv: str | Path, data_path: str | Path, output_tsv: str | Path, *, diagnoses: Sequence[str] | None = None
) -> TsvToolsResult:
    """``tsvtools analysis``: demographics per diagnosis of a participant TSV, or of every TSV of a split folder.

    Parameters
    ----------
    merged_tsv : str or Path
        Source of the demographics per session (Clinica merged TSV, ``labels.tsv`` or ``data.tsv``):
        ``age``/``age_bl``, ``sex``, ``MMSE``/``MMS``, ``cdr_global``; columns it lacks are taken from the
        data files themselves when present, else reported as ``n/a``.
    data_path : str or Path
        A participant TSV (e.g. ``labels.tsv``), or a folder written by ``split``/``kfold``: then every
        ``*.tsv`` under it is analysed and the table gains a first column ``file`` (path relative to the folder).
    output_tsv : str or Path
        The table to write.
    diagnoses : sequence of str, optional
        Rows of each table; default: the diagnoses present, sorted.

    Returns
    -------
    TsvToolsResult

    Notes
    -----
    Columns: ``[file] group`` then upstream's ``n_subjects mean_age std_age min_age max_age sexF sexM
    mean_MMSE std_MMSE min_MMSE max_MMSE CDR_0 CDR_0.5 CDR_1 CDR_2 CDR_3 mean_scans std_scans n_scans``
    (see :func:`clinicadl.data.demographics.demographics_table`), numbers with 2 decimals, ``n/a`` when
    undefined.
    """
    merged_tsv, data_path, output_tsv = Path(merged_tsv), Path(data_path), Path(output_tsv)
    merged = read_participants_tsv(merged_tsv)
    if data_path.is_dir():
        files = sorted((p for p in data_path.rglob("*.tsv") if p.is_file() and p.resolve() != output_tsv.resolve()),
                       key=lambda p: natural_key(p.relative_to(data_path).as_posix()))
        if not files:
            raise InputError(f"{data_path} holds no TSV file; give a participant TSV or a split/kfold folder.")
    elif data_path.is_file():
        files = [data_path]
    else:
        raise InputError(f"{data_path} not found; give a participant TSV or a split/kfold folder.")
    tables = []
    for file in files:
        sessions = sort_sessions(_with_demographics(read_participants_tsv(file), merged, file, merged_tsv))
        table = demographics_table(sessions, diagnoses=diagnoses, source=file)
        if data_path.is_dir():
            table.insert(0, "file", file.relative_to(data_path).as_posix())
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    columns = [*(["file"] if data_path.is_dir() else []), "group", *ANALYSIS_COLUMNS]
    text_table = table.astype(object).map(_format_number)
    write_tsv(output_tsv, text_table, columns)
    return TsvToolsResult(output_tsv.parent, (output_tsv,))
