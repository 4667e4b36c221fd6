"""Expected performance of a learning procedure, and comparison of two, on the crossed design.

R trained models of a procedure (replicates, with their data splits) are all scored on the same n test
participants. The target is the **expected performance** of the procedure: the mean of its metric over
replicates (new splits of the development sample and new seeds) and over test sets of this size drawn from the
participant population. Its estimate is the mean over the R models; its variance has a replicate part (R - 1
degrees of freedom) and a participant part (test-set sampling shared by all models, plus the interaction
divided by R; Satterthwaite degrees of freedom over the class strata, each corrected for the kurtosis of its
participant means), estimated without bias by :mod:`clinicadl.stats.crossed_design`.

The interval is built on a scale where the metric is not bounded (logit for metrics in [0, 1], Fisher's z for
metrics in [-1, 1]) because near its bound the mean of R models is skewed and its standard error shrinks with
it, and each part gets its own Student multiplier::

    g(est) +- g'(est) sqrt(t^2_{R-1} V_replicate + t^2_{df_p} V_participant)

(a component-wise form of Satterthwaite's approximation that stays valid when one part has very few degrees of
freedom; Satterthwaite 1946; Welch 1947). With fewer than three replicates the replicate variance has at most
one degree of freedom and no useful interval exists: the result says so and gives only the interval conditional
on these trained models (test-set sampling only).

This module gathers the two halves: the interval of the expected performance lives in
:mod:`clinicadl.stats.crossed_interval`, the comparison of two procedures in
:mod:`clinicadl.stats.crossed_comparison`.

Comparisons of two procedures use the same decomposition on the per-participant differences (paired
replicates: same root seed, replicate ``r`` of A beside replicate ``r`` of B), and ``P(A>B)`` (Bouthillier et
al. 2021) gets an interval from a bootstrap that resamples replicate pairs and participants jointly, so that it
is a statement about the population of participants, not about this test set.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Owen A. B. (2007). The pigeonhole bootstrap. Annals of Applied Statistics 1(2), 386-411.
Satterthwaite F. E. (1946). An approximate distribution of estimates of variance components. Biometrics
Bulletin 2(6), 110-114.
Searle S. R., Casella G., McCulloch C. E. (1992). Variance Components. Wiley, chapter 4.
"""

from __future__ import annotations

from clinicadl.stats.crossed_comparison import (
    SCOPE,
    ExpectedDifference,
    compare_expected_performance,
    compare_values,
    componentwise_pvalue,
)
from clinicadl.stats.crossed_interval import (
    CONDITIONAL_METHOD,
    METHOD,
    MIN_PARTICIPANTS,
    MIN_REPLICATES,
    SCALES,
    TOO_FEW_PARTICIPANTS,
    TOO_FEW_REPLICATES,
    ExpectedPerformance,
    Scale,
    expected_performance,
    informative_participants,
    interval_from_values,
    metric_bounds,
    transformed_interval,
)

__all__ = [
    "CONDITIONAL_METHOD",
    "METHOD",
    "MIN_PARTICIPANTS",
    "MIN_REPLICATES",
    "SCALES",
    "SCOPE",
    "TOO_FEW_PARTICIPANTS",
    "TOO_FEW_REPLICATES",
    "ExpectedDifference",
    "ExpectedPerformance",
    "Scale",
    "compare_expected_performance",
    "compare_values",
    "componentwise_pvalue",
    "expected_performance",
    "informative_participants",
    "interval_from_values",
    "metric_bounds",
    "transformed_interval",
]
