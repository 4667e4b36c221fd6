"""McNemar's test of equal accuracy for two classifiers evaluated on the same cases.

References
----------
.. [1] McNemar, Q. (1947). Note on the sampling error of the difference between correlated
   proportions or percentages. Psychometrika, 12(2), 153-157.
.. [2] Edwards, A. L. (1948). Note on the "correction for continuity" in testing the significance of
   the difference between correlated proportions. Psychometrika, 13(3), 185-187.
.. [3] Dietterich, T. G. (1998). Approximate statistical tests for comparing supervised classification
   learning algorithms. Neural Computation, 10(7), 1895-1923.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from clinicadl.errors import InputError
from clinicadl.stats.results import TestResult

__all__ = ["EXACT_THRESHOLD", "mcnemar_test"]

#: With ``exact=None``, the exact binomial test is used when fewer discordant cases than this are seen.
EXACT_THRESHOLD = 25


def _mcnemar_iv(correct_a, correct_b, exact):
    """Validate the inputs of this module; return the discordant counts ``(b, c)``."""
    if exact not in (None, True, False):
        raise InputError(f"exact={exact!r} must be None (automatic), True (binomial) or False (chi-square).")
    arrays = []
    for name, value in (("correct_a", correct_a), ("correct_b", correct_b)):
        array = np.asarray(value)
        if array.ndim != 1 or array.size == 0:
            raise InputError(
                f"{name} has shape {array.shape}; pass a non-empty 1-D array with one entry per case "
                "(True where the classifier is correct)."
            )
        if array.dtype.kind not in "biuf" or not np.all(np.isin(array, (0, 1))):
            bad = array[~np.isin(array, (0, 1))] if array.dtype.kind in "biuf" else array
            raise InputError(
                f"{name} contains {bad.ravel()[0].item()!r}; pass booleans (or 0/1) saying whether each "
                "case is correctly classified, e.g. y_pred == y_true."
            )
        arrays.append(array.astype(bool))
    a, b_arr = arrays
    if a.shape != b_arr.shape:
        raise InputError(
            f"correct_a has {a.size} cases and correct_b {b_arr.size}; McNemar's test pairs the two "
            "classifiers case by case, so both must cover the same cases in the same order."
        )
    return int(np.sum(a & ~b_arr)), int(np.sum(~a & b_arr))


def mcnemar_test(correct_a, correct_b, *, exact: bool | None = None) -> TestResult:
    """McNemar's test that two classifiers have the same accuracy on the same cases.

    Only the discordant cases inform the test: ``b`` cases that classifier A gets right and B gets
    wrong, and ``c`` cases the other way round. Under the null hypothesis, ``b`` given ``b + c`` is
    Binomial(b + c, 1/2).

    Parameters
    ----------
    correct_a, correct_b : array_like of bool, shape (n,)
        Per-case correctness of classifiers A and B on the same cases, in the same order.
    exact : bool or None, default None
        ``True``: exact two-sided binomial test of ``b`` out of ``b + c`` with probability 1/2
        (``scipy.stats.binomtest``). ``False``: chi-square test with Edwards' continuity correction,
        ``max(|b - c| - 1, 0)**2 / (b + c)`` on 1 degree of freedom. ``None``: exact when
        ``b + c < 25`` (:data:`EXACT_THRESHOLD`), chi-square otherwise.

    Returns
    -------
    TestResult
        ``method`` is ``"mcnemar-exact"`` or ``"mcnemar-chi2-cc"``. ``statistic`` is ``min(b, c)``
        for the exact test (the convention of statsmodels) and the corrected chi-square for the
        other; ``pvalue`` is two-sided; ``alternative`` ``"two-sided"``. With no discordant case
        (``b + c == 0``) the classifiers cannot be told apart: statistic 0 and p-value 1.

    Raises
    ------
    InputError
        If an array is not 1-D, empty, not boolean (or 0/1), the lengths differ, or ``exact`` is
        not None, True or False.

    Notes
    -----
    The test compares accuracies on one fixed test set, so it answers whether these two trained
    models differ on cases like these, not whether the learning procedures differ (Dietterich 1998:
    it ignores the variation due to the training set). Dietterich (1998) found its type I error
    acceptable among the tests he compared. The continuity correction of Edwards (1948) is clipped at
    0 so that it never overshoots (``b == c`` gives statistic 0 and p-value 1 rather than
    ``1 / (b + c)``); for ``|b - c| >= 1`` it is the usual ``(|b - c| - 1)**2 / (b + c)``.

    References
    ----------
    .. [1] McNemar, Q. (1947). Note on the sampling error of the difference between correlated
       proportions or percentages. Psychometrika, 12(2), 153-157.
    .. [2] Edwards, A. L. (1948). Note on the "correction for continuity" in testing the
       significance of the difference between correlated proportions. Psychometrika, 13(3),
       185-187.
    .. [3] Dietterich, T. G. (1998). Approximate statistical tests for comparing supervised
       classification learning algorithms. Neural Computation, 10(7), 1895-1923.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.mcnemar import mcnemar_test
    >>> rng = np.random.default_rng(1)
    >>> y_true = rng.integers(0, 2, size=200)
    >>> y_pred_a = np.where(rng.random(200) < 0.90, y_true, 1 - y_true)  # about 90% accurate
    >>> y_pred_b = np.where(rng.random(200) < 0.80, y_true, 1 - y_true)  # about 80% accurate
    >>> res = mcnemar_test(y_pred_a == y_true, y_pred_b == y_true)
    >>> print(res.method, f"{res.statistic:.2f}", f"{res.pvalue:.4f}")
    mcnemar-chi2-cc 8.82 0.0030
    """
    b, c = _mcnemar_iv(correct_a, correct_b, exact)
    discordant = b + c
    use_exact = discordant < EXACT_THRESHOLD if exact is None else exact
    method = "mcnemar-exact" if use_exact else "mcnemar-chi2-cc"
    if discordant == 0:
        return TestResult(statistic=0.0, pvalue=1.0, method=method)
    if use_exact:
        from scipy import stats  # here: scipy.stats takes longer to import than a comparison computes

        pvalue = stats.binomtest(b, discordant, p=0.5).pvalue
        return TestResult(statistic=float(min(b, c)), pvalue=float(pvalue), method=method)
    statistic = max(abs(b - c) - 1, 0) ** 2 / discordant
    return TestResult(statistic=float(statistic), pvalue=float(special.chdtrc(1, statistic)), method=method)
