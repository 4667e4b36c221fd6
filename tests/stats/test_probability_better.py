"""Validation of clinicadl.stats.probability_better: Mann-Whitney oracle, closed forms, decision rule, and
the error rates of Bouthillier et al. (2021) by simulation.

References: Bouthillier et al. (2021), MLSys; Mann & Whitney (1947); Noether (1987).
"""

import numpy as np
import pytest
from scipy import integrate, stats

from clinicadl.errors import InputError
from clinicadl.stats.probability_better import probability_better
from clinicadl.stats.sample_size import noether_sample_size


def _mc_se(p, n):
    return np.sqrt(p * (1 - p) / n)


def test_paired_estimate_counts_wins_with_ties_one_half():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    b = np.array([0.0, 2.0, 4.0, 3.0, 5.0, 7.0])  # wins, tie, loss, win, tie, loss
    res = probability_better(a, b, n_resamples=200, rng=0)
    assert res.estimate == pytest.approx((2 + 2 * 0.5) / 6)
    assert (res.n_pairs, res.n_ties, res.n_a, res.n_b, res.paired) == (6, 2, 6, 6, True)
    # a loss-like metric reads the other way; with ties one half, P(A>B) + P(B>A) = 1
    assert probability_better(a, b, higher_is_better=False, n_resamples=200, rng=0).estimate == pytest.approx(
        1 - res.estimate)


def test_unpaired_estimate_is_mann_whitney_u_over_nm():
    rng = np.random.default_rng(4)
    a = np.round(rng.normal(0.3, 1, 23), 1)  # rounded: ties occur
    b = np.round(rng.normal(0.0, 1, 17), 1)
    res = probability_better(a, b, paired=False, n_resamples=200, rng=0)
    u = stats.mannwhitneyu(a, b, alternative="two-sided").statistic  # U of a: #(a > b) + #ties / 2
    assert res.estimate == pytest.approx(u / (23 * 17), rel=1e-12)
    assert res.n_pairs == 23 * 17 and res.n_ties > 0


def test_bootstrap_standard_error_of_a_proportion_of_wins():
    # the bootstrap variance of a proportion p of n wins is p (1 - p) / n (plug-in, closed form)
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.5, 1, 40), rng.normal(0, 1, 40)
    res = probability_better(a, b, n_resamples=40_000, rng=2)
    p = res.estimate
    assert res.standard_error == pytest.approx(np.sqrt(p * (1 - p) / 40), rel=0.02)
    assert res.bootstrap_distribution.mean() == pytest.approx(p, abs=3 * res.standard_error / np.sqrt(40_000))


def test_unpaired_bootstrap_standard_error_matches_two_sample_formula():
    # bootstrap variance of the Mann-Whitney estimate (plug-in of the two-sample U-statistic variance):
    # var = var_i(mean_j W_ij) / n_a + var_j(mean_i W_ij) / n_b, up to O(1/(n_a n_b))
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.4, 1, 60), rng.normal(0, 1, 50)
    w = (a[:, None] > b[None, :]).astype(float)
    expected = np.sqrt(w.mean(axis=1).var() / 60 + w.mean(axis=0).var() / 50)
    res = probability_better(a, b, paired=False, n_resamples=20_000, rng=6)
    assert res.standard_error == pytest.approx(expected, rel=0.05)


def test_seed_reproducibility_and_recording():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=20), rng.normal(size=20)
    one, two = probability_better(a, b, n_resamples=300, rng=9), probability_better(a, b, n_resamples=300, rng=9)
    assert one.seed == 9 and np.array_equal(one.bootstrap_distribution, two.bootstrap_distribution)
    free = probability_better(a, b, n_resamples=300)
    again = probability_better(a, b, n_resamples=300, rng=free.seed)
    assert np.array_equal(free.bootstrap_distribution, again.bootstrap_distribution)
    unpaired = probability_better(a, b, paired=False, n_resamples=300, rng=free.seed)
    assert unpaired.bootstrap_distribution.shape == (300,)


def test_decision_rule_and_conclusion():
    b = np.zeros(40)
    best = probability_better(b + 1, b, n_resamples=500, rng=0)  # A always wins
    assert best.estimate == 1 and best.confidence_interval.low == 1
    assert best.significant and best.meaningful and "meaningfully better" in best.conclusion
    assert "even the lower bound is above gamma" in best.conclusion
    # 28 wins of 40 (0.70): interval ~[0.55, 0.85], significant and reaching gamma = 0.75: meaningful
    a = np.r_[np.ones(28), -np.ones(12)]
    mid = probability_better(a, b, n_resamples=4000, rng=0)
    low, high = mid.confidence_interval
    assert 0.5 < low < 0.75 <= high
    assert mid.significant and mid.meaningful and "interval reaches gamma" in mid.conclusion
    # the rule reads the upper bound against gamma: an interval wholly below gamma is not meaningful
    small = probability_better(a, b, gamma=0.9, n_resamples=4000, rng=0)
    assert high < 0.9 and small.significant and not small.meaningful and "not meaningfully" in small.conclusion
    assert probability_better(a, b, gamma=high, n_resamples=4000, rng=0).meaningful  # >= gamma counts
    none = probability_better(np.r_[np.ones(20), -np.ones(20)], b, n_resamples=500, rng=0)
    assert not none.significant and "No significant difference" in none.conclusion
    worse = probability_better(-np.ones(40), b, n_resamples=500, rng=0)
    assert not worse.significant and "B is significantly better" in worse.conclusion


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scores_a": [1, 2, 3], "scores_b": [1, 2]}, "paired=False"),
        ({"scores_a": [1, np.nan, 3], "scores_b": [1, 2, 3]}, "NaN"),
        ({"scores_a": [1], "scores_b": [1]}, "at least 2"),
        ({"scores_a": [1, 2], "scores_b": [1, 2], "gamma": 1.2}, "gamma"),
        ({"scores_a": [1, 2], "scores_b": [1, 2], "confidence_level": 95}, "confidence_level"),
        ({"scores_a": [1, 2], "scores_b": [1, 2], "n_resamples": 1}, "n_resamples"),
        ({"scores_a": [1, 2], "scores_b": [1, 2], "rng": -1}, "rng"),
    ],
)
def test_invalid_input(kwargs, match):
    a, b = kwargs.pop("scores_a"), kwargs.pop("scores_b")
    with pytest.raises(InputError, match=match):
        probability_better(a, b, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# Error rates by simulation.
#
# Generator of k paired runs: d_i = score_A - score_B = delta + s_i + n_i, where s_i ~ N(0, f) is the
# split x procedure interaction (how differently A and B react to the data split) and n_i ~ N(0, 1 - f) the
# rest (seeds, test sampling). The true P(A>B) over every source of variance is Phi(delta).
# "Ideal" estimator: every run draws its own split (s_i i.i.d.). "Biased" (Bouthillier's FixHOptEst): one
# split for all k runs (s_i = s), so the k runs estimate P(A>B | that split) = Phi((delta + s)/sqrt(1 - f)).
# With k runs and a 90 % interval (one-sided 0.05, as in Noether's formula), the percentile-bootstrap
# decision "significant" is a sign test whose critical number of wins is 31 or 32 of 50 (the bound at 31
# wins sits at 0.5 up to Monte-Carlo error), so its exact size lies between P(W >= 32) and P(W >= 31).
# ---------------------------------------------------------------------------------------------------------

N_SIM = 2000
CL = 0.90


def _rates(k, p_true, f, fixed_split, seed, paired=True, n_sim=N_SIM):
    rng = np.random.default_rng(seed)
    delta = stats.norm.ppf(p_true)
    significant = meaningful = 0
    for _ in range(n_sim):
        b = rng.standard_normal(k)
        if paired:
            split = np.sqrt(f) * rng.standard_normal(1 if fixed_split else k)
            a = b + delta + split + np.sqrt(1 - f) * rng.standard_normal(k)
        else:  # independent runs: a - b has variance 2, hence delta * sqrt(2)
            a = np.sqrt(2) * delta + rng.standard_normal(k)
        res = probability_better(a, b, paired=paired, confidence_level=CL, n_resamples=500, rng=rng)
        significant += res.significant
        meaningful += res.meaningful
    return significant / n_sim, meaningful / n_sim


def _sign_test_bracket(k, p):
    """Rejection rate of the sign test with critical counts 32 and 31 (k = 50) or their analogue."""
    low_count, high_count = {50: (32, 31), 29: (19, 19), 44: (28, 28)}[k]
    return stats.binom.sf(low_count - 1, k, p), stats.binom.sf(high_count - 1, k, p)


def test_ideal_estimator_false_positive_rate_is_the_sign_test_size():
    fp, meaningful = _rates(50, 0.5, 0.25, fixed_split=False, seed=11)
    low, high = _sign_test_bracket(50, 0.5)  # 0.0325 and 0.0595: the attainable sizes around 0.05
    se = _mc_se(0.05, N_SIM)
    assert low - 3 * se <= fp <= high + 3 * se, fp
    assert meaningful <= fp  # meaningful implies significant


def test_noether_power_unpaired_29_runs_reaches_095():
    # Noether's formula (the 29 runs of Bouthillier et al.) is that of the Mann-Whitney test: 29 runs of
    # each procedure, independent, give a power >= 0.95 at P(A>B) = 0.75 and a size <= 0.05.
    assert noether_sample_size(0.75, alpha=0.05).n == 29  # one-sided 0.05, as the decision simulated here
    power, _ = _rates(29, 0.75, 0.0, fixed_split=False, seed=12, paired=False)
    size, _ = _rates(29, 0.5, 0.0, fixed_split=False, seed=13, paired=False)
    assert power >= 0.95 - 3 * _mc_se(0.95, N_SIM), power
    assert size <= 0.05 + 3 * _mc_se(0.05, N_SIM), size


def test_noether_power_paired_needs_44_pairs_not_29():
    # with PAIRED runs, P(A>B) is a proportion of pairs: 29 pairs give the sign test's power 0.914, not 0.95;
    # the sign-test formula (paired=True) asks for 44 pairs, whose power is 0.968.
    assert noether_sample_size(0.75, alpha=0.05, paired=True).n == 44
    for k, seed in ((29, 14), (44, 15)):
        power, _ = _rates(k, 0.75, 0.0, fixed_split=False, seed=seed)
        expected = _sign_test_bracket(k, 0.75)[0]
        assert abs(power - expected) <= 3 * _mc_se(expected, N_SIM) + 0.01, (k, power, expected)
    assert _sign_test_bracket(29, 0.75)[0] < 0.95 < _sign_test_bracket(44, 0.75)[0]


def _biased_rate(p_true, f, count):
    """Exact rejection rate of the sign test (critical count) when every run shares one split."""
    delta, ratio = stats.norm.ppf(p_true), np.sqrt(f / (1 - f))

    def integrand(z):
        conditional = stats.norm.cdf(delta / np.sqrt(1 - f) + ratio * z)
        return stats.binom.sf(count - 1, 50, conditional) * stats.norm.pdf(z)

    return integrate.quad(integrand, -10, 10)[0]


def test_fixed_split_estimator_is_biased_false_positives_and_false_negatives():
    # f = 0.25: the split x procedure interaction carries a quarter of the variance of the paired difference.
    f = 0.25
    fp_ideal, _ = _rates(50, 0.5, f, fixed_split=False, seed=21)
    fp_biased, _ = _rates(50, 0.5, f, fixed_split=True, seed=22)
    power_ideal, _ = _rates(50, 0.75, f, fixed_split=False, seed=23)
    power_biased, _ = _rates(50, 0.75, f, fixed_split=True, seed=24)
    # oracle: the fixed-split rates are sign-test rates averaged over the split (numerical integration)
    for observed, p_true in ((fp_biased, 0.5), (power_biased, 0.75)):
        low, high = _biased_rate(p_true, f, 32), _biased_rate(p_true, f, 31)
        se = _mc_se(max(min(observed, 0.99), 0.01), N_SIM)
        assert low - 3 * se <= observed <= high + 3 * se, (p_true, observed, low, high)
    # the biased estimator rejects a true null about 30 % of the time (ideal: <= 6 %) and misses a
    # P(A>B) = 0.75 improvement about 22 % of the time (ideal: 3 %)
    assert fp_biased > 0.25 > 0.06 + 3 * _mc_se(0.06, N_SIM) > fp_ideal
    assert 1 - power_biased > 0.15 > 1 - power_ideal


# ---------------------------------------------------------------------------------------------------------
# Bouthillier et al.'s own simulation (their figure of detection rates against P(A>B), k = 50 runs).
#
# Their two-stage model: each procedure's k runs are R = mu + b + sigma * N(0, 1), where b ~ N(0, sigma_e^2) is
# drawn once per experiment (the offset of a biased estimator that fixes the hyper-parameters, FixHOptEst) and
# is 0 for the ideal estimator; A and B draw their offsets independently; the true P(A>B) is
# Phi((mu_A - mu_B) / (sigma sqrt(2))). P(A>B) is estimated by pairing run i of A with run i of B, with a 95 %
# percentile bootstrap, and a detection is "lower bound > 0.5 and upper bound >= gamma = 0.75". Their figure
# reports, per true P(A>B), the rate P(lower > 0.5) x P(upper >= gamma) over simulated experiments (the two
# marginal rates multiplied, as their plotting code computes it); the joint rate of the rule is larger under
# the null. sigma_e / sigma = 0.3 puts 8 % of the variance in the hyper-parameter choice (Bouthillier et al.
# measured hyper-parameter variance of the order of the initialisation's, itself half of the split's or less).
# Read from their figure for the biased estimator: about 5 % false positives (at P(A>B) = 0.5) and 30 % false
# negatives (at P(A>B) = 0.75); required here: within 5 points.
# ---------------------------------------------------------------------------------------------------------


def _bouthillier_detection(p_true, bias_ratio, seed, k=50, n_sim=2000):
    rng = np.random.default_rng(seed)
    delta = stats.norm.ppf(p_true) * np.sqrt(2)
    offsets = bias_ratio * rng.standard_normal((n_sim, 2))
    a = delta + offsets[:, :1] + rng.standard_normal((n_sim, k))
    b = offsets[:, 1:] + rng.standard_normal((n_sim, k))
    bounds = np.array([tuple(probability_better(a[i], b[i], n_resamples=1000, rng=rng).confidence_interval)
                       for i in range(n_sim)])  # one experiment per call: the bootstrap inside is vectorised
    significant, reaches_gamma = bounds[:, 0] > 0.5, bounds[:, 1] >= 0.75
    figure_rate = significant.mean() * reaches_gamma.mean()
    joint_rate = (significant & reaches_gamma).mean()
    return figure_rate, joint_rate


@pytest.mark.slow
def test_bouthillier_error_rates_for_50_runs():
    fp_biased, fp_biased_joint = _bouthillier_detection(0.5, 0.3, seed=31)
    power_biased, power_biased_joint = _bouthillier_detection(0.75, 0.3, seed=32)
    fp_ideal, _ = _bouthillier_detection(0.5, 0.0, seed=33)
    power_ideal, _ = _bouthillier_detection(0.75, 0.0, seed=34)
    assert abs(fp_biased - 0.05) <= 0.05, fp_biased  # 0.024 observed
    assert abs((1 - power_biased) - 0.30) <= 0.05, power_biased  # 0.684 observed: 31.6 % false negatives
    # the ideal estimator (every source re-drawn per run) has both rates small
    assert fp_ideal < 0.01 and 1 - power_ideal < 0.10, (fp_ideal, power_ideal)
    # the joint decision of a single experiment: fixing the hyper-parameters inflates false positives far above
    # the figure's product of marginal rates
    assert fp_biased_joint > 0.10 > fp_biased and 1 - power_biased_joint < 1 - power_biased
