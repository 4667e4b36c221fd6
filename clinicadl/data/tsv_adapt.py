"""``tsvtools adapt``: convert a TSV folder of ClinicaDL <= 1.1.1 (one TSV per label) to the current layout.

Old layout (each folder holds ``<label>.tsv`` with all sessions and ``<label>_baseline.tsv``)::

    OLD/                     AD.tsv AD_baseline.tsv CN.tsv ...      -> NEW/labels.tsv, labels_baseline.tsv
    OLD/split.json, OLD/train/, OLD/<subset>/                        -> NEW/split/train*.tsv, <subset>*.tsv
    OLD/kfold.json, OLD/train_splits-<k>/split-<i>/,
                    OLD/<subset>_splits-<k>/split-<i>/               -> NEW/<k>_fold/split-<i>/train*.tsv, <subset>*.tsv

The TSVs of one folder are concatenated (columns: their union, in order of appearance) and sorted by participant
then session; ``split.json`` and ``kfold.json`` are copied next to the new files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from clinicadl.data.labels import read_participants_tsv, sort_sessions, write_json, write_tsv
from clinicadl.errors import InputError

__all__ = ["adapt"]


def _label_of(path: Path) -> str:
    name = path.name[: -len(".tsv")]
    return name[: -len("_baseline")] if name.endswith("_baseline") else name


def _concatenate(old: Path, new: Path, name: str, labels: Sequence[str], written: list[Path]) -> None:
    """Write ``new/<name>.tsv`` and ``new/<name>_baseline.tsv`` from the per-label TSVs of ``old``."""
    if not old.is_dir():
        raise InputError(f"{old} is missing: the old TSV folder is incomplete (its split.json or kfold.json names "
                         "it); give the whole folder written by ClinicaDL <= 1.1.1.")
    files = sorted(p for p in old.iterdir() if p.is_file() and p.name.endswith(".tsv")
                   and (not labels or _label_of(p) in labels))
    for suffix, chosen in (("_baseline", [p for p in files if p.name.endswith("_baseline.tsv")]),
                           ("", [p for p in files if not p.name.endswith("_baseline.tsv")])):
        if chosen:
            frame = pd.concat([read_participants_tsv(p) for p in chosen], ignore_index=True).fillna("n/a")
            written.append(write_tsv(new / f"{name}{suffix}.tsv", sort_sessions(frame)))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path} cannot be read as JSON ({error}); repair or remove it.") from None


def adapt(old_tsv_dir: str | Path, new_tsv_dir: str | Path, *, labels_list: Sequence[str] = ()) -> tuple[Path, ...]:
    """Convert ``old_tsv_dir`` (ClinicaDL <= 1.1.1 layout, module docstring) into ``new_tsv_dir``.

    Parameters
    ----------
    old_tsv_dir : str or Path
        Output folder of the old ``tsvtool getlabels``, ``split`` or ``kfold``.
    new_tsv_dir : str or Path
        Folder to create; it must not exist.
    labels_list : sequence of str
        Labels whose TSVs are converted (e.g. ``AD``, ``CN``); default: every TSV.

    Returns
    -------
    tuple of Path
        Every file written.
    """
    old, new = Path(old_tsv_dir), Path(new_tsv_dir)
    if not old.is_dir():
        raise InputError(f"{old} is not a folder; give the TSV folder written by ClinicaDL <= 1.1.1.")
    if new.exists():
        raise InputError(f"{new} already exists; give a new path for the converted TSV folder.")
    labels = tuple(labels_list)
    written: list[Path] = []
    _concatenate(old, new, "labels", labels, written)
    if (old / "split.json").is_file():
        parameters = _read_json(old / "split.json")
        subset = parameters.get("subset_name", "test")
        _concatenate(old / subset, new / "split", subset, labels, written)
        _concatenate(old / "train", new / "split", "train", labels, written)
        written.append(write_json(new / "split" / "split.json", parameters))
    if (old / "kfold.json").is_file():
        parameters = _read_json(old / "kfold.json")
        subset, n_splits = parameters.get("subset_name", "validation"), int(parameters.get("n_splits", 0))
        for index in range(n_splits):
            fold = new / f"{n_splits}_fold" / f"split-{index}"
            _concatenate(old / f"train_splits-{n_splits}" / f"split-{index}", fold, "train", labels, written)
            _concatenate(old / f"{subset}_splits-{n_splits}" / f"split-{index}", fold, subset, labels, written)
        written.append(write_json(new / f"{n_splits}_fold" / "kfold.json", parameters))
    if not written:
        raise InputError(f"{old} holds no TSV file{' of the labels ' + ', '.join(labels) if labels else ''}; "
                         "give the TSV folder written by ClinicaDL <= 1.1.1.")
    return tuple(written)
