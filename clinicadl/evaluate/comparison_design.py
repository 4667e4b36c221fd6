"""The design of a comparison of procedures: replicates, splits, pairing and test group, which decide the tests.

Every procedure test (:mod:`clinicadl.evaluate.procedure_tests`) says from a :class:`ComparisonDesign` alone whether
it applies, and why not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clinicadl.evaluate.procedure_inputs import Procedure

__all__ = ["SCOPE_FOLDS", "SCOPE_POPULATION", "SCOPE_TEST_SET", "SHARED_TEST_REASON", "ComparisonDesign",
           "comparison_design", "score_grid"]

SHARED_TEST_REASON = (
    "every model was scored on the same test group: the corrected resampled t-tests (Nadeau & Bengio 2003) and the "
    "tests built on them correct for training sets that overlap while each model is tested on its own held-out "
    "fold, which is not this design (the test-set sampling is shared by every difference); they apply to the "
    "validation folds of one cross-validation design. The crossed-design test ('probability': the difference of "
    "expected performances and P(A>B) in the participant population) is run instead"
)

SCOPE_POPULATION = "population (replicates and test participants resampled)"
SCOPE_TEST_SET = "this test set (replicates only; conditional on the participants)"
SCOPE_FOLDS = "these validation folds (cross-validation design)"


@dataclass(frozen=True)
class ComparisonDesign:
    """What the tests need to know about the procedures compared.

    Attributes
    ----------
    n_replicates, n_splits : int
        Of the first procedure (the smallest of all, for an unpaired comparison).
    split_varied : bool
        The data split was re-drawn per replicate.
    n_train, n_test : float or None
        Mean training and validation sizes (participants), when ``groups/`` lists them.
    shared_test : bool
        Every model was scored on the same test group (else each on its own validation fold).
    paired : bool
        Replicate ``r`` of every procedure used the same seeds.
    n_procedures : int
    """

    n_replicates: int
    n_splits: int
    split_varied: bool
    n_train: float | None
    n_test: float | None
    shared_test: bool = True
    paired: bool = True
    n_procedures: int = 2

    @property
    def is_5x2(self) -> bool:
        return self.n_replicates == 5 and self.n_splits == 2 and self.split_varied

    @property
    def resampled(self) -> bool:
        """Whether the training data were resampled: several folds, or one split re-drawn per replicate."""
        return self.n_splits >= 2 or (self.split_varied and self.n_replicates >= 2)

    @property
    def units(self) -> int:
        """Trained models per procedure."""
        return self.n_replicates * self.n_splits


def comparison_design(procedures: list[Procedure], paired: bool) -> ComparisonDesign:
    """The design of a comparison: that of the first procedure, or the smallest one when unpaired."""
    first = procedures[0]
    trains = [m.n_train for m in first.models if m.n_train]
    tests = [m.n_validation for m in first.models if m.n_validation]
    n_train = float(np.mean(trains)) if trains else None
    n_test = float(np.mean(tests)) if tests else None
    if not paired:
        return ComparisonDesign(min(p.n_replicates for p in procedures), min(p.n_splits for p in procedures),
                                first.split_varied, n_train, n_test, True, False, len(procedures))
    return ComparisonDesign(first.n_replicates, first.n_splits, first.split_varied, n_train, n_test,
                            not first.on_validation_folds, True, len(procedures))


def score_grid(table: pd.DataFrame, metric: str, procedure: Procedure) -> np.ndarray:
    """R x S matrix of a metric (NaN where a model is missing)."""
    rows = table[table["metric"] == metric]
    grid = rows.pivot_table(index="replicate", columns="split", values="estimate", aggfunc="first", dropna=False)
    return grid.reindex(index=list(procedure.replicates), columns=list(procedure.splits)).to_numpy(float)
