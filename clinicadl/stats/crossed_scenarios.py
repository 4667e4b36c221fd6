"""Deprecated location of the crossed-design scenarios: they moved to :mod:`clinicadl.stats.simulation.crossed`.

``comparison_procedure`` is now ``crossed_comparison_procedure``. This module forwards the former names with a
DeprecationWarning for one release.
"""

from __future__ import annotations

import warnings

from clinicadl.stats.simulation import crossed as _crossed

_MOVED = {"CROSSED_METRICS": "CROSSED_METRICS", "REFERENCE": "REFERENCE", "CrossedComparison": "CrossedComparison",
          "CrossedReplicates": "CrossedReplicates", "comparison_procedure": "crossed_comparison_procedure",
          "crossed_procedure": "crossed_procedure"}


def __getattr__(name: str):
    if name in _MOVED:
        warnings.warn(f"clinicadl.stats.crossed_scenarios.{name} moved to "
                      f"clinicadl.stats.simulation.crossed.{_MOVED[name]}.", DeprecationWarning, stacklevel=2)
        return getattr(_crossed, _MOVED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
