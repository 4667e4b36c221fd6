"""The registry of scenario families: :data:`SCENARIOS` names them, with their size parameter and procedures.

``make_scenario(name, n)`` builds one scenario of a family and ``default_procedures(name, scenario)`` gives the
procedures under test that the family validates (``clinicadl evaluate simulate`` and ``scripts/validation.py``).
To add a family: a module of :mod:`clinicadl.stats.simulation` with the scenario (a frozen dataclass with
``key``, ``truth``, ``description`` and ``draw``) and its ``*_procedure`` factories, then one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType

from clinicadl.errors import InputError
from clinicadl.stats.simulation.accuracy import BernoulliAccuracy, proportion_procedure
from clinicadl.stats.simulation.binormal import BinormalScores, bootstrap_procedure, delong_procedure
from clinicadl.stats.simulation.centroid_cv import CentroidCV, five_by_two_procedure
from clinicadl.stats.simulation.logistic_cv import LogisticCV, cv_procedure, nested_cv_available
from clinicadl.stats.simulation.protocols import ProcedureUnderTest
from clinicadl.stats.simulation.replicates import TwoStageReplicates, replicate_procedure
from clinicadl.stats.simulation.resampled_differences import ResampledDifferences, ttest_procedure
from clinicadl.stats.simulation.two_models import TwoModels, comparison_procedure
from clinicadl.stats.simulation.values import BetaValues, LognormalValues, values_procedure


@dataclass(frozen=True)
class Family:
    """A scenario family: how to build it from ``n`` and keyword parameters, and what it validates."""

    build: Callable[..., object]
    size_parameter: str
    procedures: Callable[[object], list[ProcedureUnderTest]] = field(repr=False)
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


def default_procedures(name: str, scenario) -> list[ProcedureUnderTest]:
    """The procedures that the scenario family ``name`` validates."""
    return list(SCENARIOS[name].procedures(scenario))
