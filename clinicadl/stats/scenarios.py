"""Scenarios (data-generating processes with a known truth) and the procedures they validate.

Each scenario is a frozen dataclass that draws a batch of simulated data sets as arrays (see
:class:`clinicadl.stats.simulation.Scenario`); each ``*_procedure`` function returns a
:class:`~clinicadl.stats.simulation.Procedure` that applies one of the package's interval methods or tests to a
whole batch. :data:`SCENARIOS` names the families, and ``default_procedures(scenario)`` gives the procedures
each family validates.

Families
--------
- :class:`BernoulliAccuracy`: accuracy of ``n`` independent predictions (Wilson 1927; Clopper & Pearson 1934).
- :class:`BinormalScores`: binormal classifier scores, AUC known in closed form; optionally clustered
  sessions (1-4 images per participant sharing a participant random effect).
- :class:`BetaValues`: Beta-distributed per-case values, e.g. Dice (El Jurdi et al. 2023).
- :class:`LognormalValues`: skewed per-case values for the median (percentile bootstrap vs order statistics).
- :class:`TwoStageReplicates`: the performance of replicates of a learning procedure,
  ``R_ij = mu + b_i + e_ij + t`` (Bouthillier et al. 2021): split / hyper-parameter effect ``b_i``, seed
  noise ``e_ij``, test-set sampling error ``t`` shared by all replicates evaluated on the same test set.
- :class:`ResampledDifferences`: differences between two procedures over resampled splits with the
  correlation Nadeau & Bengio (2003) derive, under the null or an alternative.
- :class:`CentroidCV`: a real learning procedure on synthetic data (two nearest-centroid classifiers on
  10 x 10-fold CV) under an exact null (Nadeau & Bengio 2003; Bouckaert & Frank 2004).
- :class:`TwoModels`: two trained models scored on the same participants (McNemar, DeLong, permutation test,
  paired bootstrap of the difference).
- :class:`LogisticCV`: logistic regression on ``n`` cases with ``p`` Gaussian features (Bates et al. 2023):
  naive cross-validation intervals and nested cross-validation of the prediction error ``Err_XY``.

References
----------
Bates S., Hastie T., Tibshirani R. (2023). Cross-validation: what does it estimate and how well does it do
it? JASA 119(546), 1434-1445.
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Christodoulou E. et al. (2024). Confidence intervals uncovered: are we ready for real-world medical imaging
AI? MICCAI 2024.
DeLong E. R., DeLong D. M., Clarke-Pearson D. L. (1988). Comparing the areas under two or more correlated ROC
curves. Biometrics 44(3), 837-845.
Efron B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
El Jurdi R., Varoquaux G., Colliot O. (2023). Confidence intervals for performance estimates in 3D medical
image segmentation. arXiv:2307.10926.
Nadeau C., Bengio Y. (2003). Inference for the generalization error. Machine Learning 52(3), 239-281.
Wilson E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22, 209-212.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType

import numpy as np
from scipy import stats
from scipy.special import expit, ndtr

from clinicadl.errors import InputError
from clinicadl.stats.simulation import IntervalOutcome, Procedure, TestOutcome

__all__ = [
    "SCENARIOS",
    "BernoulliAccuracy",
    "BetaValues",
    "BinormalScores",
    "CentroidCV",
    "LogisticCV",
    "LognormalValues",
    "ResampledDifferences",
    "TwoModels",
    "TwoStageReplicates",
    "binormal_truth",
    "bootstrap_procedure",
    "comparison_procedure",
    "cv_procedure",
    "default_procedures",
    "delong_procedure",
    "fit_logistic",
    "five_by_two_procedure",
    "make_scenario",
    "nested_cv_available",
    "proportion_procedure",
    "replicate_procedure",
    "ttest_procedure",
    "values_procedure",
]

WILSON = "Wilson E. B. (1927). JASA 22, 209-212."
CLOPPER = "Clopper C. J., Pearson E. S. (1934). Biometrika 26(4), 404-413."
JEFFREYS = "Brown L. D., Cai T. T., DasGupta A. (2001). Statistical Science 16(2), 101-133."
EFRON = "Efron B. (1987). JASA 82(397), 171-185."
DELONG = "DeLong E. R. et al. (1988). Biometrics 44(3), 837-845."
NADEAU = "Nadeau C., Bengio Y. (2003). Machine Learning 52(3), 239-281."
BOUCKAERT = "Bouckaert R. R., Frank E. (2004). PAKDD, 3-12."
BOUTHILLIER = "Bouthillier X. et al. (2021). MLSys 3."
BATES = "Bates S., Hastie T., Tibshirani R. (2023). JASA 119(546), 1434-1445."
CONOVER = "Conover W. J. (1999). Practical Nonparametric Statistics, section 3.2."
STUDENT = "Student (1908). Biometrika 6(1), 1-25."


def _frozen(mapping: Mapping[str, float]) -> MappingProxyType:
    return MappingProxyType({k: float(v) for k, v in mapping.items()})


def _t_interval(mean: np.ndarray, se: np.ndarray, df: float | np.ndarray, level: float) -> IntervalOutcome:
    q = stats.t.ppf((1 + level) / 2, df)
    return IntervalOutcome(mean, mean - q * se, mean + q * se)


# ================================================================================== Bernoulli accuracy


@dataclass(frozen=True)
class BernoulliAccuracy:
    """Number of correct predictions among ``n`` independent cases, each correct with probability ``p``.

    With ``p_spread > 0`` every simulated study draws its own ``p`` uniformly in ``[p - p_spread, p + p_spread]``
    (the truth then varies with the study): the coverage is averaged over ``p``, which smooths the oscillation
    of the coverage of a binomial interval with ``n`` and ``p`` (Brown, Cai & DasGupta 2001).
    Batch: ``k`` (n_sim,) correct predictions, ``n`` (scalar) and, with a spread, ``truth:accuracy``.
    """

    n: int = 100
    p: float = 0.8
    p_spread: float = 0.0

    def __post_init__(self):
        if self.p_spread < 0 or self.p - self.p_spread < 0 or self.p + self.p_spread > 1:
            raise InputError(f"p = {self.p} +/- {self.p_spread} must lie in [0, 1] (and the spread be >= 0).")

    @property
    def key(self) -> str:
        spread = f"+/-{self.p_spread:g}" if self.p_spread else ""
        return f"bernoulli-accuracy(n={self.n},p={self.p:g}{spread})"

    @property
    def truth(self) -> Mapping[str, float]:
        return _frozen({"accuracy": self.p})

    @property
    def description(self) -> str:
        p = f"uniform in [{self.p - self.p_spread:g}, {self.p + self.p_spread:g}]" if self.p_spread else f"{self.p:g}"
        return f"{self.n} independent predictions, each correct with probability {p}"

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        if not self.p_spread:
            return {"k": rng.binomial(self.n, self.p, size=n_sim), "n": np.asarray(self.n)}
        p = rng.uniform(self.p - self.p_spread, self.p + self.p_spread, size=n_sim)
        return {"k": rng.binomial(self.n, p), "n": np.asarray(self.n), "truth:accuracy": p}

    def exact_coverage(self, method: str, *, confidence_level: float = 0.95, grid: int = 2001) -> float:
        """Exact coverage of a closed-form interval (``wilson``, ``clopper-pearson``, ``jeffreys``, ``wald``):
        ``sum_k P(K = k) 1{p in CI(k)}``, averaged over a fine grid of ``p`` when ``p_spread > 0``.

        The oracle of the simulated coverage of this scenario.
        """
        k = np.arange(self.n + 1)
        if method == "wald":
            half = stats.norm.ppf((1 + confidence_level) / 2) * np.sqrt(k / self.n * (1 - k / self.n) / self.n)
            low, high = k / self.n - half, k / self.n + half
        else:
            from clinicadl.stats.proportion import proportion_interval

            low, high = proportion_interval(k, self.n, confidence_level=confidence_level, method=method)
        ps = (np.linspace(self.p - self.p_spread, self.p + self.p_spread, grid) if self.p_spread
              else np.array([self.p]))
        pmf = stats.binom.pmf(k[None, :], self.n, ps[:, None])
        covered = (low[None, :] <= ps[:, None]) & (ps[:, None] <= high[None, :])
        return float((pmf * covered).sum(axis=1).mean())


def _proportion(batch, rng, *, method, level):
    from clinicadl.stats.proportion import proportion_interval

    k, n = batch["k"], batch["n"]
    low, high = proportion_interval(k, n, confidence_level=level, method=method)
    return IntervalOutcome(k / n, low, high)


def _wald(batch, rng, *, level):
    k, n = batch["k"], batch["n"]
    p = k / n
    half = stats.norm.ppf((1 + level) / 2) * np.sqrt(p * (1 - p) / n)
    return IntervalOutcome(p, p - half, p + half)


def _proportion_bootstrap(batch, rng, *, n_resamples, level):
    # The bootstrap distribution of a proportion of n i.i.d. 0/1 values is Binomial(n, k/n) / n:
    # drawn exactly, vectorised over resamples and simulations.
    k, n = batch["k"], int(batch["n"])
    p = k / n
    draws = rng.binomial(n, p, size=(n_resamples, p.size)) / n
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return IntervalOutcome(p, low, high)


def proportion_procedure(method: str = "wilson", *, confidence_level: float = 0.95,
                         n_resamples: int = 2000) -> Procedure:
    """Interval of an accuracy: ``"wilson"`` (default of the package), ``"clopper-pearson"``, ``"jeffreys"``
    (:func:`clinicadl.stats.proportion_interval`), the textbook ``"wald"`` or the ``"percentile"`` bootstrap."""
    if method == "wald":
        return Procedure("wald", "interval", "accuracy", partial(_wald, level=confidence_level),
                         confidence_level, "Wald interval p +/- z sqrt(p(1-p)/n)")
    if method == "percentile":
        return Procedure("percentile bootstrap", "interval", "accuracy",
                         partial(_proportion_bootstrap, n_resamples=n_resamples, level=confidence_level),
                         confidence_level, EFRON)
    reference = {"wilson": WILSON, "clopper-pearson": CLOPPER, "jeffreys": JEFFREYS}.get(method)
    if reference is None:
        raise InputError(f"Unknown proportion method {method!r}; choose wilson, clopper-pearson, jeffreys, wald "
                         "or percentile.")
    return Procedure(method, "interval", "accuracy", partial(_proportion, method=method, level=confidence_level),
                     confidence_level, reference)


# ===================================================================================== binormal scores


def binormal_truth(mu0: float, mu1: float, prevalence: float) -> dict[str, float]:
    """Image-level truths of the binormal model (latent ``x ~ N(mu_y, 1)``, predicted class 1 iff ``x > 0``).

    ``AUC = Phi((mu1 - mu0) / sqrt(2))``, sensitivity ``Phi(mu1)``, specificity ``Phi(-mu0)``.
    """
    sens, spec = float(ndtr(mu1)), float(ndtr(-mu0))
    tp, fn = prevalence * sens, prevalence * (1 - sens)
    tn, fp = (1 - prevalence) * spec, (1 - prevalence) * (1 - spec)
    return {"AUC": float(ndtr((mu1 - mu0) / math.sqrt(2))), "BA": (sens + spec) / 2, "accuracy": tp + tn,
            "sensitivity": sens, "specificity": spec, "PPV": tp / (tp + fp), "NPV": tn / (tn + fn),
            "F1_score": 2 * tp / (2 * tp + fp + fn)}


@dataclass(frozen=True)
class BinormalScores:
    """Binary classification scores of ``n`` participants under the binormal model.

    Each participant has a class (1 with probability ``prevalence``); each of its images a latent value
    ``x = mu_y + u + e`` with ``Var(u) + Var(e) = 1``; score ``Phi(x)``. With ``clustered=True`` a participant
    has 1 to ``max_sessions`` images (uniform) and ``Var(u) = icc``; otherwise one image and ``u = 0``.
    The image-level truths (:func:`binormal_truth`) are the same in both layouts.

    Batch: ``y`` and ``x`` of shape (n_sim, n, max_sessions) (``max_sessions = 1`` unclustered) and ``mask``
    (which images exist).
    """

    n: int = 100
    mu0: float = -0.5
    mu1: float = 0.69
    prevalence: float = 0.5
    clustered: bool = False
    icc: float = 0.6
    max_sessions: int = 4

    @property
    def key(self) -> str:
        layout = f",clustered(icc={self.icc:g},sessions=1-{self.max_sessions})" if self.clustered else ""
        return f"binormal(n={self.n},mu0={self.mu0:g},mu1={self.mu1:g},prevalence={self.prevalence:g}{layout})"

    @property
    def truth(self) -> Mapping[str, float]:
        return _frozen(binormal_truth(self.mu0, self.mu1, self.prevalence))

    @property
    def description(self) -> str:
        layout = (f"1-{self.max_sessions} sessions per participant, ICC {self.icc:g}" if self.clustered
                  else "one image per participant")
        return f"binormal scores of {self.n} participants (AUC {self.truth['AUC']:.3f}), {layout}"

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        m = self.max_sessions if self.clustered else 1
        shape = (n_sim, self.n, m)
        if self.clustered:
            sessions = rng.integers(1, m + 1, size=(n_sim, self.n))
            mask = np.arange(m) < sessions[..., None]
            noise = (math.sqrt(self.icc) * rng.standard_normal((n_sim, self.n, 1))
                     + math.sqrt(1 - self.icc) * rng.standard_normal(shape))
        else:
            mask = np.ones(shape, dtype=bool)
            noise = rng.standard_normal(shape)
        y = np.broadcast_to((rng.random((n_sim, self.n, 1)) < self.prevalence), shape).astype(np.int64)
        x = np.where(y == 1, self.mu1, self.mu0) + noise
        return {"y": y, "x": x, "mask": mask}


def _images(batch, i):
    mask = batch["mask"][i]
    groups = np.broadcast_to(np.arange(mask.shape[0])[:, None], mask.shape)[mask]
    return batch["y"][i][mask], batch["x"][i][mask], groups


def _bootstrap_metric(batch, rng, *, metric, method, unit, n_resamples, level):
    from clinicadl.stats.bootstrap import bootstrap
    from clinicadl.stats.predictions import make_predictions

    n_sim = batch["y"].shape[0]
    out = np.full((3, n_sim), np.nan)
    for i in range(n_sim):  # one vectorised bootstrap per simulated data set
        y, x, groups = _images(batch, i)
        if y.min() == y.max():
            continue  # one class only: no AUC (undefined, counted)
        result, = bootstrap(make_predictions(y, ndtr(x), groups=groups), metrics=[metric],
                            n_resamples=n_resamples, confidence_level=level, method=method, unit=unit, rng=rng)
        out[:, i] = result.estimate, result.confidence_interval.low, result.confidence_interval.high
    return IntervalOutcome(*out)


def _delong(batch, rng, *, level):
    from clinicadl.stats.delong import delong_ci

    n_sim = batch["y"].shape[0]
    out = np.full((3, n_sim), np.nan)
    for i in range(n_sim):
        y, x, _ = _images(batch, i)
        if y.min() == y.max():
            continue
        result = delong_ci(y, x, confidence_level=level)
        out[:, i] = result.estimate, result.confidence_interval.low, result.confidence_interval.high
    return IntervalOutcome(*out)


def bootstrap_procedure(metric: str = "AUC", method: str = "bca", *, unit: str = "participant",
                        n_resamples: int = 1000, confidence_level: float = 0.95) -> Procedure:
    """:func:`clinicadl.stats.bootstrap` interval of a classification metric (``method="auto"`` included)."""
    name = f"{method} bootstrap ({unit})" if unit != "participant" else f"{method} bootstrap"
    return Procedure(name, "interval", metric,
                     partial(_bootstrap_metric, metric=metric, method=method, unit=unit, n_resamples=n_resamples,
                             level=confidence_level), confidence_level, EFRON)


def delong_procedure(*, confidence_level: float = 0.95) -> Procedure:
    """DeLong interval of the AUC (:func:`clinicadl.stats.delong_ci`), for one image per participant."""
    return Procedure("delong", "interval", "AUC", partial(_delong, level=confidence_level), confidence_level,
                     DELONG)


# ============================================================================== per-case values


@dataclass(frozen=True)
class BetaValues:
    """``n`` per-case values (e.g. Dice) drawn from a Beta law of the given ``mean`` and ``sd``.

    El Jurdi et al. (2023) report Dice scores of mean 0.897 and SD 0.0278 on a segmentation task; the
    parameters follow by moments: ``a = mean * v``, ``b = (1 - mean) * v``, ``v = mean (1 - mean) / sd^2 - 1``.
    Batch: ``values`` (n_sim, n). Truth: ``mean`` and ``median`` of the Beta law.
    """

    n: int = 100
    mean: float = 0.897
    sd: float = 0.0278

    def __post_init__(self):
        if not 0 < self.mean < 1 or not 0 < self.sd**2 < self.mean * (1 - self.mean):
            raise InputError(f"No Beta law has mean {self.mean} and SD {self.sd}; need sd^2 < mean (1 - mean).")

    @property
    def shape(self) -> tuple[float, float]:
        v = self.mean * (1 - self.mean) / self.sd**2 - 1
        return self.mean * v, (1 - self.mean) * v

    @property
    def key(self) -> str:
        return f"beta-values(n={self.n},mean={self.mean:g},sd={self.sd:g})"

    @property
    def truth(self) -> Mapping[str, float]:
        a, b = self.shape
        return _frozen({"mean": self.mean, "median": stats.beta.median(a, b)})

    @property
    def description(self) -> str:
        return f"{self.n} per-case values, Beta with mean {self.mean:g} and SD {self.sd:g}"

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        a, b = self.shape
        return {"values": rng.beta(a, b, size=(n_sim, self.n))}


@dataclass(frozen=True)
class LognormalValues:
    """``n`` skewed per-case values ``exp(N(0, log_sd^2))``: truth median 1, mean ``exp(log_sd^2 / 2)``."""

    n: int = 20
    log_sd: float = 1.0

    @property
    def key(self) -> str:
        return f"lognormal-values(n={self.n},log_sd={self.log_sd:g})"

    @property
    def truth(self) -> Mapping[str, float]:
        return _frozen({"mean": math.exp(self.log_sd**2 / 2), "median": 1.0})

    @property
    def description(self) -> str:
        return f"{self.n} per-case log-normal values (log SD {self.log_sd:g})"

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        return {"values": np.exp(self.log_sd * rng.standard_normal((n_sim, self.n)))}


def _mean_t(batch, rng, *, level):
    values = batch["values"]
    n = values.shape[1]
    return _t_interval(values.mean(axis=1), values.std(axis=1, ddof=1) / math.sqrt(n), n - 1, level)


def _resampled_statistic(values, rng, n_resamples, statistic):
    # vectorised over resamples: (n_resamples, n) indices per simulated data set; loop over data sets only
    n_sim, n = values.shape
    out = np.empty((n_sim, n_resamples))
    for i in range(n_sim):
        out[i] = statistic(values[i][rng.integers(0, n, size=(n_resamples, n))], axis=1)
    return out


def _values_percentile(batch, rng, *, statistic, n_resamples, level):
    values = batch["values"]
    function = np.mean if statistic == "mean" else np.median
    replicates = _resampled_statistic(values, rng, n_resamples, function)
    low, high = np.quantile(replicates, [(1 - level) / 2, (1 + level) / 2], axis=1)
    return IntervalOutcome(function(values, axis=1), low, high)


def _median_order(batch, rng, *, level):
    from clinicadl.stats.location import _median_ranks

    values = np.sort(batch["values"], axis=1)
    low_rank, high_rank, _ = _median_ranks(values.shape[1], level)
    return IntervalOutcome(np.median(values, axis=1), values[:, low_rank - 1], values[:, high_rank - 1])


def values_procedure(statistic: str = "mean", method: str = "t", *, n_resamples: int = 2000,
                     confidence_level: float = 0.95) -> Procedure:
    """Interval of the mean (``"t"``, as :func:`clinicadl.stats.mean_ci`, or ``"percentile"`` bootstrap) or of
    the median (``"order-statistic"``, as :func:`clinicadl.stats.median_ci`, or ``"percentile"`` bootstrap)."""
    if method == "percentile":
        return Procedure(f"{statistic}: percentile bootstrap", "interval", statistic,
                         partial(_values_percentile, statistic=statistic, n_resamples=n_resamples,
                                 level=confidence_level), confidence_level, EFRON)
    if (statistic, method) == ("mean", "t"):
        return Procedure("mean: t", "interval", "mean", partial(_mean_t, level=confidence_level), confidence_level,
                         STUDENT)
    if (statistic, method) == ("median", "order-statistic"):
        return Procedure("median: order-statistic", "interval", "median",
                         partial(_median_order, level=confidence_level), confidence_level, CONOVER)
    raise InputError(f"No {method!r} interval for the {statistic!r}; mean: t or percentile; median: "
                     "order-statistic or percentile.")


# ======================================================================= replicates of a procedure


@dataclass(frozen=True)
class TwoStageReplicates:
    """Performance of ``n_replicates`` runs of a learning procedure on one shared test set.

    ``R_j = mu + b_j + e_j + t`` (Bouthillier et al. 2021): ``b_j ~ N(0, sd_split^2)`` the data split and
    hyper-parameter choice, ``e_j ~ N(0, sd_seed^2)`` the seeds (init, order, augmentation), ``t ~ N(0,
    sd_test^2)`` the sampling error of the test set, drawn once per study because every replicate is
    evaluated on the same test participants. With ``fixed_split=True`` the split / hyper-parameters are
    chosen once and only the seeds vary (``b_j = b`` for all j: FixHOptEst), otherwise they are redrawn for
    every replicate (IdealEst).

    Batch: ``scores`` (n_sim, n_replicates) and ``test_variance`` (the known sd_test^2, as
    ``evaluate procedure`` estimates it by bootstrap). Truth: ``mean`` mu, ``variance`` the variance of one
    replicate around mu over new test sets (``sd_split^2 + sd_seed^2 + sd_test^2``) and ``replicate_variance``
    ``sd_split^2 + sd_seed^2`` (between replicates sharing a test set).
    """

    n_replicates: int = 10
    mu: float = 0.8
    sd_split: float = 0.02
    sd_seed: float = 0.01
    sd_test: float = 0.02
    fixed_split: bool = False

    @property
    def key(self) -> str:
        design = "FixHOptEst" if self.fixed_split else "IdealEst"
        return (f"two-stage(R={self.n_replicates},mu={self.mu:g},sd_split={self.sd_split:g},"
                f"sd_seed={self.sd_seed:g},sd_test={self.sd_test:g},{design})")

    @property
    def truth(self) -> Mapping[str, float]:
        between = self.sd_split**2 + self.sd_seed**2
        return _frozen({"mean": self.mu, "variance": between + self.sd_test**2, "replicate_variance": between})

    @property
    def description(self) -> str:
        design = ("split and hyper-parameters fixed once (FixHOptEst)" if self.fixed_split
                  else "split redrawn per replicate (IdealEst)")
        return (f"{self.n_replicates} replicates, SD split {self.sd_split:g}, seed {self.sd_seed:g}, "
                f"test set {self.sd_test:g}; {design}")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        r = self.n_replicates
        split = rng.standard_normal((n_sim, 1 if self.fixed_split else r))
        scores = (self.mu + self.sd_split * split + self.sd_seed * rng.standard_normal((n_sim, r))
                  + self.sd_test * rng.standard_normal((n_sim, 1)))
        return {"scores": scores, "test_variance": np.asarray(self.sd_test**2)}


def _replicate_t(batch, rng, *, level, shared_test):
    scores = batch["scores"]
    r = scores.shape[1]
    se2 = scores.var(axis=1, ddof=1) / r
    if not shared_test:
        return _t_interval(scores.mean(axis=1), np.sqrt(se2), r - 1, level)
    # as `clinicadl evaluate procedure` does: SE over replicates widened by the shared test-set variance,
    # normal quantile
    return _t_interval(scores.mean(axis=1), np.sqrt(se2 + batch["test_variance"]), math.inf, level)


def _replicate_variance(batch, rng, *, level):
    scores = batch["scores"]
    df = scores.shape[1] - 1
    s2 = scores.var(axis=1, ddof=1)
    low = df * s2 / stats.chi2.ppf((1 + level) / 2, df)
    high = df * s2 / stats.chi2.ppf((1 - level) / 2, df)
    return IntervalOutcome(s2, low, high)


def replicate_procedure(method: str = "t + test variance", *, confidence_level: float = 0.95) -> Procedure:
    """Intervals over replicates: of the expected performance, ``"t"`` (t interval over replicates only) or
    ``"t + test variance"`` (normal interval whose variance adds the shared test-set sampling variance, as
    ``clinicadl evaluate procedure`` does); of the variance between replicates, ``"variance"`` (chi-square
    interval of the sample variance)."""
    if method == "variance":
        return Procedure("replicate variance: chi-square", "interval", "replicate_variance",
                         partial(_replicate_variance, level=confidence_level), confidence_level, BOUTHILLIER)
    if method not in ("t", "t + test variance"):
        raise InputError(f"Unknown replicate method {method!r}; choose t, 't + test variance' or variance.")
    return Procedure(f"replicates: {method}", "interval", "mean",
                     partial(_replicate_t, level=confidence_level, shared_test=method != "t"), confidence_level,
                     BOUTHILLIER)


# ======================================================================== comparisons of procedures


@dataclass(frozen=True)
class ResampledDifferences:
    """Differences of two procedures' scores over ``n_splits`` random train/test splits (Nadeau & Bengio 2003).

    The differences are equicorrelated normals with correlation ``rho = n_test / (n_train + n_test)`` and
    mean ``delta`` (in SD units): the null holds when ``delta == 0``. Batch: ``differences`` (n_sim, n_splits).
    """

    n_splits: int = 15
    n_train: int = 160
    n_test: int = 40
    delta: float = 0.0

    @property
    def key(self) -> str:
        return (f"resampled-differences(J={self.n_splits},n_train={self.n_train},n_test={self.n_test},"
                f"delta={self.delta:g})")

    @property
    def truth(self) -> Mapping[str, float]:
        return _frozen({"difference": self.delta, "null": float(self.delta == 0)})

    @property
    def description(self) -> str:
        return (f"{self.n_splits} resampled splits ({self.n_train} train / {self.n_test} test), "
                f"true difference {self.delta:g} SD")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        rho = self.n_test / (self.n_train + self.n_test)
        d = (self.delta + math.sqrt(rho) * rng.standard_normal((n_sim, 1))
             + math.sqrt(1 - rho) * rng.standard_normal((n_sim, self.n_splits)))
        return {"differences": d, "n_train": np.asarray(self.n_train), "n_test": np.asarray(self.n_test)}


@dataclass(frozen=True)
class CentroidCV:
    """Accuracy differences of two 1-D nearest-centroid classifiers over ``n_repeats`` x ``n_folds`` CV.

    ``n`` cases, two features with the same class-conditional law (means -/+ ``shift``): both procedures
    have the same expected accuracy at every training size, so the null holds exactly, while folds share
    training cases. Batch: ``differences`` (n_sim, n_repeats * n_folds).
    """

    n: int = 200
    n_folds: int = 10
    n_repeats: int = 10
    shift: float = 0.5

    @property
    def key(self) -> str:
        return f"centroid-cv(n={self.n},{self.n_repeats}x{self.n_folds}-fold,shift={self.shift:g})"

    @property
    def truth(self) -> Mapping[str, float]:
        return _frozen({"difference": 0.0, "null": 1.0})

    @property
    def description(self) -> str:
        return (f"two nearest-centroid classifiers of equal accuracy, {self.n_repeats} x {self.n_folds}-fold CV "
                f"on {self.n} cases")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        n, k = self.n, self.n_folds
        y = rng.random((n_sim, n)) < 0.5
        x = rng.standard_normal((n_sim, 2, n)) + np.where(y, self.shift, -self.shift)[:, None, :]
        folds = rng.permuted(np.broadcast_to(np.arange(n) % k, (n_sim, self.n_repeats, n)).copy(), axis=2)
        test = (folds[:, :, None, :] == np.arange(k)[None, None, :, None]).reshape(n_sim, -1, n)
        train = ~test
        accuracy = []
        for feature in (x[:, 0], x[:, 1]):
            c1 = np.einsum("sjn,sn->sj", train & y[:, None], feature) / (train & y[:, None]).sum(axis=2)
            c0 = np.einsum("sjn,sn->sj", train & ~y[:, None], feature) / (train & ~y[:, None]).sum(axis=2)
            predicted = np.abs(feature[:, None] - c1[..., None]) < np.abs(feature[:, None] - c0[..., None])
            accuracy.append(((predicted == y[:, None]) & test).sum(axis=2) / test.sum(axis=2))
        return {"differences": accuracy[0] - accuracy[1], "n_train": np.asarray(n * (k - 1) / k),
                "n_test": np.asarray(n / k), "n_folds": np.asarray(k), "n_repeats": np.asarray(self.n_repeats)}


def _resampled_t(batch, rng, *, corrected, repeated_kfold=False):
    d = batch["differences"]
    j = d.shape[1]
    factor = 1 / j + (batch["n_test"] / batch["n_train"] if corrected else 0.0)
    sd = d.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = d.mean(axis=1) / np.sqrt(factor * sd**2)
    return TestOutcome(np.where(sd > 0, 2 * stats.t.sf(np.abs(t), j - 1), np.nan))


def ttest_procedure(method: str = "corrected", *, alpha: float = 0.05) -> Procedure:
    """Two-sided resampled t-test of a zero mean difference: ``"corrected"`` (Nadeau & Bengio 2003, the
    package's :func:`clinicadl.stats.corrected_resampled_ttest`) or ``"naive"`` (the uncorrected paired t)."""
    if method not in ("corrected", "naive"):
        raise InputError(f"Unknown t-test {method!r}; choose corrected or naive.")
    name = "corrected resampled t" if method == "corrected" else "naive resampled t"
    return Procedure(name, "test", "difference", partial(_resampled_t, corrected=method == "corrected"), alpha,
                     NADEAU)


@dataclass(frozen=True)
class TwoModels:
    """Two trained models scored on the same ``n`` test participants (binormal, as :class:`BinormalScores`).

    The latent values of the two models share the participant's class mean and a part ``rho`` of their noise;
    model A's positive mean is ``mu1 + shift``. With ``shift = 0`` the two models are exchangeable: equal AUC,
    accuracy and every other metric (the null of McNemar, DeLong and permutation tests). Batch: ``y``, ``xa``,
    ``xb`` (n_sim, n) and ``mask``-free layout (one image per participant). Truth: ``difference`` (AUC of A minus
    AUC of B), ``null``.
    """

    n: int = 100
    mu0: float = -0.5
    mu1: float = 0.69
    rho: float = 0.5
    shift: float = 0.0

    @property
    def key(self) -> str:
        return f"two-models(n={self.n},mu0={self.mu0:g},mu1={self.mu1:g},rho={self.rho:g},shift={self.shift:g})"

    @property
    def truth(self) -> Mapping[str, float]:
        auc_a = binormal_truth(self.mu0, self.mu1 + self.shift, 0.5)["AUC"]
        auc_b = binormal_truth(self.mu0, self.mu1, 0.5)["AUC"]
        return _frozen({"difference": auc_a - auc_b, "null": float(self.shift == 0)})

    @property
    def description(self) -> str:
        return (f"two models on the same {self.n} participants, noise correlation {self.rho:g}, AUC difference "
                f"{self.truth['difference']:.3f}")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        shape = (n_sim, self.n)
        y = (rng.random(shape) < 0.5).astype(np.int64)
        shared = math.sqrt(self.rho) * rng.standard_normal(shape)
        own = math.sqrt(1 - self.rho) * rng.standard_normal((2, *shape))
        xb = np.where(y == 1, self.mu1, self.mu0) + shared + own[1]
        xa = np.where(y == 1, self.mu1 + self.shift, self.mu0) + shared + own[0]
        return {"y": y, "xa": xa, "xb": xb}


def _two_model_test(batch, rng, *, test, n_resamples):
    from clinicadl.stats.delong import delong_test
    from clinicadl.stats.mcnemar import mcnemar_test
    from clinicadl.stats.paired import permutation_test
    from clinicadl.stats.predictions import make_predictions

    y, xa, xb = batch["y"], batch["xa"], batch["xb"]
    p = np.full(y.shape[0], np.nan)
    for i in range(y.shape[0]):  # one call of the package's test per simulated data set
        if y[i].min() == y[i].max():
            continue
        if test == "mcnemar":
            p[i] = mcnemar_test((xa[i] > 0) == (y[i] == 1), (xb[i] > 0) == (y[i] == 1)).pvalue
        elif test == "delong":
            p[i] = delong_test(y[i], xa[i], xb[i]).test.pvalue
        else:
            p[i] = permutation_test(make_predictions(y[i], ndtr(xa[i])), make_predictions(y[i], ndtr(xb[i])),
                                    metric="AUC", n_permutations=n_resamples, rng=rng).pvalue
    return TestOutcome(p)


def _paired_bootstrap(batch, rng, *, n_resamples, level):
    from clinicadl.stats.paired import paired_bootstrap
    from clinicadl.stats.predictions import make_predictions

    y, xa, xb = batch["y"], batch["xa"], batch["xb"]
    out = np.full((3, y.shape[0]), np.nan)
    for i in range(y.shape[0]):
        if y[i].min() == y[i].max():
            continue
        result, = paired_bootstrap(make_predictions(y[i], ndtr(xa[i])), make_predictions(y[i], ndtr(xb[i])),
                                   metrics=["AUC"], n_resamples=n_resamples, confidence_level=level, rng=rng)
        out[:, i] = result.difference, result.confidence_interval.low, result.confidence_interval.high
    return IntervalOutcome(*out)


def comparison_procedure(method: str = "delong", *, alpha: float = 0.05, n_resamples: int = 1000) -> Procedure:
    """Comparison of two trained models on the same participants: tests ``"mcnemar"`` (accuracy),
    ``"delong"`` (AUC), ``"permutation"`` (AUC, :func:`clinicadl.stats.permutation_test`), or the
    ``"paired bootstrap"`` interval of the AUC difference (:func:`clinicadl.stats.paired_bootstrap`, BCa)."""
    if method == "paired bootstrap":
        return Procedure("paired bootstrap (AUC difference)", "interval", "difference",
                         partial(_paired_bootstrap, n_resamples=n_resamples, level=1 - alpha), 1 - alpha, EFRON)
    references = {"mcnemar": "McNemar Q. (1947). Psychometrika 12(2), 153-157.", "delong": DELONG,
                  "permutation": "Good P. (2005). Permutation, Parametric and Bootstrap Tests of Hypotheses."}
    if method not in references:
        raise InputError(f"Unknown comparison {method!r}; choose mcnemar, delong, permutation or "
                         "'paired bootstrap'.")
    name = {"mcnemar": "McNemar (accuracy)", "delong": "DeLong (AUC)", "permutation": "permutation (AUC)"}[method]
    return Procedure(name, "test", "difference", partial(_two_model_test, test=method, n_resamples=n_resamples),
                     alpha, references[method])


def _five_by_two(batch, rng, *, statistic):
    from clinicadl.stats.five_by_two import five_by_two_f, five_by_two_t

    test = five_by_two_t if statistic == "t" else five_by_two_f
    d = batch["differences"]
    if d.shape[1] != 10:
        raise InputError("The 5x2cv tests need 5 repetitions of 2-fold CV (CentroidCV(n_folds=2, n_repeats=5)).")
    return TestOutcome(np.array([test(x.reshape(5, 2)).pvalue for x in d]))


def five_by_two_procedure(statistic: str = "t", *, alpha: float = 0.05) -> Procedure:
    """Dietterich's 5x2cv paired t-test (``"t"``) or Alpaydin's combined F-test (``"F"``), of the package."""
    if statistic not in ("t", "F"):
        raise InputError(f"Unknown 5x2cv statistic {statistic!r}; choose t or F.")
    reference = ("Dietterich T. G. (1998). Neural Computation 10(7), 1895-1923." if statistic == "t"
                 else "Alpaydin E. (1999). Neural Computation 11(8), 1885-1892.")
    return Procedure(f"5x2cv {statistic}", "test", "difference", partial(_five_by_two, statistic=statistic), alpha,
                     reference)


# ==================================================================== cross-validation (Bates et al.)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, n_iter: int = 25, ridge: float = 1e-2) -> np.ndarray:
    """Logistic regression (with intercept) fitted by Newton's method, vectorised over leading axes.

    Parameters
    ----------
    x : array of shape (..., n, p)
    y : array of shape (..., n) of 0/1
    n_iter : int
        Newton steps (the log-likelihood is concave; 25 is ample without separation).
    ridge : float
        L2 penalty on all coefficients, intercept included, as
        :class:`clinicadl.stats.nested_cv.LogisticRegression` (same default), so that the truth ``Err_XY`` is
        that of the model nested CV assesses.

    Returns
    -------
    coef : array of shape (..., p + 1)
        Intercept first.
    """
    design = np.concatenate([np.ones((*x.shape[:-1], 1)), x], axis=-1)
    coef = np.zeros((*x.shape[:-2], design.shape[-1]))
    eye = ridge * np.eye(design.shape[-1])
    for _ in range(n_iter):
        prob = expit(np.einsum("...np,...p->...n", design, coef))
        gradient = np.einsum("...np,...n->...p", design, y - prob) - ridge * coef
        hessian = np.einsum("...np,...n,...nq->...pq", design, prob * (1 - prob), design) + eye
        coef = coef + np.linalg.solve(hessian, gradient[..., None])[..., 0]
    return coef


def logistic_loss(x_train, y_train, x_test, y_test) -> np.ndarray:
    """Misclassification (0/1) loss of each test case for logistic regression fitted on the training cases,
    vectorised over leading axes."""
    coef = fit_logistic(np.asarray(x_train, float), np.asarray(y_train, float))
    predicted = (coef[..., 0, None] + np.einsum("...np,...p->...n", x_test, coef[..., 1:])) > 0
    return (predicted != (np.asarray(y_test) > 0.5)).astype(float)


def _conditional_error(coef: np.ndarray, beta: np.ndarray, nodes: int = 48) -> np.ndarray:
    """Exact misclassification error of ``x -> 1{a + x.c > 0}`` when ``x ~ N(0, I)`` and ``P(y=1|x) = expit(x.beta)``.

    ``u = x.beta`` and ``v = a + x.c`` are jointly normal; ``E[expit(u) 1{v <= 0} + (1 - expit(u)) 1{v > 0}]`` is
    integrated over ``u`` by Gauss-Hermite quadrature, the indicator in closed form given ``u``.
    """
    a, c = coef[:, 0], coef[:, 1:]
    s_u = np.linalg.norm(beta)
    cov = c @ beta
    s_v2 = np.einsum("ij,ij->i", c, c)
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    u = s_u * z  # (nodes,)
    mean_v = a[:, None] + (cov / s_u**2)[:, None] * u[None, :]
    sd_v = np.sqrt(np.maximum(s_v2 - cov**2 / s_u**2, 1e-15))[:, None]
    p_pos = ndtr(mean_v / sd_v)  # P(v > 0 | u)
    p1 = expit(u)[None, :]
    return (w[None, :] * (p1 * (1 - p_pos) + (1 - p1) * p_pos)).sum(axis=1)


@dataclass(frozen=True)
class LogisticCV:
    """Logistic regression on ``n`` cases with ``p`` standard-normal features (Bates et al. 2023).

    ``P(y = 1 | x) = expit(x . beta)`` with ``beta_j = signal`` for the first ``n_signal`` features, 0 after.
    Batch: ``x`` (n_sim, n, p), ``y`` (n_sim, n), and ``truth:error_xy``, the exact misclassification error of the
    model fitted on all ``n`` cases of each data set (the conditional error ``Err_XY`` of Bates et al.).
    """

    n: int = 100
    p: int = 10
    signal: float = 1.0
    n_signal: int = 4

    @property
    def beta(self) -> np.ndarray:
        return np.where(np.arange(self.p) < self.n_signal, self.signal, 0.0)

    @property
    def key(self) -> str:
        return f"logistic-cv(n={self.n},p={self.p},signal={self.signal:g}x{self.n_signal})"

    @property
    def truth(self) -> Mapping[str, float]:
        return _frozen({"error_xy": math.nan})  # varies with the data set: see draw

    @property
    def description(self) -> str:
        return (f"logistic regression, n = {self.n}, p = {self.p} Gaussian features ({self.n_signal} with "
                f"coefficient {self.signal:g}); target Err_XY")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        x = rng.standard_normal((n_sim, self.n, self.p))
        y = (rng.random((n_sim, self.n)) < expit(x @ self.beta)).astype(float)
        coef = fit_logistic(x, y)
        return {"x": x, "y": y, "truth:error_xy": _conditional_error(coef, self.beta)}


def _cv_folds(rng, n_sim, n, k):
    return rng.permuted(np.broadcast_to(np.arange(n) % k, (n_sim, n)).copy(), axis=1)


def _naive_cv(batch, rng, *, n_folds, level):
    x, y = batch["x"], batch["y"]
    n_sim, n, _ = x.shape
    folds = _cv_folds(rng, n_sim, n, n_folds)
    losses = np.empty((n_sim, n))
    for f in range(n_folds):  # vectorised over simulated data sets, loop over folds
        order = np.argsort(folds != f, axis=1, kind="stable")  # test cases first
        n_test = int((folds[0] == f).sum())
        idx_test, idx_train = order[:, :n_test], order[:, n_test:]
        take = partial(np.take_along_axis, axis=1)
        loss = logistic_loss(take(x, idx_train[..., None]), take(y, idx_train), take(x, idx_test[..., None]),
                             take(y, idx_test))
        np.put_along_axis(losses, idx_test, loss, axis=1)
    mean = losses.mean(axis=1)
    se = losses.std(axis=1, ddof=1) / math.sqrt(n)
    z = stats.norm.ppf((1 + level) / 2)
    return IntervalOutcome(mean, mean - z * se, mean + z * se)


def _nested_cv(batch, rng, *, n_folds, n_repeats, level):
    from clinicadl.stats.nested_cv import LogisticRegression, nested_cv

    x, y = batch["x"], batch["y"]
    learner = LogisticRegression(penalty=1e-2, loss="zero_one")  # intercept: a column of ones
    out = np.full((3, x.shape[0]), np.nan)
    for i in range(x.shape[0]):  # one nested CV per simulated data set (each batched over its models)
        seed = int(rng.integers(2**63 - 1))
        design = np.column_stack([np.ones(x.shape[1]), x[i]])
        result = nested_cv(design, y[i], learner, n_folds=n_folds, n_repeats=n_repeats, seed=seed,
                           confidence=level)
        out[:, i] = result.estimate, result.ci.low, result.ci.high
    return IntervalOutcome(*out)


def nested_cv_available() -> bool:
    """True when :mod:`clinicadl.stats.nested_cv` (Bates et al. 2023) is installed in this version."""
    import importlib.util

    return importlib.util.find_spec("clinicadl.stats.nested_cv") is not None


def cv_procedure(method: str = "nested", *, n_folds: int = 10, n_repeats: int = 50,
                 confidence_level: float = 0.90) -> Procedure:
    """Interval of the prediction error: ``"naive"`` CV (mean loss +/- z SE of the per-case losses) or
    ``"nested"`` CV (:func:`clinicadl.stats.nested_cv`, Bates et al. 2023). Default level 0.90 as in the paper."""
    if method == "naive":
        return Procedure("naive CV", "interval", "error_xy", partial(_naive_cv, n_folds=n_folds,
                                                                      level=confidence_level), confidence_level,
                         BATES)
    if method == "nested":
        return Procedure(f"nested CV (R={n_repeats})", "interval", "error_xy",
                         partial(_nested_cv, n_folds=n_folds, n_repeats=n_repeats, level=confidence_level),
                         confidence_level, BATES)
    raise InputError(f"Unknown CV interval {method!r}; choose naive or nested.")


# ============================================================================================ registry


@dataclass(frozen=True)
class Family:
    """A scenario family: how to build it from ``n`` and keyword parameters, and what it validates."""

    build: Callable[..., object]
    size_parameter: str
    procedures: Callable[[object], list[Procedure]] = field(repr=False)
    summary: str = ""


def _binormal_procedures(s: BinormalScores):
    out = [bootstrap_procedure("AUC", m) for m in ("percentile", "bca", "auto")]
    if s.clustered:
        out.append(bootstrap_procedure("AUC", "bca", unit="image"))
    else:
        out.append(delong_procedure())
    return out


def _values_procedures(s):
    return [values_procedure("mean", "t"), values_procedure("mean", "percentile"),
            values_procedure("median", "order-statistic"), values_procedure("median", "percentile")]


def _cv_procedures(s):
    out = [cv_procedure("naive")]
    if nested_cv_available():
        out.append(cv_procedure("nested"))
    return out


SCENARIOS: Mapping[str, Family] = MappingProxyType({
    "accuracy": Family(BernoulliAccuracy, "n", lambda s: [proportion_procedure(m) for m in (
        "wilson", "clopper-pearson", "jeffreys", "wald", "percentile")], "Bernoulli accuracy, known p"),
    "auc": Family(BinormalScores, "n", _binormal_procedures, "binormal scores, AUC in closed form"),
    "clustered": Family(partial(BinormalScores, clustered=True), "n", _binormal_procedures,
                        "binormal scores, 1-4 sessions per participant (participant random effect)"),
    "dice": Family(BetaValues, "n", _values_procedures, "Beta-distributed Dice per case (El Jurdi et al. 2023)"),
    "skewed": Family(LognormalValues, "n", _values_procedures, "log-normal per-case values"),
    "replicates": Family(TwoStageReplicates, "n_replicates", lambda s: [
        replicate_procedure("t"), replicate_procedure("t + test variance"), replicate_procedure("variance")],
        "replicates of a learning procedure, Bouthillier et al.'s two-stage model"),
    "resampled-t": Family(ResampledDifferences, "n_splits", lambda s: [ttest_procedure("corrected"),
                                                                        ttest_procedure("naive")],
                          "differences over resampled splits, Nadeau & Bengio's correlation"),
    "centroid-cv": Family(CentroidCV, "n", lambda s: [ttest_procedure("corrected"), ttest_procedure("naive")],
                          "two real classifiers on 10 x 10-fold CV under an exact null"),
    "two-models": Family(TwoModels, "n", lambda s: [comparison_procedure(m) for m in (
        "mcnemar", "delong", "permutation", "paired bootstrap")], "two trained models on the same participants"),
    "five-by-two": Family(partial(CentroidCV, n_folds=2, n_repeats=5), "n", lambda s: [
        five_by_two_procedure("t"), five_by_two_procedure("F")], "5 x 2-fold CV of two real learners (Dietterich)"),
    "nested-cv": Family(LogisticCV, "n", _cv_procedures, "logistic regression n = 100, p = 10 (Bates et al.)"),
})


def make_scenario(name: str, n: int | None = None, **parameters):
    """Build the scenario ``name`` of :data:`SCENARIOS` with size ``n`` (its family's size parameter)."""
    if name not in SCENARIOS:
        raise InputError(f"Unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}.")
    family = SCENARIOS[name]
    if n is not None:
        parameters[family.size_parameter] = int(n)
    try:
        return family.build(**parameters)
    except TypeError as error:
        raise InputError(f"Scenario {name!r}: {error}.") from None


def default_procedures(name: str, scenario) -> list[Procedure]:
    """The procedures that the scenario family ``name`` validates."""
    return list(SCENARIOS[name].procedures(scenario))
