"""Statistics for the evaluation of neuroimaging models: numpy and scipy only.

Metrics written once for point estimates and resampling, participant-level (cluster) bootstrap,
percentile / basic / BCa and analytic intervals, and paired comparisons of two models.

>>> from clinicadl.stats import bootstrap_ci, paired_bootstrap, delong_test, mcnemar_test
"""

from clinicadl.stats.analytic import CLOSED_FORMS, ClosedFormInterval, closed_form_interval
from clinicadl.stats.auc_interval import newcombe_auc_interval
from clinicadl.stats.bayesian_ttest import BayesianTTestResult, correlated_bayesian_ttest
from clinicadl.stats.bootstrap import CI_METHODS, bootstrap, bootstrap_ci
from clinicadl.stats.corrected_ttest import (
    OverconfidentTestWarning,
    ResampledTTestResult,
    corrected_repeated_kfold_ttest,
    corrected_resampled_ttest,
    naive_resampled_ttest,
)
from clinicadl.stats.crossed_comparison import ExpectedDifference, compare_expected_performance
from clinicadl.stats.crossed_design import CrossedComponents, CrossedValues, crossed_components, crossed_values
from clinicadl.stats.crossed_interval import ExpectedPerformance, expected_performance
from clinicadl.stats.delong import DeLongComparison, delong_ci, delong_components, delong_test
from clinicadl.stats.effective_size import EffectiveCounts, effective_counts
from clinicadl.stats.five_by_two import five_by_two_f, five_by_two_t
from clinicadl.stats.location import mean_ci, median_ci
from clinicadl.stats.mcnemar import mcnemar_test
from clinicadl.stats.metrics import DEFAULT_METRICS, METRICS, Metric, PerImageMetric, available_metrics, register_metric
from clinicadl.stats.mover import mover_linear, newcombe_difference, newcombe_paired_difference
from clinicadl.stats.nested_cv import NestedCVResult, nested_cv
from clinicadl.stats.paired import PairedBootstrapResult, paired_bootstrap, permutation_test
from clinicadl.stats.predictions import Predictions, make_predictions
from clinicadl.stats.probability_better import ProbabilityBetterResult, probability_better
from clinicadl.stats.procedure_bootstrap import ProcedureBootstrapResult, two_level_bootstrap
from clinicadl.stats.proportion import PROPORTION_METHODS, proportion_ci, proportion_interval
from clinicadl.stats.rank_tests import (
    FRIEDMAN_METHODS,
    FriedmanResult,
    PairwiseTestResult,
    average_ranks,
    friedman_test,
    holm,
    nemenyi_critical_difference,
    pairwise_wilcoxon_holm,
)
from clinicadl.stats.results import BootstrapResult, ConfidenceInterval, IntervalResult, TestResult
from clinicadl.stats.sample_size import NoetherSampleSize, WidthSampleSize, noether_sample_size, participants_for_width
from clinicadl.stats.segmentation_metrics import (
    SEGMENTATION_METRICS,
    SegmentationValues,
    hausdorff_95,
    normalized_surface_distance,
    segmentation_values,
)
from clinicadl.stats.simulation import (
    IntervalOutcome,
    ProcedureUnderTest,
    SimulationResult,
    TestOutcome,
    mc_se,
    simulate,
)
from clinicadl.stats.variance_components import VarianceComponents, variance_components

__all__ = [
    "CI_METHODS",
    "CLOSED_FORMS",
    "DEFAULT_METRICS",
    "FRIEDMAN_METHODS",
    "METRICS",
    "PROPORTION_METHODS",
    "SEGMENTATION_METRICS",
    "BayesianTTestResult",
    "BootstrapResult",
    "ClosedFormInterval",
    "ConfidenceInterval",
    "CrossedComponents",
    "CrossedValues",
    "DeLongComparison",
    "EffectiveCounts",
    "ExpectedDifference",
    "ExpectedPerformance",
    "FriedmanResult",
    "IntervalOutcome",
    "IntervalResult",
    "Metric",
    "NestedCVResult",
    "NoetherSampleSize",
    "OverconfidentTestWarning",
    "PairedBootstrapResult",
    "PairwiseTestResult",
    "PerImageMetric",
    "Predictions",
    "ProbabilityBetterResult",
    "ProcedureBootstrapResult",
    "ProcedureUnderTest",
    "ResampledTTestResult",
    "SegmentationValues",
    "SimulationResult",
    "TestOutcome",
    "TestResult",
    "VarianceComponents",
    "WidthSampleSize",
    "available_metrics",
    "average_ranks",
    "bootstrap",
    "bootstrap_ci",
    "closed_form_interval",
    "compare_expected_performance",
    "corrected_repeated_kfold_ttest",
    "corrected_resampled_ttest",
    "correlated_bayesian_ttest",
    "crossed_components",
    "crossed_values",
    "delong_ci",
    "delong_components",
    "delong_test",
    "effective_counts",
    "expected_performance",
    "five_by_two_f",
    "five_by_two_t",
    "friedman_test",
    "hausdorff_95",
    "holm",
    "make_predictions",
    "mc_se",
    "mcnemar_test",
    "mean_ci",
    "median_ci",
    "mover_linear",
    "naive_resampled_ttest",
    "nemenyi_critical_difference",
    "nested_cv",
    "newcombe_auc_interval",
    "newcombe_difference",
    "newcombe_paired_difference",
    "noether_sample_size",
    "normalized_surface_distance",
    "paired_bootstrap",
    "pairwise_wilcoxon_holm",
    "participants_for_width",
    "permutation_test",
    "probability_better",
    "proportion_ci",
    "proportion_interval",
    "register_metric",
    "segmentation_values",
    "simulate",
    "two_level_bootstrap",
    "variance_components",
]


def __getattr__(name: str):
    """``Procedure``: the former name of :class:`ProcedureUnderTest` (DeprecationWarning; removed next release)."""
    if name == "Procedure":
        import warnings

        warnings.warn("clinicadl.stats.Procedure is deprecated: use ProcedureUnderTest (an interval "
                      "method or test under simulation, not a learning procedure).", DeprecationWarning, stacklevel=2)
        return ProcedureUnderTest
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
