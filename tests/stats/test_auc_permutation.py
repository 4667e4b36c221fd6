"""The permutation test of an AUC difference swaps within-model ranks (Venkatraman & Begg 1996).

Two models scored on the same participants, one outputting probabilities, the other a score squeezed
into [0.48, 0.52] (a monotone transform: same AUC, another scale). Swapping raw scores between them
tests "the scores are exchangeable", false whatever the AUCs, and loses most of the power; swapping
within-model ranks keeps the level (0.05) and has the power of DeLong's test (DeLong et al. 1988).
Judged within 3 Monte-Carlo standard errors.

References: Venkatraman E. S., Begg C. B. (1996), Biometrika 83(4), 835-848; DeLong E. R. et al. (1988),
Biometrics 44(3), 837-845.
"""

import numpy as np
import pytest
from scipy.special import ndtr

from clinicadl.errors import InputError
from clinicadl.stats import delong_test, make_predictions, permutation_test

N, R, N_PERMUTATIONS = 60, 1000, 200


def _rejections(separation_b: float, seed: int) -> np.ndarray:
    """(R, 2) rejections at 0.05 of the rank permutation test and of DeLong's test."""
    rng = np.random.default_rng(seed)
    y = (rng.random((R, N)) < 0.5).astype(int)
    noise = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.5], [0.5, 1.0]], size=(R, N))
    score_a = ndtr(1.2 * y + noise[..., 0])  # probabilities
    score_b = 0.5 + 0.02 * np.tanh((separation_b * y + noise[..., 1]) / 3)  # another scale
    out = np.zeros((R, 2), dtype=bool)
    for i in range(R):  # one data set at a time; the permutations are vectorised
        a, b = make_predictions(y[i], score_a[i]), make_predictions(y[i], score_b[i])
        out[i, 0] = permutation_test(a, b, metric="AUC", n_permutations=N_PERMUTATIONS, rng=i).pvalue <= 0.05
        out[i, 1] = delong_test(y[i], score_a[i], score_b[i]).test.pvalue < 0.05
    return out


@pytest.mark.slow
def test_level_and_power_on_different_scales():
    null = _rejections(1.2, seed=0)  # equal AUCs
    level = null[:, 0].mean()
    assert abs(level - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / R), level
    alternative = _rejections(0.6, seed=1)  # model B worse
    power_perm, power_delong = alternative.mean(axis=0)
    difference = alternative[:, 0].astype(float) - alternative[:, 1]
    se = difference.std(ddof=1) / np.sqrt(R)  # paired: the same data sets for both tests
    assert abs(power_perm - power_delong) <= 3 * se, (power_perm, power_delong)
    assert power_perm > 0.3  # the effect is detectable: the comparison above is not vacuous


def test_statistic_is_the_auc_difference_and_invariant_to_monotone_rescaling():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 40)
    sa, sb = ndtr(rng.normal(y)), ndtr(rng.normal(0.5 * y))
    a, b = make_predictions(y, sa), make_predictions(y, sb)
    squeezed = make_predictions(y, 0.5 + 0.01 * (sb - 0.5))
    res = permutation_test(a, b, metric="AUC", n_permutations=500, rng=0)
    same = permutation_test(a, squeezed, metric="AUC", n_permutations=500, rng=0)
    assert res.statistic == pytest.approx(delong_test(y, sa, sb).difference)
    assert (same.statistic, same.pvalue) == pytest.approx((res.statistic, res.pvalue))


def test_multiclass_auc_permutation_is_not_offered():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 30)
    proba = rng.dirichlet(np.ones(3), size=30)
    a, b = make_predictions(y, proba), make_predictions(y, proba[:, [1, 0, 2]])
    with pytest.raises(InputError, match="within-model ranks"):
        permutation_test(a, b, metric="AUC", n_permutations=100, rng=0)
