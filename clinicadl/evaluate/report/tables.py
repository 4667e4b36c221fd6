"""The tables of a report: expected performance, variance components, models, settings, seeds, evaluation
options and comparisons, each a :class:`~clinicadl.evaluate.report.contents.Table` of strings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinicadl.evaluate.display import format_number, format_pvalue
from clinicadl.evaluate.report.contents import Comparison, MapsReport, Table

__all__ = [
    "COMPONENT_NAMES",
    "SETTINGS",
    "TOTAL_COMPONENTS",
    "comparison_table",
    "estimators_table",
    "evaluation_table",
    "expected_table",
    "format_ci",
    "level_percent",
    "models_table",
    "seeds_table",
    "settings_table",
    "sources_table",
    "variance_table",
]

SETTINGS = ("network_task", "architecture", "mode", "label", "diagnoses", "validation", "n_splits", "epochs",
            "learning_rate", "optimizer", "weight_decay", "batch_size", "dropout", "data_augmentation",
            "normalize", "selection_metrics", "patience", "seed")
"""Keys of ``maps.json`` shown in the report (those present)."""

COMPONENT_NAMES = {"test_sampling": "test-set sampling", "split": "data split", "seed": "seeds",
                   "split_and_seed": "data split and seeds", "total": "total",
                   "replicate": "replicate (split and seeds)", "participant": "participant (shared test set)",
                   "interaction": "participant x replicate interaction", "one_model": "one trained model (total)"}
TOTAL_COMPONENTS = ("total", "one_model")
"""Names of the total variance of one model (validation folds, shared test group)."""


def format_ci(low, high) -> str:
    """``[low, high]`` with the numbers of the report."""
    return f"[{format_number(low)}, {format_number(high)}]"


def level_percent(frame: pd.DataFrame) -> int:
    """Confidence level of a results table, in percent (95 when empty)."""
    return round(100 * float(frame["confidence"].iloc[0])) if len(frame) else 95


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "none"
    if value in ("", None):
        return "none"
    return str(value)


def settings_table(report: MapsReport) -> Table:
    """Training settings of a MAPS (``maps.json``) and the design of its replicates."""
    p = report.parameters
    replicates = p.get("replicates")
    # with replicates, each replicate has its own seeds (seeds_table): the top-level seed would mislead
    rows = [(key, _value(p[key])) for key in SETTINGS if key in p and not (replicates and key == "seed")]
    if replicates:
        rows += [("replicates", str(replicates.get("count", ""))), ("root_seed", str(replicates.get("root_seed"))),
                 ("varied sources", _value(list(replicates.get("varied_sources", []))))]
    return Table(f"Training settings of {report.name} (maps.json)", ("setting", "value"), tuple(rows))


def evaluation_table(report: MapsReport) -> Table:
    """Options of the evaluation (JSON sidecar): resamples, interval method, level, unit, seed, version, date."""
    meta = report.evaluation
    options = meta.get("options", {})
    rows = [(key, _value(options[key])) for key in ("metrics", "n_resamples", "ci_method", "confidence_level",
                                                   "unit", "stratify", "seed") if key in options]
    rows += [(key, _value(meta[key])) for key in ("command", "clinicadl_version", "date") if meta.get(key)]
    return Table(f"Evaluation settings of {report.name} (JSON sidecar)", ("option", "value"), tuple(rows))


def seeds_table(report: MapsReport) -> Table | None:
    """``replicates.tsv``: one row per replicate with its status and the seed of every source."""
    if report.seeds is None:
        return None
    frame = report.seeds
    return Table(f"Replicates of {report.name} and their seeds (replicates.tsv)", tuple(map(str, frame.columns)),
                 tuple(tuple(map(str, row)) for row in frame.itertuples(index=False)))


def expected_table(report: MapsReport) -> Table | None:
    """Expected performance of a procedure, per metric."""
    frame = report.expected
    if frame is None:
        return None
    level = level_percent(frame)
    rows = [(r.metric, format_number(r.estimate),
             format_ci(r.ci_low, r.ci_high) if np.isfinite(r.ci_low) else "not estimable", format_number(r.se),
             r.method if np.isfinite(r.ci_low) else str(getattr(r, "reason", r.method)),
             f"{r.n_replicates} x {r.n_splits}", str(r.n_subjects)) for r in frame.itertuples()]
    return Table(f"Expected performance of the procedure {report.name} on {report.data_group!r}: a confidence "
                 "interval for a fixed number, the mean over re-runs on the same development sample and over test "
                 "sets from the participant population",
                 ("metric", "estimate", f"{level}% CI", "SE", "method", "replicates x splits", "participants"),
                 tuple(rows))


def variance_table(report: MapsReport) -> Table | None:
    """Variance components between trained models, per metric."""
    frame = report.variance
    if frame is None or not len(frame):
        return None
    level = level_percent(frame)
    # components that the design cannot separate (split and seed when both vary) are NaN: left out
    rows = [(r.metric, COMPONENT_NAMES.get(r.component, r.component), format_number(r.estimate, 5),
             format_number(r.sd), "NaN" if not np.isfinite(r.fraction) else f"{100 * r.fraction:.0f}%",
             format_ci(r.ci_low, r.ci_high) if np.isfinite(r.ci_low) else "not given (not validated)")
            for r in frame.itertuples() if np.isfinite(r.estimate)]
    crossed = "replicate" in set(frame["component"])
    title = (f"Variance of one trained model's value of {report.name}, by source (shares of that variance)" if crossed
             else f"Variance of the metrics between the trained models of {report.name}")
    return Table(title,
                 ("metric", "source", "variance", "SD", "share", f"{level}% CI of the variance"), tuple(rows))


def sources_table(report: MapsReport) -> Table | None:
    """Variance study: the standard deviation of one model's score due to each source, largest first."""
    frame = report.variance_sources
    if frame is None or not len(frame):
        return None
    level = level_percent(frame)
    rows = [(r.metric, str(r.source), format_number(r.estimate, 4),
             format_ci(r.ci_low, r.ci_high) if np.isfinite(r.ci_low) else "no interval", str(r.n_models))
            for r in frame.sort_values(["metric", "estimate"], ascending=[True, False]).itertuples()]
    return Table(f"Variance study of {report.name}: standard deviation of one trained model's score due to each "
                 "source (its models re-draw only that source; Bouthillier et al. 2021)",
                 ("metric", "source", "SD", f"{level}% CI", "models"), tuple(rows))


def estimators_table(report: MapsReport) -> Table | None:
    """Variance study: the estimators of Bouthillier et al. (2021) judged with the measured variances."""
    frame = report.estimators
    if frame is None or not len(frame):
        return None
    decisions = "decision_at_50" in frame
    rows = [(r.metric, str(r.estimator), format_number(r.estimate, 4), format_number(r.fixed_variance, 3),
             f"{r.detection_at_60:.2f} / {r.detection_at_75:.2f} / {r.detection_at_90:.2f}",
             *((f"{r.decision_at_50:.2f}", f"{r.decision_at_60:.2f} / {r.decision_at_75:.2f} / "
                f"{r.decision_at_90:.2f}") if decisions else ()))
            for r in frame.itertuples()]
    columns = ("metric", "estimator", "SD", "fixed variance", "P(A first) at P(A>B) = 0.6 / 0.75 / 0.9")
    if decisions:
        columns += ("P(A>B) test: false detections", "P(A>B) test: detections at 0.6 / 0.75 / 0.9")
    return Table("Estimators of the expected score: their SD, the part of their variance that more models do not "
                 "reduce, how often they rank the better of two procedures first, and how often the P(A>B) test "
                 "(interval above 0.5, reaching gamma = 0.75; Bouthillier et al. 2021) concludes that A is better, "
                 "computed from the measured variances", columns, tuple(rows))


def models_table(report: MapsReport) -> Table:
    """Every trained model's metrics with their test-set intervals."""
    frame = report.models
    level = level_percent(frame)
    rows = []
    for r in frame.to_dict(orient="records"):
        rows.append((str(r.get("replicate", 0)), str(r.get("split", "")), r["metric"], format_number(r["estimate"]),
                     format_ci(r["ci_low"], r["ci_high"]), str(r["method"]), str(r["n_resamples"]),
                     str(r["n_subjects"]), str(r["n_images"])))
    what = "trained models" if report.kind == "procedure" else "trained model"
    return Table(f"Test-set performance of the {what} of {report.name} (participant-level bootstrap)",
                 ("replicate", "split", "metric", "estimate", f"{level}% CI", "method", "resamples", "participants",
                  "images"), tuple(rows))


def comparison_table(comparison: Comparison) -> Table:
    """A comparison's results: tests of procedures, or paired differences of two models."""
    frame = comparison.frame
    rows = []
    if comparison.kind == "procedures":
        for r in frame.to_dict(orient="records"):
            p = r.get("pvalue")
            # P(A>B) and the Bayesian test decide by an interval or posterior probabilities: no p-value to show
            shown = format_pvalue(p) if p is not None and np.isfinite(p) else "- (decided by its interval)"
            scope = r.get("scope") if isinstance(r.get("scope"), str) else ""
            rows.append((f"{r.get('procedure_a', 'A')} vs {r.get('procedure_b', 'B')}", r["metric"], str(r["test"]),
                         format_number(r["estimate"]), format_ci(r["ci_low"], r["ci_high"]), shown, scope,
                         str(r.get("conclusion", "")) if isinstance(r.get("conclusion"), str) else ""))
        header = ("pair", "metric", "test", "estimate", "CI", "p-value", "about", "conclusion")
    else:
        for r in frame.to_dict(orient="records"):
            rows.append((r["metric"], format_number(r.get("estimate_a")), format_number(r.get("estimate_b")),
                         format_number(r["estimate"]), format_ci(r["ci_low"], r["ci_high"]),
                         format_pvalue(r.get("pvalue_bootstrap")), format_pvalue(r.get("pvalue_permutation"))))
        header = ("metric", "A", "B", "A - B", "CI", "p (bootstrap)", "p (permutation)")
    return Table(comparison.title, header, tuple(rows))

