"""Readable console summary of ``clinicadl evaluate procedure``: design, expected performance, variance
components, and what may (and may not) be concluded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clinicadl.evaluate.display import format_number, render_table
from clinicadl.evaluate.procedure_design import estimator_name
from clinicadl.evaluate.procedure_folds import COMPONENTS

if TYPE_CHECKING:
    from clinicadl.evaluate.procedure import ProcedureEvaluation

__all__ = ["format_procedure_summary"]


def format_procedure_summary(result: ProcedureEvaluation) -> str:
    """Readable summary: design, expected performance, variance components, what may be concluded."""
    p = result.procedure
    level = round(float(result.expected["confidence"].iloc[0]) * 100) if len(result.expected) else 95
    first = result.models.iloc[0]
    lines = [
        f"Procedure {p.path} on group {p.data_group!r}: {p.n_replicates} replicate(s) x {p.n_splits} split(s) = "
        f"{len(p.models)} trained models (selection: {p.selection_metric}); varied sources: "
        f"{', '.join(p.varied_sources) or 'none'}; {first['n_subjects']} test participants, "
        f"{first['n_images']} images. Estimator: {estimator_name(p)}.",
        "",
    ]
    crossed = "estimable" in result.expected.columns
    if crossed:
        lines += [f"Expected performance of the procedure ({level}% intervals: replicates, shared test set and their "
                  "interaction):"]
        rows = []
        for r in result.expected.itertuples():
            shown = (f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]" if r.estimable
                     else "none (see below)")
            conditional = f"[{format_number(r.conditional_ci_low)}, {format_number(r.conditional_ci_high)}]"
            rows.append([r.metric, format_number(r.estimate), shown, conditional, _range(result.models, r.metric)])
        lines.append(render_table(["metric", "estimate", f"{level}% CI", "these models only", "models: min - max"],
                                  rows))
    else:
        lines += [f"Expected performance on the validation folds ({level}% intervals):",
                  render_table(["metric", "estimate", f"{level}% CI", "models: min - max", "method"],
                               [[r.metric, format_number(r.estimate),
                                 f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]",
                                 _range(result.models, r.metric), r.method] for r in result.expected.itertuples()])]
    variance = result.variance[result.variance["component"] != "hpo"] if len(result.variance) else result.variance
    if len(variance) and crossed:
        lines += ["", "Variance of one trained model's value, by source, as standard deviations (share):"]
        rows = []
        for metric, frame in variance.groupby("metric", sort=False):
            by = frame.set_index("component")
            rows.append([metric] + [f"{format_number(by.loc[c, 'sd'])} ({_share(by.loc[c, 'fraction'])})"
                                    for c in ("replicate", "participant", "interaction")]
                        + [format_number(by.loc["one_model", "sd"])])
        replicate = "replicate (split + seeds)" if p.split_varied else "replicate (seeds)"
        lines.append(render_table(["metric", replicate, "participant (shared test set)", "interaction",
                                   "one model"], rows))
    elif len(variance):
        lines += ["", "Variance between trained models, as standard deviations (share of the total variance):"]
        rows = []
        for metric, frame in variance.groupby("metric", sort=False):
            by = frame.set_index("component")
            rows.append([metric] + [f"{format_number(by.loc[c, 'sd'])} ({_share(by.loc[c, 'fraction'])})"
                                    for c in COMPONENTS])
        lines.append(render_table(["metric", "test sampling", "split", "seed", "split + seed", "total"], rows))
    hpo = result.variance[result.variance["component"] == "hpo"] if len(result.variance) else result.variance
    if len(hpo):
        lines += ["", "Variance added by re-optimising the hyper-parameters (with hpo minus without), as a "
                  "standard deviation (share of the variance with hpo), with its interval on the variance:"]
        lines.append(render_table(["metric", "hpo", "variance", "interval"], [
            [r.metric, f"{format_number(r.sd)} ({_share(r.fraction)})", format_number(r.estimate),
             f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]"] for r in hpo.itertuples()]))
    resplit = "new splits of the same development sample, new seeds" if p.split_varied else "new seeds, same split"
    lines += ["", "What may be concluded:",
              f"- The {level}% CI is a confidence interval for a fixed number: the mean performance of this learning "
              f"procedure over re-runs ({resplit}) and over test sets of {first['n_subjects']} participants from the "
              "same population. It is not a prediction of what one re-run will give (models vary: see the "
              "replicate component) and it is conditional on this development data set.",
              "- 'These models only' covers test-set sampling only: it is about the mean of these trained models, "
              "not about the procedure.",
              "- The per-model intervals (procedure_models.tsv) say how good each trained model is on this test set.",
              "What may not:",
              "- How well the procedure does on another population, scanner or cohort, or with another development "
              "sample.",
              ]
    return "\n".join(lines)


def _range(models: pd.DataFrame, metric: str) -> str:
    values = models.loc[models["metric"] == metric, "estimate"].to_numpy(float)
    values = values[np.isfinite(values)]
    return f"{format_number(values.min())} - {format_number(values.max())}" if len(values) else "NaN"


def _share(fraction: float) -> str:
    return "NaN" if not np.isfinite(fraction) else f"{100 * fraction:.0f}%"
