"""Statistics for the evaluation of neuroimaging models: numpy and scipy only.

Metrics written once for point estimates and resampling, participant-level (cluster) bootstrap,
percentile / basic / BCa and analytic intervals, and paired comparisons of two models.

>>> from clinicadl.stats import bootstrap_ci, paired_bootstrap, delong_test, mcnemar_test

Names are imported on first use (PEP 562), so that ``import clinicadl.stats.metrics`` (the registry, asked by
every command's ``--help``) does not load scipy.stats and every procedure of the package.
"""

from __future__ import annotations

import importlib
import sys
import types

_EXPORTS: dict[str, str] = {
    "CLOSED_FORMS": "analytic",
    "ClosedFormInterval": "analytic",
    "closed_form_interval": "analytic",
    "newcombe_auc_interval": "auc_interval",
    "BayesianTTestResult": "bayesian_ttest",
    "correlated_bayesian_ttest": "bayesian_ttest",
    "CI_METHODS": "bootstrap",
    "bootstrap": "bootstrap",
    "bootstrap_ci": "bootstrap",
    "OverconfidentTestWarning": "corrected_ttest",
    "ResampledTTestResult": "corrected_ttest",
    "corrected_repeated_kfold_ttest": "corrected_ttest",
    "corrected_resampled_ttest": "corrected_ttest",
    "naive_resampled_ttest": "corrected_ttest",
    "ExpectedDifference": "crossed_comparison",
    "compare_expected_performance": "crossed_comparison",
    "CrossedComponents": "crossed_design",
    "CrossedValues": "crossed_design",
    "crossed_components": "crossed_design",
    "crossed_values": "crossed_design",
    "ExpectedPerformance": "crossed_interval",
    "expected_performance": "crossed_interval",
    "DeLongComparison": "delong",
    "delong_ci": "delong",
    "delong_components": "delong",
    "delong_test": "delong",
    "EffectiveCounts": "effective_size",
    "effective_counts": "effective_size",
    "five_by_two_f": "five_by_two",
    "five_by_two_t": "five_by_two",
    "mean_ci": "location",
    "median_ci": "location",
    "mcnemar_test": "mcnemar",
    "DEFAULT_METRICS": "metrics",
    "METRICS": "metrics",
    "Metric": "metrics",
    "PerImageMetric": "metrics",
    "available_metrics": "metrics",
    "register_metric": "metrics",
    "mover_linear": "mover",
    "newcombe_difference": "mover",
    "newcombe_paired_difference": "mover",
    "NestedCVResult": "nested_cv",
    "nested_cv": "nested_cv",
    "PairedBootstrapResult": "paired",
    "paired_bootstrap": "paired",
    "permutation_test": "paired",
    "permutation_tests": "paired",
    "Predictions": "predictions",
    "make_predictions": "predictions",
    "ProbabilityBetterResult": "probability_better",
    "probability_better": "probability_better",
    "ProcedureBootstrapResult": "procedure_bootstrap",
    "two_level_bootstrap": "procedure_bootstrap",
    "PROPORTION_METHODS": "proportion",
    "proportion_ci": "proportion",
    "proportion_interval": "proportion",
    "FRIEDMAN_METHODS": "rank_tests",
    "FriedmanResult": "rank_tests",
    "PairwiseTestResult": "rank_tests",
    "average_ranks": "rank_tests",
    "friedman_test": "rank_tests",
    "holm": "rank_tests",
    "nemenyi_critical_difference": "rank_tests",
    "pairwise_wilcoxon_holm": "rank_tests",
    "BootstrapResult": "results",
    "ConfidenceInterval": "results",
    "IntervalResult": "results",
    "TestResult": "results",
    "NoetherSampleSize": "sample_size",
    "WidthSampleSize": "sample_size",
    "noether_sample_size": "sample_size",
    "participants_for_width": "sample_size",
    "SEGMENTATION_METRICS": "segmentation_metrics",
    "SegmentationValues": "segmentation_metrics",
    "hausdorff_95": "segmentation_metrics",
    "normalized_surface_distance": "segmentation_metrics",
    "segmentation_values": "segmentation_metrics",
    "IntervalOutcome": "simulation",
    "ProcedureUnderTest": "simulation",
    "SimulationResult": "simulation",
    "TestOutcome": "simulation",
    "mc_se": "simulation",
    "simulate": "simulation",
    "VarianceComponents": "variance_components",
    "variance_components": "variance_components",
}
"""Module of ``clinicadl.stats`` that defines each public name."""

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import a public name from its module on first use; ``Procedure`` is the former name of
    :class:`ProcedureUnderTest` (DeprecationWarning; removed next release)."""
    if name == "Procedure":
        import warnings

        warnings.warn("clinicadl.stats.Procedure is deprecated: use ProcedureUnderTest (an interval "
                      "method or test under simulation, not a learning procedure).", DeprecationWarning, stacklevel=2)
        name = "ProcedureUnderTest"
    elif name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    if name in _EXPORTS:
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """This package, whose functions named like their module (``bootstrap``, ``nested_cv``...) keep their name.

    Importing a submodule sets it as an attribute of its package; for a name that the package exports, the
    function (imported on first use by :func:`__getattr__`) is kept instead, as an eager
    ``from clinicadl.stats.bootstrap import bootstrap`` in this file would do.
    """

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and name in _EXPORTS:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
