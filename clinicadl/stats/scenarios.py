"""Deprecated location of the simulation scenarios: they moved to :mod:`clinicadl.stats.simulation`.

One module per scenario family there (``accuracy``, ``binormal``, ``values``, ``replicates``,
``resampled_differences``, ``centroid_cv``, ``two_models``, ``logistic_cv``, ``crossed``) and the registry in
:mod:`clinicadl.stats.simulation.registry`. This module forwards the former names with a DeprecationWarning for
one release.
"""

from __future__ import annotations

import warnings

from clinicadl.stats import simulation as _simulation

_MOVED = frozenset({
    "SCENARIOS", "BernoulliAccuracy", "BetaValues", "BinormalScores", "CentroidCV", "Family", "LogisticCV",
    "LognormalValues", "ResampledDifferences", "TwoModels", "TwoStageReplicates", "binormal_truth",
    "bootstrap_procedure", "comparison_procedure", "cv_procedure", "default_procedures", "delong_procedure",
    "fit_logistic", "five_by_two_procedure", "logistic_loss", "make_scenario", "nested_cv_available",
    "proportion_procedure", "replicate_procedure", "ttest_procedure", "values_procedure",
})


def __getattr__(name: str):
    if name in _MOVED:
        warnings.warn(f"clinicadl.stats.scenarios.{name} moved to clinicadl.stats.simulation.{name}.",
                      DeprecationWarning, stacklevel=2)
        return getattr(_simulation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
