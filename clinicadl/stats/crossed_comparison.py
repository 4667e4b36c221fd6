"""Comparison of the expected performances of two learning procedures on the crossed design.

Both procedures' models are scored on the same test participants. The difference of their expected performances
uses the crossed-design decomposition (:mod:`clinicadl.stats.crossed_interval`) on the per-participant
differences (paired replicates: same root seed, replicate ``r`` of A beside replicate ``r`` of B), and
``P(A>B)`` (Bouthillier et al. 2021) gets an interval from a bootstrap that resamples replicate pairs and
participants jointly, so that it is a statement about the population of participants, not about this test set.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Owen A. B. (2007). The pigeonhole bootstrap. Annals of Applied Statistics 1(2), 386-411.
Satterthwaite F. E. (1946). An approximate distribution of estimates of variance components. Biometrics
Bulletin 2(6), 110-114.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clinicadl.errors import InputError
from clinicadl.stats.bootstrap import make_rng
from clinicadl.stats.crossed_design import (
    CrossedComponents,
    CrossedValues,
    chunks,
    crossed_components,
    crossed_values,
    draw_two_way,
    kurtosis_df,
    linearised_resamples,
    participant_counts,
)
from clinicadl.stats.crossed_interval import check_crossed_options
from clinicadl.stats.results import ConfidenceInterval


@dataclass(frozen=True)
class ExpectedDifference:
    """Comparison of the expected performances of two procedures on the same test participants.

    Attributes
    ----------
    metric : str
    difference : float
        Expected performance of A minus that of B (mean over the models of each).
    confidence_interval : ConfidenceInterval
        Interval of the difference in the participant population (replicates and test-set sampling).
    standard_error : float
    pvalue : float
        Two-sided p-value of "equal expected performances", consistent with the interval.
    p_a_better : float
        Proportion of replicate pairs in which A beats B on this test set (ties one half); with
        ``paired=False`` over all (replicate of A, replicate of B) pairs.
    p_a_better_interval : ConfidenceInterval
        Percentile interval of ``P(A>B)`` from the bootstrap that resamples replicate pairs and participants
        jointly: a statement about the population, not about this test set.
    gamma : float
    significant, meaningful : bool
        The rule of Bouthillier et al. (2021) on ``p_a_better_interval``: lower bound > 0.5; and upper bound
        >= gamma.
    decision : str
        ``"A better (meaningful)"``, ``"A better (not meaningful)"``, ``"B better"`` or ``"no significant
        difference"``.
    conclusion : str
        The decision in a sentence, naming its scope (the population of participants).
    components : CrossedComponents
        Variance components of the difference.
    method : str
    scope : str
        What the conclusion is about.
    paired : bool
    n_replicates_a, n_replicates_b, n_participants, n_resamples : int
    seed : int or None
    confidence_level : float
    bootstrap_distribution : numpy.ndarray
        The ``P(A>B)`` bootstrap replicates.
    """

    metric: str
    difference: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    pvalue: float
    p_a_better: float
    p_a_better_interval: ConfidenceInterval
    gamma: float
    significant: bool
    meaningful: bool
    decision: str
    conclusion: str
    components: CrossedComponents
    method: str
    scope: str
    paired: bool
    n_replicates_a: int
    n_replicates_b: int
    n_participants: int
    n_resamples: int
    seed: int | None
    confidence_level: float
    bootstrap_distribution: np.ndarray = field(repr=False)


SCOPE = ("population of participants: replicates (new splits of the same development sample, new seeds) and "
         "test-set sampling both accounted for")


def _half_width(alpha, replicate_part, participant_part, df_replicate, df_participant):
    """Half-width of the per-component t interval at two-sided level ``1 - alpha`` (terms with no variance dropped)."""
    from scipy import stats as sps  # here: scipy.stats takes longer to import than evaluate procedure computes

    total = 0.0
    if replicate_part > 0 and df_replicate > 0:
        total += sps.t.isf(alpha / 2, df_replicate) ** 2 * replicate_part
    if participant_part > 0:
        total += sps.t.isf(alpha / 2, df_participant) ** 2 * participant_part
    return np.sqrt(total)


def componentwise_pvalue(difference: float, replicate_part: float, participant_part: float, df_replicate: float,
                         df_participant: float) -> float:
    """Two-sided p-value that inverts the per-component t interval: the level whose interval just touches 0."""
    d = abs(difference)
    if replicate_part + participant_part <= 0:
        return 1.0 if d == 0 else 0.0
    if d == 0:
        return 1.0

    def gap(log_alpha):
        return _half_width(np.exp(log_alpha), replicate_part, participant_part, df_replicate, df_participant) - d

    from scipy import optimize

    low, high = np.log(1e-300), np.log(1.0 - 1e-12)
    if gap(high) >= 0:
        return 1.0
    if gap(low) <= 0:
        return 0.0
    return float(np.exp(optimize.brentq(gap, low, high, xtol=1e-12)))


def _difference_components(a: CrossedValues, b: CrossedValues, paired: bool) -> CrossedComponents:
    if paired:
        diff = CrossedValues(a.metric, a.values - b.values, a.pseudo - b.pseudo, a.strata, a.participants)
        return crossed_components(diff)
    ca, cb = crossed_components(a), crossed_components(b)
    codes, sizes = np.unique(a.strata, return_counts=True)
    participant_part, satterthwaite = 0.0, 0.0
    for code, size in zip(codes, sizes):
        cols = a.strata == code
        column = a.pseudo[:, cols].mean(axis=0) - b.pseudo[:, cols].mean(axis=0)
        part = float(column.var(ddof=1) / size)
        participant_part += part
        satterthwaite += part**2 / float(kurtosis_df(column))
    replicate_part = ca.replicate_part + cb.replicate_part
    df_r = ((replicate_part**2 / (ca.replicate_part**2 / ca.df_replicate + cb.replicate_part**2 / cb.df_replicate))
            if replicate_part > 0 else min(ca.df_replicate, cb.df_replicate))
    return CrossedComponents(
        replicate=ca.replicate + cb.replicate, participant=np.nan, interaction=ca.interaction + cb.interaction,
        between_models=ca.between_models + cb.between_models,
        variance_of_mean=ca.replicate / ca.n_replicates + cb.replicate / cb.n_replicates + participant_part,
        replicate_part=replicate_part, participant_part=participant_part, df_replicate=float(df_r),
        df_participant=float(participant_part**2 / satterthwaite) if satterthwaite > 0 else float(sizes.min() - 1),
        n_replicates=min(ca.n_replicates, cb.n_replicates), n_participants=a.n_participants)


def _p_a_better_bootstrap(a: CrossedValues, b: CrossedValues, sign: float, paired: bool, n_resamples: int,
                          rng: np.random.Generator, batch: int | None = None) -> np.ndarray:
    """P(A>B) under joint resampling of replicate (pairs) and participants (stratified), linearised values.

    Every draw is made before the work is cut into chunks, so the result does not depend on ``batch``.
    """
    ra, rb = a.n_models, b.n_models
    m = a.n_participants
    columns, _, rows = draw_two_way(a.strata, n_resamples, rng, [ra] if paired else [ra, rb])
    out = []
    for part in chunks(n_resamples, m + ra * rb, batch):
        weights = participant_counts(columns[part], m)
        theta_a = a.values[None, :] + linearised_resamples(a.pseudo, a.strata, weights)
        theta_b = b.values[None, :] + linearised_resamples(b.pseudo, b.strata, weights)
        if paired:
            d = sign * (theta_a - theta_b)
            wins = (d > 0) + 0.5 * (d == 0)
            out.append(np.take_along_axis(wins, rows[0][part], axis=1).mean(axis=1))
        else:
            d = sign * (theta_a[:, :, None] - theta_b[:, None, :])
            wins = (d > 0) + 0.5 * (d == 0)
            ca = participant_counts(rows[0][part], ra)
            cb = participant_counts(rows[1][part], rb)
            out.append(np.einsum("bi,bij,bj->b", ca, wins, cb) / (ra * rb))
    return np.concatenate(out)


def _decision(p_low: float, p_high: float, gamma: float) -> tuple[bool, bool, str]:
    if p_low > 0.5:
        meaningful = p_high >= gamma
        return True, meaningful, "A better (meaningful)" if meaningful else "A better (not meaningful)"
    if p_high < 0.5:
        return False, False, "B better"
    return False, False, "no significant difference"


def compare_expected_performance(
    y_true,
    y_score_a,
    y_score_b,
    *,
    metric: str,
    paired: bool = True,
    gamma: float = 0.75,
    groups=None,
    pos_label: int = 1,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    rng=None,
    replicates_a=None,
    replicates_b=None,
    higher_is_better: bool = True,
    batch: int | None = None,
) -> ExpectedDifference:
    """Compare two learning procedures whose models were all scored on the same test participants.

    Parameters
    ----------
    y_true : array_like of shape (n,) or None
    y_score_a, y_score_b : array_like of shape (R_a, n) / (R_b, n), or with a class axis
        The models of procedure A and of procedure B (see :func:`expected_performance`).
    metric : str
    paired : bool, default True
        Replicate ``r`` of A and of B share their seeds (same ``--root_seed``): R_a == R_b, and the differences
        are taken replicate by replicate. With False the replicates are independent.
    gamma : float, default 0.75
        Threshold of a meaningful ``P(A>B)`` (Bouthillier et al. 2021).
    groups, pos_label, replicates_a, replicates_b :
        See :func:`expected_performance`.
    n_resamples : int, default 2000
        Resamples of the ``P(A>B)`` bootstrap.
    confidence_level : float, default 0.95
    rng : int, numpy.random.Generator or None
        Seed of the bootstrap (recorded).
    higher_is_better : bool, default True
        False for a loss-like metric (MAE): A beats B when its value is lower.
    batch : int, optional
        Resamples per chunk of the bootstrap (memory); the result does not depend on it.

    Returns
    -------
    ExpectedDifference
        ``difference``, ``confidence_interval``, ``pvalue``, ``p_a_better``, ``p_a_better_interval``,
        ``decision``, ``conclusion`` and the variance ``components`` of the difference.

    Notes
    -----
    The interval and p-value of the difference use the crossed-design variance of the difference (replicate
    part on R - 1 degrees of freedom, participant part on kurtosis-corrected Satterthwaite ones) with per-component
    t multipliers.
    ``P(A>B)`` is estimated on this test set; its interval resamples replicate pairs *and* participants jointly
    (stratified by class), as Bouthillier et al. re-draw the data for every run, so that a participant-by-
    procedure interaction (two procedures equally good in the population whose models suit different
    participants) does not make "significant" more frequent than the nominal rate.

    References
    ----------
    Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
    Owen A. B. (2007). The pigeonhole bootstrap. Ann. Appl. Stat. 1(2), 386-411.
    """
    check_crossed_options(confidence_level, n_resamples)
    a = crossed_values(y_true, y_score_a, metric=metric, groups=groups, pos_label=pos_label, replicates=replicates_a)
    b = crossed_values(y_true, y_score_b, metric=metric, groups=groups, pos_label=pos_label, replicates=replicates_b)
    return compare_values(a, b, paired=paired, gamma=gamma, n_resamples=n_resamples,
                          confidence_level=confidence_level, rng=rng, higher_is_better=higher_is_better, batch=batch)


def compare_values(a: CrossedValues, b: CrossedValues, *, paired: bool = True, gamma: float = 0.75,
                   n_resamples: int = 2000, confidence_level: float = 0.95, rng=None,
                   higher_is_better: bool = True, batch: int | None = None) -> ExpectedDifference:
    """:func:`compare_expected_performance` from precomputed :class:`CrossedValues` of the two procedures."""
    from scipy import stats as sps

    check_crossed_options(confidence_level, n_resamples)
    if not 0.5 <= gamma < 1:
        raise InputError(f"gamma must lie in [0.5, 1), got {gamma!r} (Bouthillier et al. recommend 0.75).")
    generator, seed = make_rng(rng)
    metric = a.metric
    if a.n_participants != b.n_participants or not np.array_equal(a.strata, b.strata):
        raise InputError("the two procedures were not scored on the same test participants: no crossed comparison.")
    if a.n_models < 2 or b.n_models < 2:
        raise InputError(f"a comparison of procedures needs at least 2 replicates of each, got {a.n_models} and "
                         f"{b.n_models}.")
    if paired and a.n_models != b.n_models:
        raise InputError(f"paired procedures need as many replicates in A as in B, got {a.n_models} and "
                         f"{b.n_models}; pass paired=False for independent replicates.")
    for name, v in (("A", a), ("B", b)):
        if not (np.all(np.isfinite(v.values)) and np.all(np.isfinite(v.pseudo))):
            raise InputError(f"{metric} is undefined for some model of procedure {name} (or when some participant "
                             "is left out): no comparison.")
    comp = _difference_components(a, b, paired)
    difference = float(a.values.mean() - b.values.mean())
    q = 0.5 + confidence_level / 2
    t_r = sps.t.ppf(q, comp.df_replicate) if comp.df_replicate > 0 else 0.0
    half = float(np.sqrt(t_r**2 * comp.replicate_part + sps.t.ppf(q, comp.df_participant) ** 2
                         * comp.participant_part))
    pvalue = componentwise_pvalue(difference, comp.replicate_part, comp.participant_part, comp.df_replicate,
                                  comp.df_participant)
    sign = 1.0 if higher_is_better else -1.0
    if paired:
        d = sign * (a.values - b.values)
    else:
        d = sign * (a.values[:, None] - b.values[None, :])
    p_hat = float(((d > 0) + 0.5 * (d == 0)).mean())
    boot = _p_a_better_bootstrap(a, b, sign, paired, int(n_resamples), generator, batch)
    p_low, p_high = (float(x) for x in np.quantile(boot, [(1 - confidence_level) / 2, q]))
    significant, meaningful, decision = _decision(p_low, p_high, gamma)
    shown = (f"P(A>B) = {p_hat:.2f} on this test set, {confidence_level:.0%} CI [{p_low:.2f}, {p_high:.2f}] in the "
             "participant population")
    conclusion = {
        "A better (meaningful)": f"A is significantly and meaningfully better than B: {shown} (gamma = {gamma:g}).",
        "A better (not meaningful)": f"A is significantly but not meaningfully better than B: {shown}; the whole "
                                     f"interval lies below gamma = {gamma:g}.",
        "B better": f"B is significantly better than A: {shown}.",
        "no significant difference": f"No significant difference between A and B: {shown}; the interval "
                                     "contains 0.5.",
    }[decision]
    return ExpectedDifference(
        metric=metric, difference=difference, confidence_interval=ConfidenceInterval(difference - half,
                                                                                     difference + half),
        standard_error=float(np.sqrt(max(comp.variance_of_mean, 0.0))), pvalue=pvalue, p_a_better=p_hat,
        p_a_better_interval=ConfidenceInterval(p_low, p_high), gamma=float(gamma), significant=significant,
        meaningful=meaningful, decision=decision, conclusion=conclusion, components=comp,
        method="crossed-design difference (per-component t); P(A>B): bootstrap of replicate pairs and participants",
        scope=SCOPE, paired=bool(paired), n_replicates_a=a.n_models, n_replicates_b=b.n_models,
        n_participants=a.n_participants, n_resamples=int(n_resamples), seed=seed,
        confidence_level=float(confidence_level), bootstrap_distribution=boot,
    )
