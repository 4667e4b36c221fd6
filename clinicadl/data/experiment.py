"""``tsvtools prepare-experiment``: a test split, then a validation split or k-fold of its train side, in one call.

As ClinicaDL 1.x: ``split DATA_TSV --subset_name test`` with age and sex balanced (p >= 0.80), then on
``split/train.tsv`` either ``split --subset_name validation`` (``validation_type="split"``) or
``kfold --subset_name validation`` without stratification (``validation_type="kfold"``).
"""

from __future__ import annotations

from pathlib import Path

from clinicadl.data.tsvtools import TsvToolsResult, kfold_tsv, split_tsv
from clinicadl.errors import InputError

__all__ = ["VALIDATION_TYPES", "prepare_experiment"]

VALIDATION_TYPES = ("split", "kfold")
P_THRESHOLD = 0.80
"""Upstream's age and sex p-value thresholds of both splits."""


def prepare_experiment(data_tsv: str | Path, *, n_test: float = 100, validation_type: str = "kfold",
                       n_validation: float = 5, seed: int = 0, overwrite: bool = False,
                       ) -> tuple[TsvToolsResult, TsvToolsResult]:
    """Write ``split/`` next to ``data_tsv`` (train / test) and, in it, the validation split or ``<k>_fold/``.

    Parameters
    ----------
    data_tsv : str or Path
        Participant TSV with diagnosis, age and sex (e.g. ``labels.tsv`` of ``tsvtools get-labels``).
    n_test : float
        Test participants: a count, or a fraction < 1.
    validation_type : {"split", "kfold"}
        One validation split, or a k-fold of the train side.
    n_validation : float
        Validation participants (``split``: a count or a fraction) or number of folds (``kfold``: an integer >= 2).
    seed : int
        Seed of both draws (recorded in ``split.json`` and ``kfold.json``).
    overwrite : bool
        Replace existing output folders.

    Returns
    -------
    (TsvToolsResult, TsvToolsResult)
        The test split and the validation split or k-fold.
    """
    if validation_type not in VALIDATION_TYPES:
        raise InputError(f"validation_type={validation_type!r} is not valid; choose split or kfold.")
    if validation_type == "kfold" and float(n_validation) != int(n_validation):
        raise InputError(f"n_validation={n_validation} is not a whole number of folds; give an integer >= 2.")
    test = split_tsv(data_tsv, n_test=n_test, subset_name="test", seed=seed, p_age_threshold=P_THRESHOLD,
                     p_sex_threshold=P_THRESHOLD, overwrite=overwrite)
    train_tsv = test.folder / "train.tsv"
    if validation_type == "split":
        validation = split_tsv(train_tsv, n_test=n_validation, subset_name="validation", seed=seed,
                               p_age_threshold=P_THRESHOLD, p_sex_threshold=P_THRESHOLD, overwrite=overwrite)
    else:
        validation = kfold_tsv(train_tsv, n_splits=int(n_validation), subset_name="validation", seed=seed,
                               overwrite=overwrite)
    return test, validation
