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

import numpy as np
import pandas as pd
from scipy import stats as sps

from clinicadl.errors import InputError
from clinicadl.evaluate.display import format_number, render_table
from clinicadl.evaluate.model import EvaluationOptions, assess_model
from clinicadl.evaluate.procedure_expected import (
    COMPONENT_CAPTION,
    COMPONENT_INTERVALS_NOTE,
    WHAT_IT_IS,
    component_rows,
    crossed_results,
    expected_rows,
)
from clinicadl.evaluate.procedure_inputs import Procedure, load_procedure
from clinicadl.evaluate.provenance import provenance
from clinicadl.maps import evaluation_dir, sidecar_path, write_json_sidecar, write_results_tsv
from clinicadl.stats.metrics import higher_is_better, lower_is_better_names

__all__ = [
    "LOWER_IS_BETTER",
    "ProcedureEvaluation",
    "evaluate_procedure",
    "format_procedure_summary",
    "higher_is_better",
    "model_table",
]

LOWER_IS_BETTER = lower_is_better_names()
"""Metrics (and per-image columns) for which a lower value is better, from the metric registry."""

CV_METHOD = "corrected repeated k-fold t"
"""Interval of the expected performance on validation folds (Nadeau & Bengio 2003; Bouckaert & Frank 2004)."""

NESTED_CV_NOTE = (
    "The nested-CV interval of Bates et al. (2023) needs, for every repetition, a model trained without each pair "
    "of folds (K(K-1)/2 more trainings); this MAPS holds the K models of each repetition only. For learners that "
    "can be refit (e.g. on extracted features), clinicadl.stats.nested_cv computes it (docs/procedures.md)."
)

FIXHOPT_NOTE = (
    "Only the seeds varied, not the data split: this estimate of the procedure's variance is biased low "
    "(Bouthillier et al. 2021 call it FixHOptEst(k, Init)); train with --vary split (the default) to include "
    "the variance due to the data split."
)
FEW_REPLICATES_NOTE = (
    "With {r} replicates the variance between replicates has {df} degrees of freedom: the interval of the expected "
    "performance is wide, and conservative when the replicates differ little (docs/validation.md); about 10 "
    "replicates bring it near its ideal width."
)
HPO_NOTE = ("The hyper-parameters were fixed (source 'hpo' not varied): the results are conditional on them and do "
            "not include the variance of their choice.")


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


# ----------------------------------------------------------------------------------------------- per model


def model_table(procedure: Procedure, options: EvaluationOptions) -> pd.DataFrame:
    """Metrics of every trained model with their test-set intervals (:func:`assess_model`, same seed for all)."""
    frames = []
    for model in procedure.models:
        frame = pd.DataFrame(assess_model(model.predictions, options))
        frame.insert(len(frame.columns), "replicate", model.replicate)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["procedure"] = str(procedure.path)
    return table


def unit_values(table: pd.DataFrame, metric: str, procedure: Procedure) -> tuple[np.ndarray, np.ndarray]:
    """Values and test-sampling variances (SE^2) of one metric, one per model, in ``procedure.models`` order."""
    rows = table[table["metric"] == metric].set_index(["replicate", "split"])
    keys = [(m.replicate, m.split) for m in procedure.models]
    return rows.loc[keys, "estimate"].to_numpy(float), rows.loc[keys, "se"].to_numpy(float) ** 2


# ------------------------------------------------------------------------------------ expected performance


def _mean_size(sizes: list[int | None]) -> float | None:
    known = [s for s in sizes if s]
    return float(np.mean(known)) if known and len(known) == len(sizes) else None


def cross_validation_performance(procedure: Procedure, table: pd.DataFrame, options: EvaluationOptions
                                 ) -> tuple[pd.DataFrame, list[str]]:
    """Expected performance from the validation folds: corrected repeated k-fold t-interval per metric.

    The ``J = R K`` fold scores of ``R`` repetitions of a K-fold cross-validation share training data, so the
    variance of their mean is not ``s^2 / J`` but about ``(1 / J + n_test / n_train) s^2`` (Nadeau & Bengio
    2003), with Student's t on ``J - 1`` degrees of freedom (Bouckaert & Frank 2004). ``n_train`` and
    ``n_test`` are the participants of ``groups/train`` and ``groups/validation`` (mean over the models), or
    the K-fold ratio ``1 / (K - 1)`` when the MAPS does not list them. The naive interval ``s / sqrt(J)`` is
    given beside it (``naive_ci_low``, ``naive_ci_high``) to show how much it under-states the uncertainty.
    """
    rows, notes = [], [NESTED_CV_NOTE]
    n_train = _mean_size([m.n_train for m in procedure.models])
    n_test = _mean_size([m.n_validation for m in procedure.models])
    if n_train is None or n_test is None:
        if procedure.n_splits < 2:
            return pd.DataFrame(rows), ["The train/validation sizes are not listed in groups/ of the MAPS and there "
                                        "is one split: no corrected interval on the validation folds."]
        ratio = 1.0 / (procedure.n_splits - 1)
        notes.append(f"groups/ does not list the train/validation sizes: n_test / n_train = 1 / (K - 1) = {ratio:.3g}.")
    else:
        ratio = n_test / n_train
    scored = pd.concat([m.predictions.frame[["participant_id", "session_id"]] for m in procedure.models])
    n_subjects, n_images = int(scored["participant_id"].nunique()), len(scored.drop_duplicates())
    for metric in dict.fromkeys(table["metric"]):
        values, _ = unit_values(table, metric, procedure)
        values = values[np.isfinite(values)]
        if values.size < 2:
            notes.append(f"{metric}: fewer than two folds with a value: no corrected interval.")
            continue
        j, mean, variance = values.size, float(values.mean()), float(values.var(ddof=1))
        quantile = sps.t.ppf(0.5 + options.confidence_level / 2, j - 1)
        se, naive_se = float(np.sqrt((1 / j + ratio) * variance)), float(np.sqrt(variance / j))
        rows.append({"metric": metric, "estimate": mean, "ci_low": mean - quantile * se,
                     "ci_high": mean + quantile * se, "se": se, "method": CV_METHOD,
                     "confidence": options.confidence_level, "n_resamples": 0,
                     "n_subjects": n_subjects, "n_images": n_images, "seed": options.seed,
                     "n_replicates": procedure.n_replicates, "n_splits": procedure.n_splits, "n_folds_scored": j,
                     "test_train_ratio": ratio, "naive_ci_low": mean - quantile * naive_se,
                     "naive_ci_high": mean + quantile * naive_se, "higher_is_better": higher_is_better(metric),
                     "procedure": str(procedure.path), "data_group": procedure.data_group,
                     "selection_metric": procedure.selection_metric, "two_level_estimate": np.nan})
    notes.append("On the validation folds, the interval is the corrected repeated k-fold t-interval (Nadeau & Bengio "
                 "2003; Bouckaert & Frank 2004); the naive t-interval over the fold scores, given beside it "
                 "(naive_ci_low, naive_ci_high), ignores the overlap of the training sets and is too narrow. Fold "
                 "scores also served to select the models (best-<metric>): a test group gives an unbiased estimate.")
    return pd.DataFrame(rows), notes


def _base(procedure: Procedure, table: pd.DataFrame, options: EvaluationOptions) -> dict:
    return {"confidence": options.confidence_level, "n_subjects": int(table["n_subjects"].iloc[0]),
            "n_images": int(table["n_images"].iloc[0]), "seed": options.seed, "n_splits": procedure.n_splits,
            "procedure": str(procedure.path), "data_group": procedure.data_group,
            "selection_metric": procedure.selection_metric}


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


# ----------------------------------------------------------------------------------- variance components


def _decompose(values: np.ndarray, partitions: np.ndarray, variances: np.ndarray, options: EvaluationOptions):
    from clinicadl.stats.variance_components import variance_components

    return variance_components(values, partitions, variances, confidence_level=options.confidence_level,
                               n_resamples=options.n_resamples, rng=options.seed)


COMPONENTS = ("test_sampling", "split", "seed", "split_and_seed", "total")


def variance_table(procedure: Procedure, table: pd.DataFrame, options: EvaluationOptions
                   ) -> tuple[pd.DataFrame, list[str]]:
    """Variance components of every metric (empty when there is a single model)."""
    rows, notes = [], {}
    if len(procedure.models) < 2:
        return pd.DataFrame(rows), ["One trained model only: no variance between models to decompose."]
    partitions = procedure.partition_ids()
    for metric in dict.fromkeys(table["metric"]):
        values, variances = unit_values(table, metric, procedure)
        keep = np.isfinite(values) & np.isfinite(variances)
        if keep.sum() < 2:
            continue
        result = _decompose(values[keep], partitions[keep], variances[keep], options)
        if result.note:
            notes.setdefault(result.note, []).append(metric)
        for component in COMPONENTS:
            estimate = float(getattr(result, component))
            low, high = result.intervals[component]
            fraction = estimate / result.total if result.total > 0 else np.nan
            rows.append({"metric": metric, "estimate": estimate, "ci_low": low, "ci_high": high,
                         "se": np.nan, "method": f"ANOVA components, bootstrap over {result.resampling_unit}s",
                         "confidence": options.confidence_level, "n_resamples": result.n_resamples,
                         "n_subjects": int(table["n_subjects"].iloc[0]),
                         "n_images": int(table["n_images"].iloc[0]), "seed": options.seed,
                         "component": component, "fraction": fraction, "sd": float(np.sqrt(max(estimate, 0.0))),
                         "n_replicates": result.n_replicates, "n_splits": result.n_splits,
                         "procedure": str(procedure.path), "data_group": procedure.data_group})
    return pd.DataFrame(rows), [f"Variance components of {', '.join(m)}: {n}" for n, m in notes.items()]


def hpo_variance(procedure: Procedure, table: pd.DataFrame, reference: str | Path, options: EvaluationOptions
                 ) -> tuple[pd.DataFrame, list[str]]:
    """Variance due to the hyper-parameter choice: procedure with ``hpo`` varied against one without.

    Both procedures vary the same other sources (train them with the same ``--root_seed`` and ``--vary``, adding
    ``hpo`` to one); the difference of the variances of their trained models' metric estimates the variance that
    re-optimising the hyper-parameters adds (Bouthillier et al. 2021). The interval is a percentile bootstrap
    over the replicates of each MAPS, resampled independently (conservative for paired seeds).
    """
    from clinicadl.evaluate.procedure_inputs import check_same_test_images

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
    base_table = model_table(base, options)
    rng = np.random.default_rng(options.seed)
    rows = []
    for metric in dict.fromkeys(table["metric"]):
        values = [unit_values(t, metric, p)[0] for t, p in ((table, procedure), (base_table, base))]
        replicates = [np.array([m.replicate for m in p.models]) for p in (procedure, base)]
        per_replicate = [np.array([v[r == k].mean() for k in np.unique(r)]) for v, r in zip(values, replicates)]
        if min(len(v) for v in per_replicate) < 2:
            continue
        observed = [float(np.var(v, ddof=1)) for v in per_replicate]
        boot = []
        for v in per_replicate:  # two MAPS, not resamples: each bootstrap below is one vectorised draw
            index = rng.integers(0, len(v), size=(options.n_resamples, len(v)))
            boot.append(np.var(v[index], axis=1, ddof=1))
        difference = boot[0] - boot[1]
        low, high = np.quantile(difference, [(1 - options.confidence_level) / 2, (1 + options.confidence_level) / 2])
        estimate = observed[0] - observed[1]
        rows.append({"metric": metric, "estimate": estimate, "ci_low": float(low), "ci_high": float(high),
                     "se": float(np.std(difference, ddof=1)),
                     "method": "difference of between-replicate variances, bootstrap over replicates",
                     "confidence": options.confidence_level, "n_resamples": options.n_resamples,
                     "n_subjects": int(table["n_subjects"].iloc[0]), "n_images": int(table["n_images"].iloc[0]),
                     "seed": options.seed, "component": "hpo",
                     "fraction": estimate / observed[0] if observed[0] > 0 else np.nan,
                     "sd": float(np.sqrt(max(estimate, 0.0))), "n_replicates": len(per_replicate[0]),
                     "n_splits": procedure.n_splits, "procedure": str(procedure.path),
                     "data_group": procedure.data_group, "reference": str(base.path),
                     "variance_with_hpo": observed[0], "variance_without_hpo": observed[1]})
    note = (f"Hyper-parameter variance: between-replicate variance of {procedure.path} (hpo re-optimised) minus that "
            f"of {base.path} (hpo fixed); fraction = its share of the variance with hpo.")
    return pd.DataFrame(rows), [note]


# -------------------------------------------------------------------------------------------------- main


def estimator_name(procedure: Procedure) -> str:
    """Which estimator of Bouthillier et al. (2021) the replicates of a MAPS implement.

    ``IdealEst`` re-draws every source, hyper-parameter choice included; ``FixHOptEst(k, All)`` re-draws every
    source but the hyper-parameters (fixed once); ``FixHOptEst(k, Init)`` re-draws the seeds only (one data split);
    a single replicate is one run.
    """
    varied = set(procedure.varied_sources)
    if procedure.n_replicates < 2 or not varied:
        return "single run (no replicates)"
    if "hpo" in varied and "split" in varied:
        return "IdealEst (every source re-drawn, hyper-parameters re-optimised per replicate)"
    if "split" in varied:
        return "FixHOptEst(k, All) (hyper-parameters fixed; every other source re-drawn)"
    return "FixHOptEst(k, Init) (one data split and fixed hyper-parameters; seeds re-drawn)"


def design_notes(procedure: Procedure) -> list[str]:
    """What the design of the replicates allows to conclude."""
    notes = list(procedure.notes)
    if procedure.n_replicates == 1:
        notes.append("One replicate only: the intervals include the test-set sampling and the differences between "
                     "splits, not the variability of training; train with --replicates to assess the procedure.")
    elif not procedure.split_varied:
        notes.append(FIXHOPT_NOTE)
    if procedure.replicated and "hpo" not in procedure.varied_sources:
        notes.append(HPO_NOTE)
    return notes


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
        write_table(folder / "procedure_models.tsv", table, meta),
        write_table(folder / "procedure_expected.tsv", expected, meta),
    ]
    if len(variance):
        written.append(write_table(folder / "procedure_variance.tsv", variance, meta))
    if plots:
        from clinicadl.evaluate.procedure_plots import plot_replicate_forest, plot_variance_components

        written.append(plot_replicate_forest(table, expected, folder / "procedure_models.png"))
        if len(variance):
            written.append(plot_variance_components(variance, folder / "procedure_variance.png"))
    return ProcedureEvaluation(table, variance, expected, procedure, tuple(written), tuple(dict.fromkeys(notes)))


def design_record(procedure: Procedure) -> dict:
    """The design of the replicates, for the JSON sidecar."""
    return {"maps": str(procedure.path), "replicates": list(procedure.replicates), "splits": list(procedure.splits),
            "varied_sources": list(procedure.varied_sources), "seeds": procedure.seeds,
            "selection_metric": procedure.selection_metric, "data_group": procedure.data_group,
            "estimator": estimator_name(procedure)}


def write_table(path: Path, frame: pd.DataFrame, meta: dict) -> Path:
    """Results TSV + JSON sidecar (FORMATS.md section 4)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_results_tsv(path, frame)
    write_json_sidecar(sidecar_path(path), meta)
    return path


# ------------------------------------------------------------------------------------------------ console


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
