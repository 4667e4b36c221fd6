"""Simulated variance studies with known per-source variances (the scenario behind :mod:`variance_sources`).

The design ``clinicadl train --study sources`` produces, simulated with every effect it has: a shared test set of
``n`` participants (40 % positives, 1 to 3 sessions, a difficulty ``u_j`` shared by every model), and models whose
image margins add one effect per source of variance and a participant-by-model interaction that belongs to the
source that changed ::

    margin_mjs = delta_y + u_j + sum_s (a_ms + e_msj) + eps_mjs
    a_ms ~ N(0, sd_effect[s]^2)         the effect of source s on model m
    e_msj ~ N(0, sd_interaction[s]^2)   how re-drawing s changes which participants model m gets right
    eps_mjs ~ N(0, sd_session^2)        session noise, fixed per image (the test set is fixed)

In the design of source ``s`` the draws of every other source are the reference draws (model 0's), so only
``a_ms`` and ``e_msj`` change between models. The image is right when its margin is positive; the score is the
balanced accuracy over images. The truth of each study is the variance of that score over re-draws of the source
*on this test set and at this reference draw* (what the interval is about), computed by drawing many more models
in the same world (``n_truth`` models: its Monte-Carlo error is a few per cent of the variance, well inside the
intervals' width). The nested design draws ``S`` splits and ``K`` draws of every seeded source within each.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np

from clinicadl.stats.simulation.protocols import IntervalOutcome, ProcedureUnderTest, frozen_truth
from clinicadl.stats.variance_sources import SOURCES, source_sd, split_seed_sd

REFERENCE = "Bouthillier et al. (2021); Graybill & Wang (1980); clinicadl.stats.variance_sources"


def _default_effects() -> dict[str, float]:
    return {"split": 0.25, "init": 0.12, "order": 0.08, "augmentation": 0.06, "dropout": 0.05, "hpo": 0.3}


def _default_interactions() -> dict[str, float]:
    return {"split": 0.35, "init": 0.3, "order": 0.25, "augmentation": 0.2, "dropout": 0.2, "hpo": 0.3}


@dataclass(frozen=True)
class SourceStudy:
    """One simulated world: a test set and reference draws; models are drawn by :meth:`scores`.

    Attributes
    ----------
    n : int
        Test participants.
    sd_effect, sd_interaction : dict of str to float
        Standard deviations of each source's effect and interaction, on the margin scale.
    sd_participant, sd_session : float
    delta : float
        Mean margin of both classes (BA of a model near 0.7-0.8 with the defaults).
    prevalence : float
    max_sessions : int
    """

    n: int = 100
    sd_effect: dict[str, float] = field(default_factory=_default_effects)
    sd_interaction: dict[str, float] = field(default_factory=_default_interactions)
    sd_participant: float = 0.8
    sd_session: float = 0.3
    delta: float = 1.0
    prevalence: float = 0.4
    max_sessions: int = 3

    def world(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Draw the test set (images, classes, difficulty, session noise) and the reference draw of every source."""
        sessions = 1 + np.arange(self.n) % self.max_sessions
        participant = np.repeat(np.arange(self.n), sessions)
        positive = participant < round(self.prevalence * self.n)
        base = self.delta + self.sd_participant * rng.standard_normal(self.n)
        return {
            "participant": participant,
            "positive": positive,
            "base": base[participant] + self.sd_session * rng.standard_normal(participant.size),
            "reference": np.array([self.sd_effect[s] * rng.standard_normal() for s in SOURCES]),
            "reference_interaction": np.stack([self.sd_interaction[s] * rng.standard_normal(self.n) for s in SOURCES]),
        }

    def _draws(self, sources: tuple[str, ...], m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Effects (m,) and interactions (m, n) summed over ``sources``, each re-drawn for every model."""
        effect = np.zeros(m)
        interaction = np.zeros((m, self.n))
        for s in sources:
            effect += self.sd_effect[s] * rng.standard_normal(m)
            interaction += self.sd_interaction[s] * rng.standard_normal((m, self.n))
        return effect, interaction

    def _fixed(self, world: dict[str, np.ndarray], varying: tuple[str, ...]) -> tuple[float, np.ndarray]:
        keep = np.array([s not in varying for s in SOURCES])
        return float(world["reference"][keep].sum()), world["reference_interaction"][keep].sum(axis=0)

    def balanced_accuracy(self, world: dict[str, np.ndarray], effect: np.ndarray, interaction: np.ndarray):
        """BA over images of models with these per-model effects (m,) and interactions (m, n)."""
        margin = world["base"] + effect[:, None] + interaction[:, world["participant"]]
        right = margin > 0
        positive = world["positive"]
        return (right[:, positive].mean(axis=1) + right[:, ~positive].mean(axis=1)) / 2

    def scores(self, world, varying: tuple[str, ...], m: int, rng: np.random.Generator) -> np.ndarray:
        """Scores of ``m`` models re-drawing ``varying`` (others at the reference draw), on the world's test set."""
        effect, interaction = self._draws(varying, m, rng)
        fixed_effect, fixed_interaction = self._fixed(world, varying)
        return self.balanced_accuracy(world, effect + fixed_effect, interaction + fixed_interaction)

    def nested_scores(self, world, n_splits: int, n_seeds: int, rng: np.random.Generator) -> np.ndarray:
        """(S, K) scores: S split draws, K draws of every other source except ``hpo`` within each split."""
        seeds = tuple(s for s in SOURCES if s not in ("split", "hpo"))
        split_effect, split_interaction = self._draws(("split",), n_splits, rng)
        seed_effect, seed_interaction = self._draws(seeds, n_splits * n_seeds, rng)
        fixed_effect, fixed_interaction = self._fixed(world, ("split", *seeds))
        effect = np.repeat(split_effect, n_seeds) + seed_effect + fixed_effect
        interaction = np.repeat(split_interaction, n_seeds, axis=0) + seed_interaction + fixed_interaction
        return self.balanced_accuracy(world, effect, interaction).reshape(n_splits, n_seeds)

    def truth(self, world, varying: tuple[str, ...], rng: np.random.Generator, n_truth: int = 4000) -> float:
        """Variance of the score over re-draws of ``varying`` in this world (Monte Carlo, ``n_truth`` models)."""
        return float(self.scores(world, varying, n_truth, rng).var(ddof=1))

    def nested_truth(self, world, rng: np.random.Generator, n_splits: int = 400, n_seeds: int = 20):
        """(split, seed) variances of this world, by the ANOVA of a large nested table."""
        table = self.nested_scores(world, n_splits, n_seeds, rng)
        within = float(table.var(axis=1, ddof=1).mean())
        between = float(table.mean(axis=1).var(ddof=1))
        return between - within / n_seeds, within


# ---------------------------------------------------------------------------------- harness scenarios and procedures


def _sd_outcome(results) -> IntervalOutcome:
    return IntervalOutcome(np.array([r.sd for r in results]), np.array([r.low for r in results]),
                           np.array([r.high for r in results]))


@dataclass(frozen=True)
class SingleSourceStudy:
    """Harness scenario: R models re-drawing ``source`` (``"all"``: every source) on one simulated world each.

    ``draw`` gives the scores ``(n_sim, R)`` and the truth of each study, ``truth:sd``: the standard deviation of
    the score over re-draws of the source in that world (:meth:`SourceStudy.truth`, ``n_truth`` models).
    """

    source: str = "init"
    n_replicates: int = 10
    n: int = 100
    n_truth: int = 4000

    @property
    def key(self) -> str:
        return f"variance-study(source={self.source},R={self.n_replicates},n={self.n})"

    @property
    def truth(self):
        return frozen_truth({"sd": float("nan")})  # per study: truth:sd

    @property
    def description(self) -> str:
        return (f"{self.n_replicates} models re-drawing {self.source} on a shared test set of {self.n} participants "
                "(interaction, 1-3 sessions, 40 % positives)")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        study = SourceStudy(n=self.n)
        varying = SOURCES if self.source == "all" else (self.source,)
        scores, truth = np.empty((n_sim, self.n_replicates)), np.empty(n_sim)
        for i in range(n_sim):  # a loop over simulated studies, each vectorised over its models
            world = study.world(rng)
            scores[i] = study.scores(world, varying, self.n_replicates, rng)
            truth[i] = np.sqrt(study.truth(world, varying, rng, self.n_truth))
        return {"scores": scores, "truth:sd": truth}


@dataclass(frozen=True)
class NestedSourceStudy:
    """Harness scenario: the nested design, S splits x K seed draws; truths ``truth:split_sd`` and ``truth:seed_sd``."""

    n_splits: int = 5
    n_seeds: int = 4
    n: int = 100

    @property
    def key(self) -> str:
        return f"variance-study-nested(S={self.n_splits},K={self.n_seeds},n={self.n})"

    @property
    def truth(self):
        return frozen_truth({"split_sd": float("nan"), "seed_sd": float("nan")})

    @property
    def description(self) -> str:
        return f"{self.n_splits} splits x {self.n_seeds} seed draws on a shared test set of {self.n} participants"

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        study = SourceStudy(n=self.n)
        tables = np.empty((n_sim, self.n_splits, self.n_seeds))
        split_sd, seed_sd = np.empty(n_sim), np.empty(n_sim)
        for i in range(n_sim):
            world = study.world(rng)
            tables[i] = study.nested_scores(world, self.n_splits, self.n_seeds, rng)
            split, seed = study.nested_truth(world, rng)
            split_sd[i], seed_sd[i] = np.sqrt(max(split, 0.0)), np.sqrt(seed)
        return {"tables": tables, "truth:split_sd": split_sd, "truth:seed_sd": seed_sd}


def _single(batch: dict[str, np.ndarray], rng: np.random.Generator) -> IntervalOutcome:
    return _sd_outcome([source_sd(scores, source="any") for scores in batch["scores"]])


def _nested(batch: dict[str, np.ndarray], rng: np.random.Generator, *, part: str) -> IntervalOutcome:
    return _sd_outcome([getattr(split_seed_sd(table), part) for table in batch["tables"]])


SOURCE_SD_PROCEDURE = ProcedureUnderTest("source SD (chi-square, kurtosis-corrected)", "interval", "sd", _single,
                                         reference=REFERENCE)
"""``clinicadl evaluate sources``' interval of one source's standard deviation."""

NESTED_PROCEDURES = (
    ProcedureUnderTest("split SD (Graybill-Wang)", "interval", "split_sd", partial(_nested, part="split"),
                       reference=REFERENCE),
    ProcedureUnderTest("seed SD (chi-square, kurtosis-corrected)", "interval", "seed_sd",
                       partial(_nested, part="seed"), reference=REFERENCE),
)
