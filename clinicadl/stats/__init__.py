"""Statistics for the evaluation of neuroimaging models: numpy and scipy only.

Metrics written once for point estimates and resampling, participant-level (cluster) bootstrap,
percentile / basic / BCa and analytic intervals, and paired comparisons of two models.

>>> from clinicadl.stats import bootstrap_ci, paired_bootstrap, delong_test, mcnemar_test
"""

from clinicadl.stats.bootstrap import CI_METHODS, bootstrap, bootstrap_ci
from clinicadl.stats.delong import DeLongComparison, delong_ci, delong_components, delong_test
from clinicadl.stats.location import mean_ci, median_ci
from clinicadl.stats.mcnemar import mcnemar_test
from clinicadl.stats.metrics import DEFAULT_METRICS, METRICS, available_metrics
from clinicadl.stats.paired import PairedBootstrapResult, paired_bootstrap, permutation_test
from clinicadl.stats.predictions import Predictions, make_predictions
from clinicadl.stats.proportion import PROPORTION_METHODS, proportion_ci, proportion_interval
from clinicadl.stats.results import BootstrapResult, ConfidenceInterval, IntervalResult, TestResult

__all__ = [
    "CI_METHODS",
    "DEFAULT_METRICS",
    "METRICS",
    "PROPORTION_METHODS",
    "BootstrapResult",
    "ConfidenceInterval",
    "DeLongComparison",
    "IntervalResult",
    "PairedBootstrapResult",
    "Predictions",
    "TestResult",
    "available_metrics",
    "bootstrap",
    "bootstrap_ci",
    "delong_ci",
    "delong_components",
    "delong_test",
    "make_predictions",
    "mcnemar_test",
    "mean_ci",
    "median_ci",
    "paired_bootstrap",
    "permutation_test",
    "proportion_ci",
    "proportion_interval",
]
