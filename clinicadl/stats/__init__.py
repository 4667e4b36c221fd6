"""Statistics for the evaluation of neuroimaging models: numpy and scipy only.

Metrics written once for point estimates and resampling, participant-level (cluster) bootstrap,
percentile / basic / BCa and analytic intervals, and paired comparisons of two models.
"""

from clinicadl.stats.bootstrap import bootstrap, bootstrap_ci
from clinicadl.stats.metrics import DEFAULT_METRICS, METRICS, available_metrics
from clinicadl.stats.predictions import Predictions, make_predictions
from clinicadl.stats.results import BootstrapResult, ConfidenceInterval, IntervalResult, TestResult

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "BootstrapResult",
    "ConfidenceInterval",
    "IntervalResult",
    "Predictions",
    "TestResult",
    "available_metrics",
    "bootstrap",
    "bootstrap_ci",
    "make_predictions",
]
