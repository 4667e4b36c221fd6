"""Scenario family ``crossed``: R trained models of a procedure scored on one shared test set (crossed design).

The design ``clinicadl train --replicates R`` produces, simulated with every effect it has: participant ``j``
of class ``y`` (unequal classes), with 1 to 3 sessions, is classified by replicate ``r`` through the margin ::

    margin_rjs = delta_y + a_r + u_j + e_rj + eps_rjs
    a_r ~ N(0, sd_replicate^2)      replicate effect (split + seeds)
    u_j ~ N(0, sd_participant^2)    participant difficulty, shared by every model
    e_rj ~ N(0, sd_interaction^2)   participant x replicate interaction
    eps_rjs ~ N(0, sd_session^2)    session noise

The image is correct when its margin is positive, and its score (the probability of class 1) is the logistic of
the signed margin. Expected BA, sensitivity and accuracy are normal probabilities averaged over ``a`` and the
expected AUC a probability over pairs of images, computed by Gauss-Hermite quadrature: the truth is exact.
:class:`CrossedComparison` adds a second procedure on the same participants with a participant-by-procedure
interaction (``v_j``, a participant easy for A and hard for B), paired replicates, and a true difference of
expected performance (0 under the null).

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Owen A. B. (2007). The pigeonhole bootstrap. Annals of Applied Statistics 1(2), 386-411.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, partial
from types import MappingProxyType

import numpy as np
from scipy import special
from scipy import stats as sps

from clinicadl.stats.crossed_comparison import compare_values
from clinicadl.stats.crossed_design import CrossedValues, component_intervals, crossed_components, crossed_values
from clinicadl.stats.crossed_interval import interval_from_values
from clinicadl.stats.simulation.protocols import IntervalOutcome, ProcedureUnderTest, TestOutcome

REFERENCE = "crossed design: Searle et al. (1992), Owen (2007); clinicadl.stats.crossed_inference"
CROSSED_METRICS = ("BA", "AUC", "sensitivity", "accuracy")
"""Metrics whose expected performance the scenario validates."""

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(96)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _sessions(n: int, max_sessions: int) -> np.ndarray:
    """1, 2, ..., max_sessions sessions in turn: unequal cluster sizes, the same in every simulated study."""
    return 1 + np.arange(n) % max_sessions


@dataclass(frozen=True)
class CrossedReplicates:
    """R replicates of a classification procedure scored on one shared test set (see the module docstring).

    Attributes
    ----------
    n : int
        Test participants (``round(prevalence n)`` of class 1, the positive class).
    n_replicates : int
    sd_replicate, sd_participant, sd_interaction, sd_session : float
        Standard deviations of the effects on the margin scale.
    delta_pos, delta_neg : float
        Mean margins of the positives and negatives (unequal: sensitivity below specificity).
    prevalence : float
    max_sessions : int
    """

    n: int = 50
    n_replicates: int = 10
    sd_replicate: float = 0.3
    sd_participant: float = 0.8
    sd_interaction: float = 0.5
    sd_session: float = 0.3
    delta_pos: float = 1.3
    delta_neg: float = 1.6
    prevalence: float = 0.4
    max_sessions: int = 3
    component_truth: bool = False

    @property
    def key(self) -> str:
        return (f"crossed(n={self.n},R={self.n_replicates},sd_rep={self.sd_replicate:g},"
                f"sd_part={self.sd_participant:g},sd_int={self.sd_interaction:g},sd_ses={self.sd_session:g},"
                f"d=({self.delta_pos:g},{self.delta_neg:g}),prev={self.prevalence:g},ses<={self.max_sessions})")

    @property
    def description(self) -> str:
        return (f"{self.n_replicates} replicates x {self.n} participants ({self.n_pos} positives, "
                f"1-{self.max_sessions} sessions), replicate SD {self.sd_replicate:g}, participant SD "
                f"{self.sd_participant:g}, interaction SD {self.sd_interaction:g} on the margin scale")

    @property
    def truth(self) -> MappingProxyType:
        return MappingProxyType(self._truth_values)

    @cached_property
    def _truth_values(self) -> dict[str, float]:  # a plain dict, so that a scenario can be sent to a worker
        return self._truth()

    @property
    def n_pos(self) -> int:
        return round(self.prevalence * self.n)

    @property
    def labels(self) -> np.ndarray:
        """Class of each participant: positives (1) first."""
        return np.r_[np.ones(self.n_pos, dtype=np.int64), np.zeros(self.n - self.n_pos, dtype=np.int64)]

    def _noise_sd(self) -> float:
        return float(np.sqrt(self.sd_participant**2 + self.sd_interaction**2 + self.sd_session**2))

    def per_replicate(self, a: np.ndarray) -> dict[str, np.ndarray]:
        """Population value of each metric for replicate effect(s) ``a``: E over test sets given the replicate."""
        s = self._noise_sd()
        sens = sps.norm.cdf((self.delta_pos + a) / s)
        spec = sps.norm.cdf((self.delta_neg + a) / s)
        k = _sessions(self.n, self.max_sessions)
        w_pos = k[: self.n_pos].sum() / k.sum()
        auc = sps.norm.cdf((self.delta_pos + self.delta_neg + 2 * a) / (np.sqrt(2) * s))
        return {"BA": (sens + spec) / 2, "sensitivity": sens, "accuracy": w_pos * sens + (1 - w_pos) * spec,
                "AUC": auc}

    def _truth(self) -> dict[str, float]:
        values = self.per_replicate(self.sd_replicate * _NODES)
        truth = {}
        for metric, v in values.items():
            mean = float(_WEIGHTS @ v)
            truth[metric] = mean
            truth[f"replicate variance:{metric}"] = float(_WEIGHTS @ (v - mean) ** 2)
        if self.component_truth:
            truth.update(self.participant_and_interaction())
        return truth

    def participant_and_interaction(self, n_test_sets: int = 2000, n_models: int = 100) -> dict[str, float]:
        """Participant and interaction variances of the BA at this test size, by a large fixed-seed simulation.

        For each of ``n_test_sets`` test sets, ``n_models`` replicates are scored (BA computed directly from the
        correct images). The variance over test sets of the mean over models estimates ``participant +
        (replicate + interaction) / n_models``, the mean over test sets of the variance between models
        ``replicate + interaction``; with the replicate variance known exactly (quadrature) both components
        follow. Monte-Carlo error: about 3 % of each component (seed fixed: the truth is reproducible).
        """
        rng = np.random.default_rng(20_261_203)
        k = _sessions(self.n, self.max_sessions)
        rows = np.repeat(np.arange(self.n), k)
        positive = self.labels[rows] == 1
        delta = np.where(positive, self.delta_pos, self.delta_neg)
        means, variances = [], []
        for _ in range(n_test_sets):  # a loop over simulated test sets of the truth, each vectorised over models
            margin = (delta[None, :] + rng.normal(0, self.sd_replicate, (n_models, 1))
                      + rng.normal(0, self.sd_participant, self.n)[rows][None, :]
                      + rng.normal(0, self.sd_interaction, (n_models, self.n))[:, rows]
                      + rng.normal(0, self.sd_session, (n_models, rows.size)))
            correct = margin > 0
            ba = (correct[:, positive].mean(axis=1) + correct[:, ~positive].mean(axis=1)) / 2
            means.append(ba.mean())
            variances.append(ba.var(ddof=1))
        replicate = self.truth_replicate("BA")
        between = float(np.mean(variances))
        interaction = between - replicate
        participant = float(np.var(means, ddof=1)) - between / n_models
        return {"participant variance:BA": participant, "interaction variance:BA": interaction}

    def truth_replicate(self, metric: str) -> float:
        v = self.per_replicate(self.sd_replicate * _NODES)[metric]
        return float(_WEIGHTS @ (v - _WEIGHTS @ v) ** 2)

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        """Scores of class 1, shape (n_sim, R, rows); labels and participant of each row (broadcast)."""
        k = _sessions(self.n, self.max_sessions)
        rows = np.repeat(np.arange(self.n), k)
        y = self.labels[rows]
        r = self.n_replicates
        margin = (np.where(y == 1, self.delta_pos, self.delta_neg)[None, None, :]
                  + rng.normal(0, self.sd_replicate, (n_sim, r, 1))
                  + rng.normal(0, self.sd_participant, (n_sim, 1, self.n))[:, :, rows]
                  + rng.normal(0, self.sd_interaction, (n_sim, r, self.n))[:, :, rows]
                  + rng.normal(0, self.sd_session, (n_sim, r, rows.size)))
        sign = np.where(y == 1, 1.0, -1.0)
        scores = special.expit(sign * margin)
        return {"scores": scores, "labels": np.broadcast_to(y, (n_sim, y.size)),
                "groups": np.broadcast_to(rows, (n_sim, rows.size))}


def _crossed_interval(batch, rng, *, metric, level):
    estimate, low, high = [], [], []
    for scores, labels, groups in zip(batch["scores"], batch["labels"], batch["groups"]):
        values = crossed_values(labels, scores, metric=metric, groups=groups)
        res = interval_from_values(values, confidence_level=level)
        estimate.append(res.estimate)
        low.append(res.confidence_interval.low if res.estimable else np.nan)
        high.append(res.confidence_interval.high if res.estimable else np.nan)
    return IntervalOutcome(np.asarray(estimate), np.asarray(low), np.asarray(high))


def _previous_interval(batch, rng, *, metric, level, n_resamples=1000):
    """The interval `evaluate procedure` printed before the crossed design (kept to show why it was replaced).

    Mean of the model values; bootstrap over replicates of their variance, plus the mean of each model's own
    test-set variance (here its jackknife variance, which equals DeLong's for the AUC); normal quantile.
    """
    estimate, low, high = [], [], []
    z = sps.norm.ppf(0.5 + level / 2)
    for scores, labels, groups in zip(batch["scores"], batch["labels"], batch["groups"]):
        values = crossed_values(labels, scores, metric=metric, groups=groups)
        v = values.values
        index = rng.integers(0, v.size, size=(n_resamples, v.size))
        replicate_var = float(v[index].mean(axis=1).var(ddof=1))
        own = np.mean([sum(row[values.strata == c].var(ddof=1) / (values.strata == c).sum()
                           for c in np.unique(values.strata)) for row in values.pseudo])
        se = np.sqrt(replicate_var + own)
        estimate.append(v.mean())
        low.append(max(v.mean() - z * se, 0.0))
        high.append(min(v.mean() + z * se, 1.0))
    return IntervalOutcome(np.asarray(estimate), np.asarray(low), np.asarray(high))


def _component(batch, rng, *, metric, level, component):
    estimate, low, high = [], [], []
    for scores, labels, groups in zip(batch["scores"], batch["labels"], batch["groups"]):
        values = crossed_values(labels, scores, metric=metric, groups=groups)
        estimate.append(getattr(crossed_components(values), component))
        interval = component_intervals(values, confidence_level=level)[component]
        low.append(interval[0])
        high.append(interval[1])
    return IntervalOutcome(np.asarray(estimate), np.asarray(low), np.asarray(high))


def crossed_procedure(metric: str = "BA", method: str = "crossed", *,
confidence_level: float = 0.95) -> ProcedureUnderTest:
    """``crossed`` (the engine), ``previous`` (the replaced interval), or ``replicate variance``, ``participant
    variance``, ``interaction variance`` (a component: its bias, and the coverage of its interval)."""
    if method == "crossed":
        return ProcedureUnderTest(f"crossed: {metric}", "interval", metric,
                                  partial(_crossed_interval, metric=metric, level=confidence_level), confidence_level,
                                  REFERENCE)
    if method == "previous":
        return ProcedureUnderTest(f"previous: {metric}", "interval", metric,
                                  partial(_previous_interval, metric=metric, level=confidence_level), confidence_level,
                                  "replicate bootstrap + shared test variance (replaced)")
    if method.endswith(" variance"):
        component = method.removesuffix(" variance")
        return ProcedureUnderTest(f"{method}: {metric}", "interval", f"{method}:{metric}",
                                  partial(_component, metric=metric, level=confidence_level, component=component),
                                  confidence_level, "Graybill & Wang (1980) modified large-sample interval")
    raise ValueError(f"unknown crossed-design method {method!r}")


# ------------------------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class CrossedComparison:
    """Two procedures, A and B, with paired replicates on the same participants.

    B is :class:`CrossedReplicates` with ``delta`` added to both class margins of A minus ``shift``; each
    participant has an effect per procedure (``sd_procedure``: the participant-by-procedure interaction) on
    top of the shared difficulty; paired replicates share ``correlation`` of their replicate effect.
    ``shift = 0`` is the null (equal expected performances), ``shift > 0`` makes A better.
    """

    n: int = 50
    n_replicates: int = 10
    shift: float = 0.0
    sd_procedure: float = 0.6
    correlation: float = 0.5
    base: CrossedReplicates = field(default_factory=CrossedReplicates)

    def __post_init__(self):
        b = self.base
        base = CrossedReplicates(n=self.n, n_replicates=self.n_replicates, sd_replicate=b.sd_replicate,
                                 sd_participant=b.sd_participant, sd_interaction=b.sd_interaction,
                                 sd_session=b.sd_session, delta_pos=b.delta_pos, delta_neg=b.delta_neg,
                                 prevalence=b.prevalence, max_sessions=b.max_sessions)
        object.__setattr__(self, "base", base)

    @property
    def key(self) -> str:
        return (f"crossed-compare(shift={self.shift:g},sd_proc={self.sd_procedure:g},rho={self.correlation:g},"
                f"{self.base.key})")

    @property
    def description(self) -> str:
        return (f"A vs B, {self.n_replicates} paired replicates x {self.n} participants, participant x procedure "
                f"SD {self.sd_procedure:g}, A's margin + {self.shift:g}")

    @property
    def truth(self) -> MappingProxyType:
        return MappingProxyType({"null": float(self.shift == 0),
                                 "difference:BA": self._values(0.0) - self._values(-self.shift)})

    def _values(self, offset: float) -> float:
        s = np.sqrt(self.base._noise_sd() ** 2 + self.sd_procedure**2)
        a = self.base.sd_replicate * _NODES
        sens = sps.norm.cdf((self.base.delta_pos + offset + a) / s)
        spec = sps.norm.cdf((self.base.delta_neg + offset + a) / s)
        return float(_WEIGHTS @ ((sens + spec) / 2))

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        """BA values and pseudo-values of both procedures' models (computed once, shared by the tests)."""
        b = self.base
        k = _sessions(b.n, b.max_sessions)
        rows = np.repeat(np.arange(b.n), k)
        y = b.labels[rows]
        r = b.n_replicates
        shared = rng.normal(0, b.sd_participant, (n_sim, 1, b.n))
        replicate = rng.normal(0, b.sd_replicate, (n_sim, r, 1))
        own = rng.normal(0, b.sd_replicate, (n_sim, r, 1))
        sign = np.where(y == 1, 1.0, -1.0)
        delta = np.where(y == 1, b.delta_pos, b.delta_neg)[None, None, :]
        out = {}
        for name, offset, a in (("a", 0.0, replicate),
                                ("b", -self.shift, self.correlation * replicate
                                 + np.sqrt(1 - self.correlation**2) * own)):
            margin = (delta + offset + a + (shared + rng.normal(0, self.sd_procedure, (n_sim, 1, b.n)))[:, :, rows]
                      + rng.normal(0, b.sd_interaction, (n_sim, r, b.n))[:, :, rows]
                      + rng.normal(0, b.sd_session, (n_sim, r, rows.size)))
            scores = special.expit(sign * margin)
            values = [crossed_values(y, study, metric="BA", groups=rows) for study in scores]
            out[f"values_{name}"] = np.stack([v.values for v in values])
            out[f"pseudo_{name}"] = np.stack([v.pseudo for v in values])
        out["strata"] = np.broadcast_to(b.labels, (n_sim, b.n))
        return out


def _compare(batch, rng, *, rule, n_resamples, level):
    from clinicadl.stats.probability_better import probability_better

    p = []
    for i, strata in enumerate(batch["strata"]):
        ids = np.arange(strata.size)
        a = CrossedValues("BA", batch["values_a"][i], batch["pseudo_a"][i], strata, ids)
        b = CrossedValues("BA", batch["values_b"][i], batch["pseudo_b"][i], strata, ids)
        if rule == "replicates only":  # P(A>B) over the replicate pairs, conditional on this test set
            res = probability_better(a.values, b.values, n_resamples=n_resamples, confidence_level=level, rng=rng)
            p.append(0.0 if res.significant else 1.0)
            continue
        if rule == "t over replicate pairs":
            p.append(float(sps.ttest_rel(a.values, b.values).pvalue))
            continue
        res = compare_values(a, b, n_resamples=n_resamples, confidence_level=level, rng=rng)
        p.append(res.pvalue if rule == "difference" else (0.0 if res.significant else 1.0))
    return TestOutcome(np.asarray(p))


def crossed_comparison_procedure(rule: str = "difference", *, n_resamples: int = 500) -> ProcedureUnderTest:
    """Tests of A vs B: ``difference`` (crossed t, two-sided 0.05), ``P(A>B)`` (population rule: significant when
    the lower bound exceeds 0.5, one-sided 0.025), and the replaced ``replicates only`` P(A>B) and the
    ``t over replicate pairs``, which ignore the test-set sampling."""
    nominal = {"difference": 0.05, "P(A>B)": 0.025, "replicates only": 0.025, "t over replicate pairs": 0.05}
    if rule not in nominal:
        raise ValueError(f"unknown comparison rule {rule!r}")
    names = {"difference": "crossed difference test", "P(A>B)": "P(A>B) significant (population)",
             "replicates only": "P(A>B) significant (replicates only, previous)",
             "t over replicate pairs": "paired t over replicates"}
    reference = "Bouthillier et al. (2021)" if "P(A>B)" in rule or rule == "replicates only" else REFERENCE
    return ProcedureUnderTest(names[rule], "test", "difference:BA",
                              partial(_compare, rule=rule, n_resamples=n_resamples, level=0.95), nominal[rule],
                              reference)
