"""``clinicadl evaluate procedure``: how good is this LEARNING PROCEDURE?

A learning procedure, run again, gives another trained model: the data split, the initial weights, the data
order, the augmentation and dropout change. With the replicates of a MAPS (``train --replicates R``), every
trained model (replicate ``r``, split ``s``) is evaluated on the same test group, and three things are reported
per metric:

1. each model's value with its test-set interval (participant-level bootstrap, :func:`assess_model`);
2. the variance components of the crossed design (R models x the same test participants): replicate (split +
   seeds), participant (test-set sampling shared by every model) and their interaction
   (:mod:`clinicadl.stats.crossed_design`);
3. the expected performance of the procedure with an interval that accounts for all three
   (:mod:`clinicadl.stats.crossed_inference`), or, where too few replicates allow none, the reason and an
   interval conditional on these trained models.

On the ``validation`` group (one held-out fold per model, a cross-validation design) the models do not share
participants: the corrected repeated k-fold t-interval is used there instead.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Searle S. R., Casella G., McCulloch C. E. (1992). Variance Components, chapter 4.
Owen A. B. (2007). The pigeonhole bootstrap. Annals of Applied Statistics 1(2), 386-411.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from clinicadl.errors import InputError
from clinicadl.evaluate.model import EvaluationOptions
from clinicadl.evaluate.procedure_design import (
    FEW_REPLICATES_NOTE,
    FIXHOPT_NOTE,
    HPO_NOTE,
    design_notes,
    design_record,
    estimator_name,
)
from clinicadl.evaluate.procedure_expected import (
    COMPONENT_CAPTION,
    COMPONENT_INTERVALS_NOTE,
    WHAT_IT_IS,
    component_rows,
    crossed_results,
    expected_rows,
)
from clinicadl.evaluate.procedure_folds import (
    COMPONENTS,
    CV_METHOD,
    NESTED_CV_NOTE,
    cross_validation_performance,
    variance_table,
)
from clinicadl.evaluate.procedure_hpo import hpo_variance
from clinicadl.evaluate.procedure_inputs import Procedure, load_procedure
from clinicadl.evaluate.procedure_models import model_table, unit_values
from clinicadl.evaluate.procedure_summary import format_procedure_summary
from clinicadl.evaluate.provenance import provenance
from clinicadl.evaluate.results import ResultRow, write_results
from clinicadl.maps import evaluation_dir
from clinicadl.stats.metrics import higher_is_better, lower_is_better_names

__all__ = [
    "COMPONENTS",
    "CV_METHOD",
    "FEW_REPLICATES_NOTE",
    "FIXHOPT_NOTE",
    "HPO_NOTE",
    "LOWER_IS_BETTER",
    "NESTED_CV_NOTE",
    "ProcedureEvaluation",
    "cross_validation_performance",
    "design_notes",
    "design_record",
    "estimator_name",
    "evaluate_procedure",
    "expected_table",
    "format_procedure_summary",
    "higher_is_better",
    "hpo_variance",
    "model_table",
    "unit_values",
    "variance_table",
    "write_table",
]

LOWER_IS_BETTER = lower_is_better_names()
"""Metrics (and per-image columns) for which a lower value is better, from the metric registry."""

write_table = write_results
"""Results TSV + JSON sidecar (FORMATS.md section 4); the one writer of :mod:`clinicadl.evaluate.results`."""


@dataclass(frozen=True)
class ProcedureEvaluation:
    """Results of ``evaluate procedure``.

    Attributes
    ----------
    models : pandas.DataFrame
        One row per (trained model, metric): the columns of :func:`assess_model` plus ``replicate``.
    variance : pandas.DataFrame
        One row per (metric, component): ``component`` is ``test_sampling``, ``split``, ``seed``,
        ``split_and_seed`` or ``total`` (see :class:`~clinicadl.stats.variance_components.VarianceComponents`);
        ``estimate`` is a variance, ``ci_low``/``ci_high`` its interval, ``fraction`` its share of the total.
    expected : pandas.DataFrame
        One row per metric: the expected performance of the procedure (``estimate``), its interval and
        standard error, ``method`` (``two-level bootstrap`` or ``replicate bootstrap + shared test variance``),
        ``n_replicates``, ``n_splits``, ``higher_is_better``.
    procedure : Procedure
        What was read.
    written : tuple of Path
        Results TSVs (each with a JSON sidecar) and PNG figures.
    notes : tuple of str
    """

    models: pd.DataFrame
    variance: pd.DataFrame
    expected: pd.DataFrame
    procedure: Procedure
    written: tuple[Path, ...]
    notes: tuple[str, ...]


def _base(procedure: Procedure, table: pd.DataFrame, options: EvaluationOptions) -> ResultRow:
    return ResultRow(metric="", confidence=options.confidence_level, n_subjects=int(table["n_subjects"].iloc[0]),
                     n_images=int(table["n_images"].iloc[0]), seed=options.seed,
                     extra={"n_splits": procedure.n_splits, "procedure": str(procedure.path),
                            "data_group": procedure.data_group, "selection_metric": procedure.selection_metric})


def expected_table(procedure: Procedure, table: pd.DataFrame, options: EvaluationOptions
                   ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Expected performance and variance components of every metric.

    Returns the expected-performance rows, the variance-component rows and notes. On a test group shared by
    every model the crossed design is used; on the validation folds, the corrected repeated k-fold interval
    and the one-way components of :func:`variance_table`.
    """
    if procedure.on_validation_folds:
        expected, notes = cross_validation_performance(procedure, table, options)
        variance, variance_notes = variance_table(procedure, table, options)
        return expected, variance, variance_notes + notes
    metrics = list(dict.fromkeys(table["metric"]))
    results, notes = crossed_results(procedure, metrics, options)
    base = _base(procedure, table, options)
    expected = expected_rows(procedure, results, options, base)
    if len(expected):
        expected["higher_is_better"] = [higher_is_better(m) for m in expected["metric"]]
    variance = component_rows(procedure, results, options, base)
    reasons = sorted({f"{m}: {r.reason}" for m, (r, _) in results.items() if r.reason})
    notes += [*reasons, WHAT_IT_IS]
    if 3 <= procedure.n_replicates < 10:
        notes.append(FEW_REPLICATES_NOTE.format(r=procedure.n_replicates, df=procedure.n_replicates - 1))
    if len(variance):
        notes += [COMPONENT_CAPTION.format(replicate=_replicate_sources(procedure)), COMPONENT_INTERVALS_NOTE]
    return expected, variance, notes


def _replicate_sources(procedure: Procedure) -> str:
    varied = [s for s in procedure.varied_sources if s != "split"]
    seeds = ", ".join(varied) if varied else "seeds"
    return f"data split and {seeds}" if procedure.split_varied else f"{seeds}, one data split"


def evaluate_procedure(
    maps_path: str | Path,
    data_group: str,
    *,
    selection_metric: str = "loss",
    splits: Sequence[int] | None = None,
    options: EvaluationOptions | None = None,
    output_dir: str | Path | None = None,
    plots: bool = True,
    hpo_reference: str | Path | None = None,
) -> ProcedureEvaluation:
    """Performance of a learning procedure from all its replicates (and splits).

    Parameters
    ----------
    maps_path : str or Path
        A MAPS with replicates (``train --replicates``), or a plain MAPS with several splits.
    data_group : str
        Test group predicted by every replicate.
    selection_metric : str, default "loss"
        Model of each split (``best-<m>``).
    splits : sequence of int, optional
        Splits to use (default: all).
    options : EvaluationOptions, optional
        Metrics, resamples, interval method and seed of the per-model intervals; ``n_resamples``,
        ``confidence_level`` and ``seed`` also drive the two-level bootstrap.
    output_dir : str or Path, optional
        Folder of the results (default ``<maps>/evaluation/<group>/``).
    plots : bool, default True
        Write the PNG figures.
    hpo_reference : str or Path, optional
        A MAPS of the same procedure with the hyper-parameters fixed (same root seed and sources, without
        ``hpo``): adds the variance due to the hyper-parameter choice (component ``hpo``, :func:`hpo_variance`).

    Returns
    -------
    ProcedureEvaluation

    Raises
    ------
    InputError
        A single trained model (nothing to assess beyond ``evaluate model``), models that predicted different
        test images.

    References
    ----------
    Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
    """
    options = options or EvaluationOptions()
    procedure = load_procedure(maps_path, data_group, selection_metric=selection_metric, splits=splits)
    if len(procedure.models) < 2:
        raise InputError(f"{procedure.path} holds a single trained model on {data_group!r} (one replicate, one "
                         "split): a procedure needs several; train with --replicates R, or use `clinicadl evaluate "
                         "model` for this model.")
    table = model_table(procedure, options)
    expected, variance, expected_notes = expected_table(procedure, table, options)
    variance_notes: list[str] = []
    if hpo_reference is not None:
        hpo_rows, variance_notes = hpo_variance(procedure, table, hpo_reference, options)
        variance = pd.concat([variance, hpo_rows], ignore_index=True)
    notes = design_notes(procedure) + expected_notes + variance_notes
    folder = Path(output_dir) if output_dir is not None else evaluation_dir(procedure.path, data_group)
    meta = provenance([m.predictions.source for m in procedure.models],
                      asdict(options) | {"selection_metric": selection_metric, "splits": list(splits or [])})
    meta["design"] = design_record(procedure)
    meta["interpretation"] = WHAT_IT_IS if not procedure.on_validation_folds else CV_METHOD
    meta["notes"] = list(dict.fromkeys(notes))
    written = [
        write_results(folder / "procedure_models.tsv", table, meta),
        write_results(folder / "procedure_expected.tsv", expected, meta),
    ]
    if len(variance):
        written.append(write_results(folder / "procedure_variance.tsv", variance, meta))
    if plots:
        from clinicadl.evaluate.figure_jobs import request_figure

        figures = [request_figure("procedure_models", written[:2], folder / "procedure_models.png")]
        if len(variance):
            figures.append(request_figure("procedure_variance", written[2:], folder / "procedure_variance.png"))
        written += [f for f in figures if f is not None]
    return ProcedureEvaluation(table, variance, expected, procedure, tuple(written), tuple(dict.fromkeys(notes)))
