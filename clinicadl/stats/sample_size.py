"""How many runs, and how many test participants, a study needs.

Two questions of planning: how many runs of two learning procedures are needed to detect that
``P(A>B)`` reaches a threshold ``gamma`` (Noether 1987, as used by Bouthillier et al. 2021), and how many
test participants are needed for the confidence interval of a metric to have a given width (normal
approximation).

References
----------
Noether G. E. (1987). Sample size determination for some common nonparametric tests. JASA 82(398),
645-647.
Bouthillier X., et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.special import ndtri

from clinicadl.errors import InputError, plain


@dataclass(frozen=True)
class NoetherSampleSize:
    """Number of runs for a test of ``P(A>B)`` (Noether 1987).

    Attributes
    ----------
    n : int
        Number of runs (pairs) to use: ``ceil(exact)``.
    exact : float
        ``(z_{1-alpha} + z_{1-beta})**2 / (c * (gamma - 1/2)**2)``, ``c = 6`` (Mann-Whitney) or 4 (paired).
    gamma : float
        Value of ``P(A>B)`` under the alternative.
    alpha : float
        One-sided type I error rate.
    beta : float
        Type II error rate (power ``1 - beta`` when ``P(A>B) = gamma``).
    paired : bool
        True: ``n`` pairs (sign test); False: ``n`` independent runs of each procedure (Mann-Whitney).
    """

    n: int
    exact: float
    gamma: float
    alpha: float
    beta: float
    paired: bool


@dataclass(frozen=True)
class WidthSampleSize:
    """Number of test participants for a confidence interval of a given width.

    Attributes
    ----------
    n : int
        Number of participants: ``ceil(exact)``.
    exact : float
        ``(2 * z_{1-(1-confidence_level)/2})**2 * unit_variance / width**2``.
    width : float
        Target full width (``high - low``) of the interval.
    confidence_level : float
    unit_variance : float
        Variance of the metric times the number of participants (``metric_variance``, or
        ``n_pilot * standard_error**2`` from a pilot).
    """

    n: int
    exact: float
    width: float
    confidence_level: float
    unit_variance: float


def _check_probability(value, name, low=0.0, high=1.0):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low < value < high:
        raise InputError(f"{name} must be a number strictly between {low:g} and {high:g}, got {plain(value)}.")
    return float(value)


def _ceil(exact: float) -> int:
    # guard against 29.000000000000004 -> 30 from floating-point error
    return math.ceil(exact - 1e-9 * max(1.0, exact))


def noether_sample_size(
    gamma: float, *, alpha: float = 0.025, beta: float = 0.05, paired: bool = False
) -> NoetherSampleSize:
    """Number of runs to show that A outperforms B when ``P(A>B) = gamma`` (Noether 1987).

    Parameters
    ----------
    gamma : float
        ``P(A>B)`` under the alternative, in (0.5, 1]; Bouthillier et al. recommend 0.75.
    alpha : float, default 0.025
        One-sided type I error rate of the test of ``P(A>B) = 0.5``. The default is the one-sided level
        of the decision that :func:`clinicadl.stats.probability_better.probability_better` and
        ``clinicadl evaluate compare`` make with their default two-sided 95 % interval (its lower bound
        above 0.5), so that a study planned with the defaults has the power it was planned for. Pass
        ``alpha=0.05`` for the 29 runs of Bouthillier et al. (2021), and decide with a 90 % interval.
    beta : float, default 0.05
        Type II error rate at ``P(A>B) = gamma``.
    paired : bool, default False
        False: Noether's formula for the Wilcoxon-Mann-Whitney test, ``n`` runs of EACH procedure,
        independent (the formula of Bouthillier et al.). True: Noether's formula for the sign test,
        ``n`` paired runs, ``P(A>B)`` estimated by the proportion of pairs that A wins.

    Returns
    -------
    NoetherSampleSize
        ``n`` (the integer to use) and ``exact`` (the formula's value).

    Notes
    -----
    Wilcoxon-Mann-Whitney (``paired=False``): ``N >= (z_{1-alpha} + z_{1-beta})**2 / (6 (gamma - 1/2)**2)``
    runs per procedure, from the null variance ``1 / (6 N)`` of the Mann-Whitney estimate of ``P(A>B)``
    with ``N`` runs on each side. Sign test (``paired=True``): ``N >= (z_{1-alpha} + z_{1-beta})**2 /
    (4 (gamma - 1/2)**2)`` pairs, from the null variance ``1 / (4 N)`` of a proportion. ``z_p`` is the
    standard normal quantile and ``alpha`` is one-sided.

    With ``alpha = beta = 0.05`` and ``gamma = 0.75`` the first gives 28.86, hence the 29 runs of
    Bouthillier et al. (2021) (a two-sided 0.05 would give 34.65, hence 35); at ``gamma = 0.55`` it gives
    721.48, i.e. 722. Bouthillier et al. pair their runs but use the Mann-Whitney formula: for PAIRED
    runs the sign-test formula asks for 43.29, i.e. 44 pairs; 29 pairs give a power of about 0.91, not
    0.95 (exact binomial power, and our simulation in ``tests/stats/test_probability_better.py``).
    The matching decision with :func:`clinicadl.stats.probability_better.probability_better` reads the
    lower bound of a two-sided interval at ``confidence_level = 1 - 2 * alpha`` (0.90 for alpha = 0.05),
    with the same ``paired``.

    References
    ----------
    Noether G. E. (1987). Sample size determination for some common nonparametric tests. JASA 82(398).
    Bouthillier X., et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.

    Examples
    --------
    >>> from clinicadl.stats.sample_size import noether_sample_size
    >>> res = noether_sample_size(0.75, alpha=0.05)  # Bouthillier et al. (2021)
    >>> res.n, round(res.exact, 2)
    (29, 28.86)
    >>> noether_sample_size(0.75).n  # one-sided 0.025: the default 95 % interval of compare
    35
    >>> noether_sample_size(0.75, alpha=0.05, paired=True).n
    44
    """
    if not isinstance(gamma, (int, float)) or isinstance(gamma, bool) or not 0.5 < gamma <= 1:
        raise InputError(f"gamma must lie in (0.5, 1], got {plain(gamma)}; at 0.5 no number of runs suffices.")
    alpha = _check_probability(alpha, "alpha", high=0.5)
    beta = _check_probability(beta, "beta", high=0.5)
    scale = 4 if paired else 6
    exact = float((ndtri(1 - alpha) + ndtri(1 - beta)) ** 2 / (scale * (gamma - 0.5) ** 2))
    return NoetherSampleSize(n=_ceil(exact), exact=exact, gamma=float(gamma), alpha=alpha, beta=beta,
                             paired=bool(paired))


def participants_for_width(
    width: float,
    *,
    metric_variance: float | None = None,
    standard_error: float | None = None,
    n_pilot: int | None = None,
    confidence_level: float = 0.95,
) -> WidthSampleSize:
    """Number of test participants for the interval of a metric to have a target width.

    Parameters
    ----------
    width : float
        Full width ``high - low`` wanted (twice the margin of error).
    metric_variance : float, optional
        Variance of one participant's contribution, so that the metric's variance is
        ``metric_variance / n`` (``p * (1 - p)`` for an accuracy ``p``). Give either this or a pilot.
    standard_error, n_pilot : float and int, optional
        Standard error of the metric measured on a pilot of ``n_pilot`` participants (e.g. the
        ``standard_error`` of :func:`clinicadl.stats.bootstrap_ci`); then
        ``metric_variance = n_pilot * standard_error**2``.
    confidence_level : float, default 0.95

    Returns
    -------
    WidthSampleSize
        ``n`` (the integer to use), ``exact`` and the ``unit_variance`` used.

    Notes
    -----
    Normal approximation: the interval is ``estimate +- z * sqrt(unit_variance / n)``, so its width is
    ``2 z sqrt(unit_variance / n)`` and ``n = (2 z)**2 unit_variance / width**2``; from a pilot,
    ``n = n_pilot * (2 z SE_pilot / width)**2``. It assumes the standard error shrinks as
    ``1 / sqrt(n)`` (true of means, proportions, AUC and other smooth metrics of independent
    participants) and that the pilot's metric is close to the final one; for a proportion near 0 or 1,
    or fewer than about 30 participants, check the result with the exact interval. With
    ``metric_variance = 1/4`` (an accuracy of 0.5) and a margin of 0.05, it gives the classic 385.

    References
    ----------
    Cochran W. G. (1977). Sampling Techniques, 3rd ed., section 4.4 (sample size for a proportion).

    Examples
    --------
    >>> from clinicadl.stats.sample_size import participants_for_width
    >>> participants_for_width(0.10, metric_variance=0.25).n
    385
    >>> participants_for_width(0.05, standard_error=0.04, n_pilot=100).n
    984
    """
    width = _check_probability(width, "width", high=math.inf)
    confidence_level = _check_probability(confidence_level, "confidence_level")
    pilot = standard_error is not None or n_pilot is not None
    if (metric_variance is None) == (not pilot) or (pilot and (standard_error is None or n_pilot is None)):
        raise InputError("Give either metric_variance, or both standard_error and n_pilot (from a pilot study).")
    if metric_variance is not None:
        unit_variance = _check_probability(metric_variance, "metric_variance", high=math.inf)
    else:
        standard_error = _check_probability(standard_error, "standard_error", high=math.inf)
        if not isinstance(n_pilot, int) or isinstance(n_pilot, bool) or n_pilot < 2:
            raise InputError(f"n_pilot must be an integer >= 2, got {plain(n_pilot)}.")
        unit_variance = n_pilot * standard_error**2
    z = float(ndtri(1 - (1 - confidence_level) / 2))
    exact = (2 * z) ** 2 * unit_variance / width**2
    return WidthSampleSize(n=_ceil(exact), exact=float(exact), width=width, confidence_level=confidence_level,
                           unit_variance=float(unit_variance))
