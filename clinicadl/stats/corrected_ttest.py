"""Corrected t-tests comparing two learning procedures from their scores on resampled splits.

When two learning procedures are trained and tested on the same J random train/test splits (or
the folds of a repeated k-fold cross-validation), the J score differences are not independent: the
training sets overlap, and so do the test sets of different repetitions. The ordinary one-sample
t-test on these differences treats them as independent, underestimates the variance of their mean
and rejects a true null hypothesis far more often than its nominal level (Dietterich 1998; Nadeau
and Bengio 2003; Bouckaert and Frank 2004). Nadeau and Bengio's correction inflates the variance of
the mean difference from ``s**2 / J`` to ``(1 / J + n_test / n_train) * s**2``.

References
----------
.. [1] Nadeau, C., & Bengio, Y. (2003). Inference for the generalization error. Machine Learning,
   52(3), 239-281.
.. [2] Bouckaert, R. R., & Frank, E. (2004). Evaluating the replicability of significance tests for
   comparing learning algorithms. In Advances in Knowledge Discovery and Data Mining (PAKDD 2004),
   LNCS 3056, 3-12.
.. [3] Dietterich, T. G. (1998). Approximate statistical tests for comparing supervised
   classification learning algorithms. Neural Computation, 10(7), 1895-1923.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special  # t distribution as scipy.stats computes it (stdtr, stdtrit), without scipy.stats

from clinicadl.errors import InputError, plain
from clinicadl.stats.results import ConfidenceInterval

__all__ = [
    "ALTERNATIVES",
    "OverconfidentTestWarning",
    "ResampledTTestResult",
    "corrected_repeated_kfold_ttest",
    "corrected_resampled_ttest",
    "naive_resampled_ttest",
]

#: Accepted values of ``alternative``.
ALTERNATIVES = ("two-sided", "less", "greater")


class OverconfidentTestWarning(UserWarning):
    """A test whose type I error is known to exceed its nominal level was used.

    Emitted every time :func:`naive_resampled_ttest` is called: the uncorrected t-test on the score
    differences of overlapping train/test splits ignores their correlation, and Nadeau & Bengio
    (2003) and Bouckaert & Frank (2004) showed that it rejects a true null hypothesis far more often
    than its nominal level (about half of the time at the 5 % level for 10 x 10-fold
    cross-validation in our own simulation). Use :func:`corrected_resampled_ttest` or
    :func:`corrected_repeated_kfold_ttest` instead.
    """


@dataclass(frozen=True)
class ResampledTTestResult:
    """Result of a t-test on the score differences of two learning procedures over resampled splits.

    Attributes
    ----------
    statistic : float
        The t statistic ``mean_difference / standard_error``.
    pvalue : float
        The p-value from Student's t distribution with ``df`` degrees of freedom, for ``alternative``.
    df : int
        Degrees of freedom: the number of differences minus one.
    mean_difference : float
        Mean of the differences (procedure A minus procedure B).
    standard_error : float
        Standard error of ``mean_difference`` used by the test (corrected or not, see ``method``).
    correction_factor : float
        Corrected variance of the mean difference over the naive one ``s**2 / J``:
        ``1 + J * n_test / n_train`` (1.0 for the naive test).
    method : str
        ``"corrected-resampled-t"``, ``"corrected-repeated-kfold-t"`` or ``"naive-resampled-t"``.
    alternative : str
        ``"two-sided"``, ``"less"`` (mean difference below 0) or ``"greater"`` (above 0).
    """

    statistic: float
    pvalue: float
    df: int
    mean_difference: float
    standard_error: float
    correction_factor: float
    method: str
    alternative: str

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Confidence interval of the mean difference matching the test (as ``scipy.stats.ttest_1samp``).

        ``mean_difference +/- t_quantile * standard_error``; one-sided (with an infinite bound) when
        ``alternative`` is ``"less"`` or ``"greater"``.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Nominal coverage, strictly between 0 and 1.

        Returns
        -------
        ConfidenceInterval
        """
        if not (isinstance(confidence_level, (int, float)) and 0 < confidence_level < 1):
            raise InputError(f"confidence_level={confidence_level!r} must be a number strictly between 0 and 1.")
        if self.alternative == "two-sided":
            half = special.stdtrit(self.df, 0.5 + confidence_level / 2) * self.standard_error
            return ConfidenceInterval(self.mean_difference - half, self.mean_difference + half)
        half = special.stdtrit(self.df, confidence_level) * self.standard_error
        if self.alternative == "less":
            return ConfidenceInterval(-math.inf, self.mean_difference + half)
        return ConfidenceInterval(self.mean_difference - half, math.inf)


def _check_alternative(alternative):
    if alternative not in ALTERNATIVES:
        raise InputError(f"alternative={alternative!r} is not one of {', '.join(ALTERNATIVES)}.")


def _check_size(name, value):
    """A positive finite number of cases (an average size when the splits vary)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name}={plain(value)} must be a positive number of cases.")
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name}={plain(value)} must be a positive finite number of cases.")
    return float(value)


def _check_differences(differences, *, allow_2d=False):
    """Validate the score differences; return them as a float array of the same shape."""
    try:
        array = np.asarray(differences, dtype=float)
    except (TypeError, ValueError) as error:
        raise InputError(f"differences must be numbers (one score difference per split): {error}") from None
    if array.ndim != 1 and not (allow_2d and array.ndim == 2):
        shapes = "1-D (one difference per split) or 2-D (n_repeats, n_folds)" if allow_2d else "1-D"
        raise InputError(f"differences has shape {array.shape}; pass a {shapes} array.")
    if array.size < 2:
        raise InputError(
            f"differences has {array.size} value(s); the t-test needs at least 2 splits (10 or more is usual)."
        )
    if not np.all(np.isfinite(array)):
        where = np.argwhere(~np.isfinite(array))[0]
        raise InputError(
            f"differences contains {array[tuple(where)]} at index {tuple(int(i) for i in where)}; "
            "every split needs a finite score difference (drop or recompute the failed runs)."
        )
    return array


def _ttest(differences, variance_factor, naive_factor, alternative, method):
    """The t-test of mean 0 with ``Var(mean) = variance_factor * s**2``."""
    n = differences.size
    mean = float(np.mean(differences))
    # Exactly 0 when all differences are equal (np.var can leave a rounding residue).
    variance = 0.0 if np.all(differences == differences[0]) else float(np.var(differences, ddof=1))
    standard_error = math.sqrt(variance_factor * variance)
    if standard_error > 0:
        statistic = mean / standard_error
    else:  # all differences equal: no evidence of a difference when they are 0, certainty otherwise
        statistic = 0.0 if mean == 0 else math.copysign(math.inf, mean)
    df = n - 1
    if alternative == "two-sided":
        pvalue = 2 * special.stdtr(df, -abs(statistic))
    elif alternative == "greater":
        pvalue = special.stdtr(df, -statistic)
    else:
        pvalue = special.stdtr(df, statistic)
    return ResampledTTestResult(
        statistic=float(statistic),
        pvalue=float(min(pvalue, 1.0)),
        df=df,
        mean_difference=mean,
        standard_error=standard_error,
        correction_factor=float(variance_factor / naive_factor),
        method=method,
        alternative=alternative,
    )


def corrected_resampled_ttest(
    differences, *, n_train: float, n_test: float, alternative: str = "two-sided"
) -> ResampledTTestResult:
    """Nadeau and Bengio's corrected resampled t-test of two learning procedures.

    Each of the ``J`` differences is the score of procedure A minus that of procedure B, both
    trained on the same random training set of ``n_train`` cases and tested on the remaining
    ``n_test`` cases (random subsampling, "resampled" hold-out). The variance of the mean difference
    is estimated by ``(1 / J + n_test / n_train) * s**2``, ``s**2`` being the sample variance of the
    differences, and ``t = mean / sqrt(that)`` is referred to Student's t with ``J - 1`` degrees of
    freedom.

    Parameters
    ----------
    differences : array_like, shape (J,)
        Score of procedure A minus score of procedure B on each split, ``J >= 2``.
    n_train, n_test : float
        Number of cases (participants) in each training and test set; average sizes when they vary.
    alternative : {"two-sided", "less", "greater"}, default "two-sided"
        ``"greater"``: the expected difference is positive (A scores higher than B).

    Returns
    -------
    ResampledTTestResult
        ``statistic``, ``pvalue``, ``df = J - 1``, ``mean_difference``, ``standard_error`` (corrected),
        ``correction_factor = 1 + J * n_test / n_train``, ``method = "corrected-resampled-t"``,
        ``alternative``; ``confidence_interval(level)`` gives the matching interval.

    Raises
    ------
    InputError
        If ``differences`` is not 1-D, has fewer than 2 values or a non-finite one, if ``n_train`` or
        ``n_test`` is not a positive number, or ``alternative`` is unknown.

    See Also
    --------
    corrected_repeated_kfold_ttest : the same correction for repeated k-fold cross-validation.
    correlated_bayesian_ttest : the Bayesian counterpart (Corani and Benavoli 2015).

    Notes
    -----
    Nadeau and Bengio (2003) model the differences as equicorrelated with correlation
    ``rho = n_test / (n_train + n_test)``; under this model ``Var(mean) = (1 / J + rho / (1 - rho))
    * E[s**2]`` and ``rho / (1 - rho) = n_test / n_train``. The correction is a heuristic: with real
    learners the true correlation differs, and the test is usually somewhat conservative (3.9 %
    instead of 5 % for a nearest-centroid classifier in our simulation). All differences equal gives
    ``statistic`` 0 when they are 0 and +/-inf otherwise.

    References
    ----------
    .. [1] Nadeau, C., & Bengio, Y. (2003). Inference for the generalization error. Machine
       Learning, 52(3), 239-281.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.corrected_ttest import corrected_resampled_ttest
    >>> rng = np.random.default_rng(0)
    >>> differences = 0.02 + 0.03 * rng.standard_normal(15)  # 15 random 80/20 splits
    >>> res = corrected_resampled_ttest(differences, n_train=160, n_test=40)
    >>> print(res.df, f"{res.correction_factor:.2f}", f"{res.statistic:.3f}", f"{res.pvalue:.4f}")
    14 4.75 0.824 0.4238
    """
    _check_alternative(alternative)
    array = _check_differences(differences)
    ratio = _check_size("n_test", n_test) / _check_size("n_train", n_train)
    n = array.size
    return _ttest(array, 1 / n + ratio, 1 / n, alternative, "corrected-resampled-t")


def corrected_repeated_kfold_ttest(
    differences,
    *,
    n_folds: int,
    n_repeats: int,
    n_train: float | None = None,
    n_test: float | None = None,
    alternative: str = "two-sided",
) -> ResampledTTestResult:
    """Bouckaert and Frank's corrected repeated k-fold cross-validation t-test.

    The ``k * r`` differences of an ``r``-times repeated ``k``-fold cross-validation are treated as
    Nadeau and Bengio's resampled differences: ``t = mean / sqrt((1 / (k r) + n_test / n_train) *
    s**2)`` on ``k r - 1`` degrees of freedom.

    Parameters
    ----------
    differences : array_like, shape (n_repeats, n_folds) or (n_repeats * n_folds,)
        Score of procedure A minus score of procedure B on each fold of each repetition (flat arrays
        in repetition-major order; the order does not change the result).
    n_folds : int
        Number of folds ``k >= 2``.
    n_repeats : int
        Number of repetitions ``r >= 1`` of the cross-validation.
    n_train, n_test : float or None, default None
        Training and test set sizes (average sizes when the folds differ in size). Both None: the
        ratio of a k-fold split, ``n_test / n_train = 1 / (k - 1)``. Give both or neither.
    alternative : {"two-sided", "less", "greater"}, default "two-sided"
        ``"greater"``: the expected difference is positive (A scores higher than B).

    Returns
    -------
    ResampledTTestResult
        As :func:`corrected_resampled_ttest` with ``df = k r - 1``,
        ``correction_factor = 1 + k r n_test / n_train`` and
        ``method = "corrected-repeated-kfold-t"``.

    Raises
    ------
    InputError
        If the number or shape of the differences does not match ``n_folds * n_repeats``, a value
        is not finite, there are fewer than 2 differences, only one of ``n_train`` and ``n_test`` is
        given, or an option is invalid.

    Notes
    -----
    For 10 times repeated 10-fold cross-validation the corrected variance is
    ``(1/100 + 1/9) / (1/100) = 109/9 = 12.1`` times the naive one: the naive t statistic is
    ``sqrt(12.1) = 3.48`` times too large. Bouckaert and Frank (2004) recommend this test (with
    10 x 10-fold cross-validation) for its type I error and replicability.

    References
    ----------
    .. [1] Bouckaert, R. R., & Frank, E. (2004). Evaluating the replicability of significance tests
       for comparing learning algorithms. PAKDD 2004, LNCS 3056, 3-12.
    .. [2] Nadeau, C., & Bengio, Y. (2003). Inference for the generalization error. Machine
       Learning, 52(3), 239-281.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.corrected_ttest import corrected_repeated_kfold_ttest
    >>> rng = np.random.default_rng(0)
    >>> differences = 0.02 + 0.03 * rng.standard_normal((10, 10))  # 10 x 10-fold cross-validation
    >>> res = corrected_repeated_kfold_ttest(differences, n_folds=10, n_repeats=10)
    >>> print(res.df, f"{res.correction_factor:.1f}", f"{res.statistic:.3f}", f"{res.pvalue:.4f}")
    99 12.1 2.222 0.0286
    """
    _check_alternative(alternative)
    for name, value, low in (("n_folds", n_folds, 2), ("n_repeats", n_repeats, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"{name}={plain(value)} must be an integer >= {low}.")
    array = _check_differences(differences, allow_2d=True)
    if array.ndim == 2 and array.shape != (n_repeats, n_folds):
        raise InputError(
            f"differences has shape {array.shape}, but n_repeats={n_repeats} and n_folds={n_folds} need "
            f"shape ({n_repeats}, {n_folds}) (one row per repetition) or a flat array of {n_repeats * n_folds}."
        )
    flat = array.ravel()
    if flat.size != n_folds * n_repeats:
        raise InputError(
            f"differences has {flat.size} values, but n_folds={n_folds} x n_repeats={n_repeats} needs "
            f"{n_folds * n_repeats} (one per fold of each repetition)."
        )
    if (n_train is None) != (n_test is None):
        raise InputError("Give both n_train and n_test, or neither (then n_test / n_train = 1 / (n_folds - 1)).")
    if n_train is None:
        ratio = 1 / (n_folds - 1)
    else:
        ratio = _check_size("n_test", n_test) / _check_size("n_train", n_train)
    n = flat.size
    return _ttest(flat, 1 / n + ratio, 1 / n, alternative, "corrected-repeated-kfold-t")


def naive_resampled_ttest(differences, *, alternative: str = "two-sided") -> ResampledTTestResult:
    """The uncorrected resampled t-test; always warns, because it over-rejects.

    The one-sample t-test of the split-wise differences, ``t = mean / sqrt(s**2 / J)`` on ``J - 1``
    degrees of freedom (identical to ``scipy.stats.ttest_1samp(differences, 0)``). Provided only to
    reproduce published analyses and to show, side by side, how much the correction matters.

    Parameters
    ----------
    differences : array_like, shape (J,)
        Score of procedure A minus score of procedure B on each split, ``J >= 2``.
    alternative : {"two-sided", "less", "greater"}, default "two-sided"

    Returns
    -------
    ResampledTTestResult
        ``correction_factor = 1.0``, ``method = "naive-resampled-t"``.

    Warns
    -----
    OverconfidentTestWarning
        On every call: the differences of overlapping splits are positively correlated, so this
        test's type I error exceeds its nominal level (Nadeau and Bengio 2003; Dietterich 1998).

    Raises
    ------
    InputError
        As :func:`corrected_resampled_ttest`.

    References
    ----------
    .. [1] Nadeau, C., & Bengio, Y. (2003). Inference for the generalization error. Machine
       Learning, 52(3), 239-281.
    .. [2] Dietterich, T. G. (1998). Approximate statistical tests for comparing supervised
       classification learning algorithms. Neural Computation, 10(7), 1895-1923.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from clinicadl.stats.corrected_ttest import naive_resampled_ttest, OverconfidentTestWarning
    >>> rng = np.random.default_rng(0)
    >>> differences = 0.02 + 0.03 * rng.standard_normal(15)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     res = naive_resampled_ttest(differences)
    >>> print(caught[0].category.__name__, f"{res.statistic:.3f}", f"{res.pvalue:.4f}")
    OverconfidentTestWarning 1.796 0.0941
    """
    _check_alternative(alternative)
    array = _check_differences(differences)
    warnings.warn(
        "The uncorrected resampled t-test ignores the correlation between overlapping train/test splits and "
        "rejects a true null hypothesis far more often than its nominal level (Nadeau & Bengio 2003); use "
        "corrected_resampled_ttest or corrected_repeated_kfold_ttest.",
        OverconfidentTestWarning,
        stacklevel=2,
    )
    n = array.size
    return _ttest(array, 1 / n, 1 / n, alternative, "naive-resampled-t")
