"""``clinicadl evaluate sources MAPS GROUP``: how much each source of variance moves a result, from a variance study.

Reads a MAPS trained with ``clinicadl train ... --study sources`` and predicted on GROUP, and reports per metric:
the standard deviation of one model's score due to each source (its models re-draw only that source), due to all
of them, and due to the split and the seeds separately (nested design), each with its interval
(:mod:`clinicadl.stats.variance_sources`); the test-set sampling standard deviation of one model for this test size
(participant and interaction components of the crossed design, Bouthillier's "data sampling"); and how the cheap
estimators compare with the ideal one (their variance, and how often they rank the better of two procedures first).

Outputs, in ``<maps>/evaluation/<group>/``: ``sources.tsv`` (one row per metric and source), ``estimators.tsv``
(one row per metric and estimator) with their JSON sidecars, and ``sources.png`` (Bouthillier et al.'s Figure 1,
for this task).

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3, 747-769.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.errors import InputError
from clinicadl.evaluate.procedure_expected import crossed_inputs
from clinicadl.evaluate.procedure_inputs import Procedure, load_procedure
from clinicadl.evaluate.provenance import provenance
from clinicadl.evaluate.results import ResultRow, results_frame, write_results
from clinicadl.maps.results_io import evaluation_dir
from clinicadl.maps.study import STUDY_TSV, StudyRow, read_study_tsv
from clinicadl.stats.crossed_design import CrossedValues, crossed_components
from clinicadl.stats.metrics import metric_bounds
from clinicadl.stats.variance_sources import (
    SourceSD,
    decision_rate,
    detection_rate,
    estimator_variances,
    source_sd,
    split_seed_sd,
)

__all__ = ["DECISION_P", "GAMMA", "P_BETTER", "SourcesEvaluation", "evaluate_sources", "format_sources", "study_inputs"]

P_BETTER = (0.6, 0.75, 0.9)
"""True probabilities that a model of A beats one of B at which the estimators' detection rates are reported."""

DECISION_P = (0.5, *P_BETTER)
"""Where the estimators' decisions by the P(A>B) rule are reported (0.5: no difference, false detections)."""

GAMMA = 0.75
"""Threshold of a meaningful improvement of the P(A>B) rule (Bouthillier et al. 2021 recommend 0.75)."""

TEST_SAMPLING = "test sampling"
NESTED_SPLIT = "split (nested)"
NESTED_SEED = "seeds (nested)"


@dataclass(frozen=True)
class SourcesEvaluation:
    """What ``evaluate sources`` found: the tables and the files written."""

    sources: pd.DataFrame
    estimators: pd.DataFrame
    written: tuple[Path, ...]
    n_models: int
    n_participants: int


def _design_values(rows: Sequence[StudyRow], values: CrossedValues, replicates: Sequence[int]) -> dict:
    """Scores of the models of each design, in member order; the nested design as an (S, K) table."""
    index = {r: i for i, r in enumerate(replicates)}
    by_design: dict[str, list[StudyRow]] = {}
    for row in rows:
        by_design.setdefault(row.design, []).append(row)
    out = {}
    for design, members in by_design.items():
        members = sorted(members, key=lambda m: m.member)
        scores = np.array([values.values[index[m.replicate]] for m in members])
        if design == "nested":
            shape = (max(m.split_draw for m in members) + 1, max(m.seed_draw for m in members) + 1)
            table = np.full(shape, np.nan)
            for m, score in zip(members, scores):
                table[m.split_draw, m.seed_draw] = score
            out[design] = table
        else:
            out[design] = scores
    return out


def _row(metric: str, estimate: SourceSD, scores: np.ndarray, source: str | None = None) -> ResultRow:
    return ResultRow(metric, estimate.sd, estimate.low, estimate.high, method=estimate.method,
                     confidence=estimate.confidence_level,
                     extra={"source": source or estimate.source, "variance": estimate.variance, "df": estimate.df,
                            "n_models": estimate.n_models, "mean_score": float(np.nanmean(scores))})


def _metric_rows(metric: str, designs: dict, values: CrossedValues, level: float, bounds) -> list[ResultRow]:
    rows = []
    for design, scores in designs.items():
        if design == "nested":
            nested = split_seed_sd(scores, confidence_level=level, bounds=bounds)
            rows += [_row(metric, nested.split, scores, NESTED_SPLIT), _row(metric, nested.seed, scores, NESTED_SEED)]
        else:
            rows.append(_row(metric, source_sd(scores, source=design, confidence_level=level, bounds=bounds),
                             scores))
    components = crossed_components(values)
    sampling = max(components.participant + components.interaction, 0.0)
    rows.append(ResultRow(metric, float(np.sqrt(sampling)), method="participant + interaction components of the "
                          "crossed design (no interval: see docs/variance-study.md)", confidence=level,
                          extra={"source": TEST_SAMPLING, "variance": sampling, "df": np.nan,
                                 "n_models": values.values.size, "mean_score": float(values.values.mean())}))
    return rows


def _estimator_rows(metric: str, rows: list[ResultRow], k: int) -> list[ResultRow]:
    variance = {r.extra["source"]: r.extra["variance"] for r in rows}
    if "init" not in variance or "all" not in variance:
        return []
    out = []
    for estimator in estimator_variances(variance, total=variance["all"], k=k):
        rates = detection_rate(estimator, p_better=np.array(P_BETTER), total=variance["all"])
        decisions = decision_rate(estimator, p_better=np.array(DECISION_P), total=variance["all"], gamma=GAMMA)
        out.append(ResultRow(metric, estimator.sd, method="Bouthillier et al. (2021), sources assumed additive",
                             extra={"estimator": estimator.name, "k": k, "variance": estimator.variance,
                                    "fixed_variance": estimator.fixed, "gamma": GAMMA,
                                    **{f"detection_at_{round(100 * p)}": float(rate)
                                       for p, rate in zip(P_BETTER, rates)},
                                    **{f"decision_at_{round(100 * p)}": float(rate)
                                       for p, rate in zip(DECISION_P, decisions)}}))
    return out


def evaluate_sources(maps: str | Path, data_group: str, *, metrics: Sequence[str] | None = None,
                     selection_metric: str = "loss", confidence_level: float = 0.95,
                     plot: bool = True) -> SourcesEvaluation:
    """Standard deviation due to each source of variance of a variance study, on a predicted data group.

    Parameters
    ----------
    maps : str or Path
        A MAPS trained with ``clinicadl train ... --study sources``.
    data_group : str
        A group every replicate predicted (``clinicadl predict MAPS GROUP``).
    metrics : sequence of str, optional
        Default: BA and AUC for a classification, MAE and R2_score for a regression, the per-image values otherwise.
    selection_metric : str, default "loss"
        Which model of each split.
    confidence_level : float, default 0.95
    plot : bool, default True
        Draw ``sources.png``.
    """
    rows_of_study = read_study_tsv(maps)
    procedure = load_procedure(maps, data_group, selection_metric=selection_metric)
    metrics = list(metrics) if metrics else _default_metrics(procedure)
    k = max(1, max(r.member for r in rows_of_study if r.design != "nested") + 1)
    source_rows, estimator_rows, laid_out = [], [], {}
    for metric in metrics:
        values, bounds = crossed_inputs(procedure, metric, laid_out)
        designs = _design_values(rows_of_study, values, procedure.replicates)
        rows = _metric_rows(metric, designs, values, confidence_level, bounds or metric_bounds(metric))
        source_rows += rows
        estimator_rows += _estimator_rows(metric, rows, k)
    n_subjects = int(np.unique(procedure.models[0].predictions.frame["participant_id"]).size)
    size = {"n_subjects": n_subjects, "n_images": len(procedure.models[0].predictions.frame)}
    sources = results_frame(row.with_values(**size) for row in source_rows)
    estimators = results_frame(row.with_values(**size) for row in estimator_rows)
    folder = evaluation_dir(maps, data_group)
    meta = provenance([*study_inputs(procedure), Path(maps) / STUDY_TSV],
                      {"metrics": metrics, "selection_metric": selection_metric,
                       "confidence_level": confidence_level})
    meta |= {"maps": str(maps), "data_group": data_group, "replicates": list(procedure.replicates),
             "reference": "Bouthillier et al. (2021), MLSys 3"}
    written = [write_results(folder / "sources.tsv", sources, meta),
               write_results(folder / "estimators.tsv", estimators, meta)]
    if plot:
        from clinicadl.evaluate.sources_plot import plot_sources

        written.append(plot_sources(sources, folder / "sources.png"))
    return SourcesEvaluation(sources, estimators, tuple(written), len(procedure.models), n_subjects)


def study_inputs(procedure: Procedure) -> list[Path]:
    """The prediction files a variance study's results are computed from (with ``study.tsv``, its inputs)."""
    return [m.predictions.source for m in procedure.models]


def _default_metrics(procedure: Procedure) -> list[str]:
    task = procedure.models[0].predictions.task
    defaults = {"binary": ["BA", "AUC"], "multiclass": ["BA", "AUC"], "regression": ["MAE", "R2_score"]}
    if task in defaults:
        return defaults[task]
    columns = [c for c in procedure.models[0].predictions.frame.columns if c in ("Dice", "SSIM", "MAE")]
    if not columns:
        raise InputError(f"no default metric for a {task} task; give --metrics.")
    return columns


def format_sources(result: SourcesEvaluation) -> str:
    """Console summary: one block per metric, sources by decreasing standard deviation."""
    lines = [f"{result.n_models} trained models, {result.n_participants} test participants."]
    for metric, table in result.sources.groupby("metric", sort=False):
        lines.append(f"\n{metric}: standard deviation of one model's score due to each source")
        for r in table.sort_values("estimate", ascending=False).itertuples():
            interval = f"[{r.ci_low:.4f}, {r.ci_high:.4f}]" if np.isfinite(r.ci_low) else "(no interval)"
            lines.append(f"  {r.source:<14} {r.estimate:.4f}  {interval}  ({r.n_models} models)")
        estimators = result.estimators[result.estimators["metric"] == metric] if len(result.estimators) else []
        for r in getattr(estimators, "itertuples", lambda: [])():
            rate = (f"ranks the better procedure first with probability {r.detection_at_75:.2f} when P(A>B) = 0.75; "
                    f"its P(A>B) test concludes 'A better' with probability {r.decision_at_75:.2f} then, "
                    f"{r.decision_at_50:.2f} when A and B are equal"
                    if np.isfinite(r.detection_at_75) else "no variance between models: no ranking to judge")
            lines.append(f"  {r.estimator:<22} sd {r.estimate:.4f}; {rate}")
    return "\n".join(lines)
