"""Variance due to the hyper-parameter choice: a procedure with ``hpo`` varied against the same one without.

Both procedures vary the same other sources (trained with the same ``--root_seed`` and ``--vary``, adding ``hpo``
to one); the difference of the between-replicate variances of their trained models' metric estimates the variance
that re-optimising the hyper-parameters adds (Bouthillier et al. 2021), with the bootstrap interval of
:func:`clinicadl.stats.replicate_variance.variance_difference`.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.errors import InputError
from clinicadl.evaluate.model import EvaluationOptions
from clinicadl.evaluate.procedure_inputs import Procedure, check_same_test_images, load_procedure
from clinicadl.evaluate.procedure_models import model_table, unit_values
from clinicadl.evaluate.results import ResultRow, results_frame
from clinicadl.stats.replicate_variance import variance_difference

__all__ = ["hpo_variance"]


def _reference(procedure: Procedure, reference: str | Path) -> Procedure:
    """The procedure with the hyper-parameters fixed, checked against ``procedure``."""
    base = load_procedure(reference, procedure.data_group, selection_metric=procedure.selection_metric)
    if "hpo" not in procedure.varied_sources:
        raise InputError(f"{procedure.path} did not vary the hyper-parameters (source 'hpo'): there is no "
                         "hyper-parameter variance to measure; evaluate the MAPS trained with --vary ...,hpo and "
                         "give this one as --hpo_reference.")
    if "hpo" in base.varied_sources:
        raise InputError(f"{base.path} varied the hyper-parameters too: the reference must fix them (same --vary "
                         "without hpo).")
    if set(procedure.varied_sources) - {"hpo"} != set(base.varied_sources):
        raise InputError(f"{procedure.path} and {base.path} vary other sources differently "
                         f"({', '.join(procedure.varied_sources)} against {', '.join(base.varied_sources)}): only "
                         "'hpo' may differ.")
    check_same_test_images([procedure, base])
    return base


def _per_replicate(table: pd.DataFrame, metric: str, procedure: Procedure) -> np.ndarray:
    """Mean of a metric over the splits of each replicate."""
    values = unit_values(table, metric, procedure)[0]
    replicates = np.array([m.replicate for m in procedure.models])
    return np.array([values[replicates == k].mean() for k in np.unique(replicates)])


def hpo_variance(procedure: Procedure, table: pd.DataFrame, reference: str | Path, options: EvaluationOptions
                 ) -> tuple[pd.DataFrame, list[str]]:
    """Variance due to the hyper-parameter choice: procedure with ``hpo`` varied against one without.

    The interval is a percentile bootstrap over the replicates of each MAPS, resampled independently
    (conservative for paired seeds); one generator seeded with ``options.seed`` serves every metric in turn.
    """
    base = _reference(procedure, reference)
    base_table = model_table(base, options)
    rng = np.random.default_rng(options.seed)
    first = ResultRow(metric="", confidence=options.confidence_level, n_resamples=options.n_resamples,
                      n_subjects=int(table["n_subjects"].iloc[0]), n_images=int(table["n_images"].iloc[0]),
                      seed=options.seed)
    rows = []
    for metric in dict.fromkeys(table["metric"]):
        per_replicate = [_per_replicate(t, metric, p) for t, p in ((table, procedure), (base_table, base))]
        if min(len(v) for v in per_replicate) < 2:
            continue
        res = variance_difference(*per_replicate, n_resamples=options.n_resamples,
                                  confidence_level=options.confidence_level, rng=rng)
        rows.append(first.with_values(
            metric=metric, estimate=res.estimate, ci_low=res.confidence_interval.low,
            ci_high=res.confidence_interval.high, se=res.standard_error, method=res.method, component="hpo",
            fraction=res.estimate / res.variance_a if res.variance_a > 0 else np.nan,
            sd=float(np.sqrt(max(res.estimate, 0.0))), n_replicates=len(per_replicate[0]),
            n_splits=procedure.n_splits, procedure=str(procedure.path), data_group=procedure.data_group,
            reference=str(base.path), variance_with_hpo=res.variance_a, variance_without_hpo=res.variance_b))
    note = (f"Hyper-parameter variance: between-replicate variance of {procedure.path} (hpo re-optimised) minus that "
            f"of {base.path} (hpo fixed); fraction = its share of the variance with hpo.")
    return results_frame(rows), [note]
