"""Simulation studies: the proof, by simulation, that an interval covers and a test keeps its size.

A study (Morris et al. 2019) runs **procedures under test** (:class:`ProcedureUnderTest`: an interval method or
a test of the package) on batches of data drawn by a **scenario** with a known truth (:class:`Scenario`), chunk
by chunk (:mod:`~clinicadl.stats.simulation.harness`), and summarises their coverage, type I error or power with
Monte-Carlo standard errors (:mod:`~clinicadl.stats.simulation.summary`). One module per scenario family, each
with the procedures it validates; :data:`SCENARIOS` (:mod:`~clinicadl.stats.simulation.registry`) names them.

Families
--------
- ``accuracy`` (:mod:`~clinicadl.stats.simulation.accuracy`): accuracy of ``n`` independent predictions
  (Wilson 1927; Clopper & Pearson 1934).
- ``auc``, ``clustered`` (:mod:`~clinicadl.stats.simulation.binormal`): binormal classifier scores, AUC known in
  closed form; optionally 1-4 sessions per participant sharing a participant random effect.
- ``dice``, ``skewed`` (:mod:`~clinicadl.stats.simulation.values`): per-case values, Beta (Dice; El Jurdi et al.
  2023) or log-normal (the median).
- ``replicates`` (:mod:`~clinicadl.stats.simulation.replicates`): replicates of a learning procedure,
  ``R_ij = mu + b_i + e_ij + t`` (Bouthillier et al. 2021).
- ``resampled-t`` (:mod:`~clinicadl.stats.simulation.resampled_differences`): differences over resampled splits
  with Nadeau & Bengio's (2003) correlation.
- ``centroid-cv``, ``five-by-two`` (:mod:`~clinicadl.stats.simulation.centroid_cv`): two real learners on
  repeated CV under an exact null (Nadeau & Bengio 2003; Bouckaert & Frank 2004; Dietterich 1998).
- ``two-models`` (:mod:`~clinicadl.stats.simulation.two_models`): two trained models on the same participants.
- ``nested-cv`` (:mod:`~clinicadl.stats.simulation.logistic_cv`): logistic regression, naive and nested CV of
  ``Err_XY`` (Bates et al. 2023).
- crossed design (:mod:`~clinicadl.stats.simulation.crossed`): R models scored on one shared test set, and two
  procedures compared on it (run by ``scripts/validation.py``).
- variance study (:mod:`~clinicadl.stats.simulation.sources`): models re-drawing one source of variance at a time
  on a shared test set, with a known per-source variance (:mod:`clinicadl.stats.variance_sources`).

Examples
--------
>>> from clinicadl.stats.simulation import BernoulliAccuracy, proportion_procedure, simulate
>>> result, = simulate(BernoulliAccuracy(n=100, p=0.8), [proportion_procedure("wilson")], n_sim=500, rng=1)
>>> result.measure, result.n_sim
('coverage', 500)

References
----------
Morris T. P., White I. R., Crowther M. J. (2019). Using simulation studies to evaluate statistical methods.
Statistics in Medicine 38(11), 2074-2102.
"""

from __future__ import annotations

import warnings

from clinicadl.stats.simulation.accuracy import BernoulliAccuracy, proportion_procedure
from clinicadl.stats.simulation.binormal import BinormalScores, binormal_truth, bootstrap_procedure, delong_procedure
from clinicadl.stats.simulation.centroid_cv import CentroidCV, five_by_two_procedure
from clinicadl.stats.simulation.crossed import (
    CrossedComparison,
    CrossedReplicates,
    crossed_comparison_procedure,
    crossed_procedure,
)
from clinicadl.stats.simulation.harness import (
    cache_path,
    chunk_sizes,
    chunk_streams,
    procedure_stream,
    root_seed,
    run_and_store_chunk,
    run_chunk,
    simulate,
    write_atomic,
)
from clinicadl.stats.simulation.logistic_cv import (
    LogisticCV,
    cv_procedure,
    fit_logistic,
    logistic_loss,
    nested_cv_available,
)
from clinicadl.stats.simulation.protocols import (
    KINDS,
    IntervalOutcome,
    ProcedureUnderTest,
    Scenario,
    TestOutcome,
    frozen_truth,
    t_interval,
)
from clinicadl.stats.simulation.registry import SCENARIOS, Family, default_procedures, make_scenario
from clinicadl.stats.simulation.replicates import TwoStageReplicates, replicate_procedure
from clinicadl.stats.simulation.resampled_differences import ResampledDifferences, ttest_procedure
from clinicadl.stats.simulation.summary import (
    DEPARTURE_SE,
    ChunkCounts,
    SimulationResult,
    count_outcome,
    mc_se,
    summarise,
)
from clinicadl.stats.simulation.two_models import TwoModels, comparison_procedure
from clinicadl.stats.simulation.values import BetaValues, LognormalValues, values_procedure

__all__ = [
    "DEPARTURE_SE",
    "KINDS",
    "SCENARIOS",
    "BernoulliAccuracy",
    "BetaValues",
    "BinormalScores",
    "CentroidCV",
    "ChunkCounts",
    "CrossedComparison",
    "CrossedReplicates",
    "Family",
    "IntervalOutcome",
    "LogisticCV",
    "LognormalValues",
    "ProcedureUnderTest",
    "ResampledDifferences",
    "Scenario",
    "SimulationResult",
    "TestOutcome",
    "TwoModels",
    "TwoStageReplicates",
    "binormal_truth",
    "bootstrap_procedure",
    "cache_path",
    "chunk_sizes",
    "chunk_streams",
    "comparison_procedure",
    "count_outcome",
    "crossed_comparison_procedure",
    "crossed_procedure",
    "cv_procedure",
    "default_procedures",
    "delong_procedure",
    "fit_logistic",
    "five_by_two_procedure",
    "frozen_truth",
    "logistic_loss",
    "make_scenario",
    "mc_se",
    "nested_cv_available",
    "procedure_stream",
    "proportion_procedure",
    "replicate_procedure",
    "root_seed",
    "run_and_store_chunk",
    "run_chunk",
    "simulate",
    "summarise",
    "t_interval",
    "ttest_procedure",
    "values_procedure",
    "write_atomic",
]


def __getattr__(name: str):
    """``Procedure``: the former name of :class:`ProcedureUnderTest` (DeprecationWarning; removed next release)."""
    if name == "Procedure":
        warnings.warn("clinicadl.stats.simulation.Procedure is deprecated: use ProcedureUnderTest (an interval "
                      "method or test under simulation, not a learning procedure).", DeprecationWarning, stacklevel=2)
        return ProcedureUnderTest
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
