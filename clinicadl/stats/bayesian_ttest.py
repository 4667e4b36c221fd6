"""The Bayesian correlated t-test of two learning procedures, with a region of practical equivalence.

Instead of a p-value, the test gives the posterior probabilities that procedure A is practically worse
than B (``p_left``), practically equivalent to it (``p_rope``), or practically better (``p_right``),
"practically" meaning by more than ``rope`` in the score's units.

References
----------
.. [1] Corani, G., & Benavoli, A. (2015). A Bayesian approach for comparing cross-validated
   algorithms on multiple data sets. Machine Learning, 100(2-3), 285-304.
.. [2] Benavoli, A., Corani, G., Demšar, J., & Zaffalon, M. (2017). Time for a change: a tutorial for
   comparing multiple classifiers through Bayesian analysis. Journal of Machine Learning Research,
   18(77), 1-36.
.. [3] Nadeau, C., & Bengio, Y. (2003). Inference for the generalization error. Machine Learning,
   52(3), 239-281.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from clinicadl.errors import InputError, plain

__all__ = ["BayesianTTestResult", "correlated_bayesian_ttest"]


@dataclass(frozen=True)
class BayesianTTestResult:
    """Posterior of the mean score difference from the Bayesian correlated t-test.

    The posterior of the expected difference (A minus B) is Student's t with ``df`` degrees of freedom,
    location ``posterior_mean`` and scale ``posterior_scale``.

    Attributes
    ----------
    p_left : float
        Posterior probability that the difference is below ``-rope`` (B practically better when a
        higher score is better).
    p_rope : float
        Posterior probability that it lies in ``[-rope, rope]`` (practically equivalent).
    p_right : float
        Posterior probability that it is above ``rope`` (A practically better).
    posterior_mean : float
        Mean of the differences, the location of the posterior.
    posterior_scale : float
        ``sqrt((1 / n + rho / (1 - rho)) * s**2)``, the scale of the posterior (0 when all differences
        are equal: the posterior is then a point mass).
    df : int
        Degrees of freedom of the posterior, ``n - 1``.
    rope : float
        Half-width of the region of practical equivalence.
    rho : float
        Correlation between the differences assumed by the model.
    """

    p_left: float
    p_rope: float
    p_right: float
    posterior_mean: float
    posterior_scale: float
    df: int
    rope: float
    rho: float

    @property
    def probabilities(self) -> tuple[float, float, float]:
        """``(p_left, p_rope, p_right)``, the order of ``baycomp.two_on_single``."""
        return self.p_left, self.p_rope, self.p_right


def _bayesian_iv(differences, rho, rope):
    """Validate the inputs; return the differences as a flat float array."""
    for name, value in (("rho", rho), ("rope", rope)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InputError(f"{name}={plain(value)} must be a number.")
    if not 0 <= rho < 1:
        raise InputError(
            f"rho={rho!r} must be in [0, 1); the usual choice is n_test / (n_train + n_test), 1 / k for k-fold "
            "cross-validation."
        )
    if not (math.isfinite(rope) and rope >= 0):
        raise InputError(f"rope={rope!r} must be a finite number >= 0 (in the units of the score, e.g. 0.01).")
    try:
        array = np.asarray(differences, dtype=float)
    except (TypeError, ValueError) as error:
        raise InputError(f"differences must be numbers (score of A minus score of B per split): {error}") from None
    if array.ndim not in (1, 2):
        raise InputError(f"differences has shape {array.shape}; pass a 1-D array or a 2-D (n_repeats, n_folds) one.")
    if array.size < 2:
        raise InputError(f"differences has {array.size} value(s); the test needs at least 2.")
    if not np.all(np.isfinite(array)):
        where = np.argwhere(~np.isfinite(array))[0]
        raise InputError(
            f"differences contains {array[tuple(where)]} at index {tuple(int(i) for i in where)}; "
            "every split needs a finite score difference."
        )
    return array.ravel()


def correlated_bayesian_ttest(differences, *, rho: float, rope: float = 0.01) -> BayesianTTestResult:
    """Bayesian correlated t-test of the score differences of two procedures over resampled splits.

    The ``n`` differences are modelled as equicorrelated normals with correlation ``rho``; with the
    improper prior of Corani and Benavoli (2015), the posterior of their mean is Student's t with
    ``n - 1`` degrees of freedom, location ``mean(differences)`` and scale
    ``sqrt((1 / n + rho / (1 - rho)) * s**2)``, ``s**2`` the sample variance (ddof 1).

    Parameters
    ----------
    differences : array_like, shape (n,) or (n_repeats, n_folds)
        Score of procedure A minus score of procedure B on each split (flattened when 2-D).
    rho : float
        Correlation between differences, in [0, 1): ``n_test / (n_train + n_test)`` (Nadeau and
        Bengio's heuristic), which is ``1 / k`` for (repeated) k-fold cross-validation.
    rope : float, default 0.01
        Half-width of the region of practical equivalence, in the units of the score (0.01 = one
        point of accuracy). 0 gives ``p_rope = 0``.

    Returns
    -------
    BayesianTTestResult
        ``p_left``, ``p_rope``, ``p_right``, ``posterior_mean``, ``posterior_scale``, ``df``, ``rope``,
        ``rho``.

    Raises
    ------
    InputError
        If there are fewer than 2 differences, a non-finite one, more than 2 dimensions, ``rho`` is
        outside [0, 1) or ``rope`` is negative or not finite.

    See Also
    --------
    clinicadl.stats.corrected_ttest.corrected_repeated_kfold_ttest : the frequentist counterpart.

    Notes
    -----
    Equal to ``baycomp.two_on_single(scores_b, scores_a, rope=rope, runs=n_repeats)`` (baycomp takes
    ``y - x`` as the difference and ``rho = runs / n``, i.e. ``1 / k``). A decision rule (Benavoli et al.
    2017): declare a procedure practically better, or the two equivalent, when the corresponding
    probability exceeds 0.95. When all differences are equal the posterior is a point mass at their
    value and the probabilities are 0 or 1.

    References
    ----------
    .. [1] Corani, G., & Benavoli, A. (2015). A Bayesian approach for comparing cross-validated
       algorithms on multiple data sets. Machine Learning, 100(2-3), 285-304.
    .. [2] Benavoli, A., Corani, G., Demšar, J., & Zaffalon, M. (2017). Time for a change: a tutorial
       for comparing multiple classifiers through Bayesian analysis. JMLR, 18(77), 1-36.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.bayesian_ttest import correlated_bayesian_ttest
    >>> rng = np.random.default_rng(0)
    >>> differences = 0.02 + 0.03 * rng.standard_normal((10, 10))  # 10 x 10-fold cross-validation
    >>> res = correlated_bayesian_ttest(differences, rho=1 / 10, rope=0.01)
    >>> print(" ".join(f"{p:.3f}" for p in res.probabilities), res.df)
    0.001 0.110 0.889 99
    """
    array = _bayesian_iv(differences, rho, rope)
    n = array.size
    mean = float(np.mean(array))
    variance = 0.0 if np.all(array == array[0]) else float(np.var(array, ddof=1))
    scale = math.sqrt((1 / n + rho / (1 - rho)) * variance)
    if scale > 0:
        p_left = float(stats.t.cdf(-rope, n - 1, loc=mean, scale=scale))
        p_right = float(stats.t.sf(rope, n - 1, loc=mean, scale=scale))
    else:  # a point mass at the mean
        p_left, p_right = float(mean < -rope), float(mean > rope)
    return BayesianTTestResult(
        p_left=p_left,
        p_rope=max(1.0 - p_left - p_right, 0.0),
        p_right=p_right,
        posterior_mean=mean,
        posterior_scale=scale,
        df=n - 1,
        rope=float(rope),
        rho=float(rho),
    )
