"""Interval of the expected performance of a learning procedure from its cross-validation fold scores.

The ``J = R K`` fold scores of ``R`` repetitions of a K-fold cross-validation share training data, so the variance
of their mean is not ``s^2 / J`` but about ``(1 / J + n_test / n_train) s^2`` (Nadeau & Bengio 2003), with
Student's t on ``J - 1`` degrees of freedom (Bouckaert & Frank 2004): the interval that matches
:func:`~clinicadl.stats.corrected_ttest.corrected_repeated_kfold_ttest`, applied to the scores themselves rather
than to differences. The naive interval ``s / sqrt(J)`` is returned beside it, to show how much it under-states
the uncertainty.

References
----------
Nadeau C., Bengio Y. (2003). Inference for the generalization error. Machine Learning 52(3), 239-281.
Bouckaert R. R., Frank E. (2004). Evaluating the replicability of significance tests for comparing learning
algorithms. PAKDD 2004, LNCS 3056, 3-12.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from clinicadl.stats.corrected_ttest import corrected_resampled_ttest
from clinicadl.stats.results import ConfidenceInterval

__all__ = ["CrossValidationInterval", "cross_validation_interval"]


@dataclass(frozen=True)
class CrossValidationInterval:
    """Expected performance from fold scores.

    Attributes
    ----------
    estimate : float
        Mean of the fold scores.
    confidence_interval : ConfidenceInterval
        Corrected repeated k-fold t-interval.
    standard_error : float
        Corrected standard error ``sqrt((1 / J + n_test / n_train) s^2)``.
    naive_interval : ConfidenceInterval
        The uncorrected t-interval ``mean +/- t s / sqrt(J)`` (too narrow; for comparison only).
    n_scores : int
        Number ``J`` of fold scores.
    test_train_ratio : float
        ``n_test / n_train`` of the correction.
    confidence_level : float
    method : str
    """

    estimate: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    naive_interval: ConfidenceInterval
    n_scores: int
    test_train_ratio: float
    confidence_level: float
    method: str = "corrected repeated k-fold t"


def cross_validation_interval(scores, *, n_train: float, n_test: float,
                              confidence_level: float = 0.95) -> CrossValidationInterval:
    """Corrected repeated k-fold t-interval of the mean of cross-validation fold scores.

    Parameters
    ----------
    scores : array_like, shape (J,)
        Finite score of each trained model on its own validation fold, ``J >= 2``.
    n_train, n_test : float
        Training and validation set sizes (participants; mean over the folds). For a K-fold split whose sizes
        are unknown, ``n_train = K - 1`` and ``n_test = 1`` give the K-fold ratio ``1 / (K - 1)``.
    confidence_level : float, default 0.95

    Returns
    -------
    CrossValidationInterval

    Raises
    ------
    InputError
        Fewer than two scores, a non-finite score, a size that is not a positive number.

    Examples
    --------
    >>> res = cross_validation_interval([0.70, 0.74, 0.68, 0.72], n_train=3, n_test=1)
    >>> round(res.estimate, 3), res.n_scores, round(res.test_train_ratio, 3)
    (0.71, 4, 0.333)
    """
    test = corrected_resampled_ttest(scores, n_train=n_train, n_test=n_test)
    values = np.asarray(scores, dtype=float)
    j = values.size
    corrected = test.confidence_interval(confidence_level)
    quantile = special.stdtrit(j - 1, 0.5 + confidence_level / 2)  # scipy.stats.t.ppf, without scipy.stats
    naive_se = math.sqrt(float(values.var(ddof=1)) / j)
    mean = test.mean_difference
    return CrossValidationInterval(
        estimate=mean, confidence_interval=corrected, standard_error=test.standard_error,
        naive_interval=ConfidenceInterval(mean - quantile * naive_se, mean + quantile * naive_se), n_scores=j,
        test_train_ratio=float(n_test) / float(n_train), confidence_level=confidence_level,
    )
