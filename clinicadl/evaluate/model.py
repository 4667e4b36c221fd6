"""``clinicadl evaluate model``: how good is THIS trained model? Confidence intervals on its test set.

Only the sampling of the test set varies, so the test set is resampled, participant by participant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.evaluate.figure_jobs import request_figure
from clinicadl.evaluate.inputs import load_models, positive_class, split_value_metrics, to_predictions
from clinicadl.evaluate.provenance import provenance
from clinicadl.evaluate.results import ResultRow, results_frame, write_results
from clinicadl.maps import ModelPredictions, model_ci_path, sidecar_path
from clinicadl.stats import BootstrapResult, bootstrap
from clinicadl.stats.metrics import MEDIAN_SUFFIX


@dataclass(frozen=True)
class EvaluationOptions:
    """Options of an assessment; recorded in the JSON sidecar."""

    metrics: tuple[str, ...] = ()
    n_resamples: int = 10_000
    ci_method: str = "auto"
    confidence_level: float = 0.95
    unit: str = "participant"
    stratify: bool = False
    seed: int = 0


@dataclass(frozen=True)
class ModelEvaluation:
    """Results of ``evaluate model``.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (model, metric): the columns of FORMATS.md section 4 plus ``split``,
        ``selection_metric``, ``data_group``, ``positive_class``, ``unit``, ``n_dropped``,
        ``drop_reason``, ``note`` (a degenerate bootstrap replaced by a closed form, or "not
        estimable" and why) and ``upstream_estimate`` (upstream's point value, where it has one).
    written : tuple of Path
        Results files written (each with its ``.json`` sidecar and a ``.png`` forest plot).
    notes : tuple of str
        Things the user should know (metrics that fell back to another method, images dropped...).
    """

    table: pd.DataFrame
    written: tuple[Path, ...]
    notes: tuple[str, ...]


def _rows(model: ModelPredictions, results: Sequence[BootstrapResult], names: Sequence[str]) -> list[ResultRow]:
    return [
        ResultRow(
            metric=name, estimate=res.estimate, ci_low=res.confidence_interval.low,
            ci_high=res.confidence_interval.high, se=res.standard_error, method=res.method,
            confidence=res.confidence_level, n_resamples=res.n_resamples, n_subjects=model.n_subjects,
            n_images=res.n_rows, seed=res.seed,
            extra={"split": model.split, "selection_metric": model.selection_metric, "data_group": model.data_group,
                   "positive_class": positive_class(model), "unit": res.unit, "n_dropped": res.n_dropped,
                   "drop_reason": res.drop_reason, "note": res.note,
                   "upstream_estimate": model.upstream_metrics.get(name, np.nan)},
        )
        for name, res in zip(names, results)
    ]


def assess_model(model: ModelPredictions, options: EvaluationOptions) -> list[ResultRow]:
    """Rows of the results table of one model (every metric, same resamples for all)."""
    common = {
        "n_resamples": options.n_resamples,
        "confidence_level": options.confidence_level,
        "method": options.ci_method,
        "unit": options.unit,
        "rng": options.seed,
    }
    if model.task != "per_image":
        results = bootstrap(to_predictions(model), metrics=options.metrics or None, stratify=options.stratify, **common)
        return _rows(model, results, [r.metric for r in results])
    rows = []
    for column, names in split_value_metrics(model, options.metrics).items():
        stats = ["median" if n.endswith(MEDIAN_SUFFIX) else "mean" for n in names]
        rows += _rows(model, bootstrap(to_predictions(model, column), metrics=stats, **common), names)
    return rows


def evaluate_model(
    input_path: str | Path,
    data_group: str | None = None,
    *,
    splits: Sequence[int] | None = None,
    selection_metrics: Sequence[str] | None = None,
    options: EvaluationOptions = EvaluationOptions(),
    output: str | Path | None = None,
) -> ModelEvaluation:
    """Confidence intervals of the test performance of trained models.

    Parameters
    ----------
    input_path : str or Path
        A MAPS (ClinicaDL 1.x or 2.0) or a prediction TSV.
    data_group : str, optional
        Data group of the MAPS to evaluate (not needed for a TSV).
    splits, selection_metrics : sequence, optional
        Models of the MAPS to evaluate (default: every split and selection metric with predictions).
    options : EvaluationOptions
    output : str or Path, optional
        One TSV for all models. By default each model's results go next to its predictions
        (``<group>_image_level_metrics_ci.tsv``) and a TSV's beside it (``<name>_metrics_ci.tsv``).

    Returns
    -------
    ModelEvaluation

    Notes
    -----
    The root of a MAPS with replicates (``train --replicates``) holds no model itself: every replicate
    (``replicate-<r>/``, a 1.x MAPS) with predictions on the group is evaluated, and the table gets a
    ``replicate`` column. A prediction TSV inside the installed package (the shipped examples) has its
    results written in the current folder, never into the package.
    """
    from clinicadl.maps.replicate_folders import replicate_folders

    path = Path(input_path)
    if path.is_dir() and not any(path.glob("split-*")) and not any(path.glob("fold-*")):
        folders = replicate_folders(path)
        if folders:
            return _evaluate_replicates(path, folders, data_group, splits=splits,
                                        selection_metrics=selection_metrics, options=options, output=output)
    models, per_model, notes = _assess_models(input_path, data_group, splits=splits,
                                              selection_metrics=selection_metrics, options=options)
    table = pd.concat([frame for _, frame in per_model], ignore_index=True)
    written = []
    meta = asdict(options)
    if output is not None:
        written.append(_write(Path(output), table, [m.source for m in models], meta))
    else:
        for model, frame in per_model:
            if model.maps_version is None:
                target = _outside_package(model.source.with_name(model.source.stem + "_metrics_ci.tsv"), notes)
            else:
                target = model_ci_path(input_path, model.split, model.selection_metric, model.data_group)
            written.append(_write(target, frame, [model.source], meta))
    return ModelEvaluation(table, tuple(written), tuple(dict.fromkeys(notes)))


def _assess_models(input_path: str | Path, data_group: str | None, *, splits: Sequence[int] | None,
                   selection_metrics: Sequence[str] | None, options: EvaluationOptions,
                   ) -> tuple[list[ModelPredictions], list[tuple[ModelPredictions, pd.DataFrame]], list[str]]:
    """The models asked for, their results tables and the notes about them (nothing written)."""
    models = load_models(input_path, data_group, splits=splits, selection_metrics=selection_metrics)
    per_model = [(model, results_frame(assess_model(model, options))) for model in models]
    notes = []
    for model, frame in per_model:
        if model.n_subjects < 10:
            notes.append(f"{model.source}: only {model.n_subjects} participants; intervals from fewer than 10 "
                         "participants are unreliable.")
        for _, row in frame[frame["n_dropped"] > 0].iterrows():
            if np.isnan(row["estimate"]):
                notes.append(f"{row['metric']} is {row['drop_reason']}: no value, no interval.")
            else:
                notes.append(f"{row['metric']}: {row['n_dropped']} of {row['n_resamples']} resamples dropped "
                             f"({row['drop_reason']}); consider --stratify.")
        for _, row in frame[frame["note"] != ""].iterrows():
            notes.append(f"{row['metric']}: {row['note']}.")
        if model.dropped_columns:
            notes.append(f"{model.source}: columns without any value left out: {', '.join(model.dropped_columns)}.")
    return models, per_model, notes


def _outside_package(target: Path, notes: list[str]) -> Path:
    """``target``, or its name in the current folder when it lies inside the installed package."""
    package = Path(__file__).resolve().parents[1]
    if target.resolve().is_relative_to(package):
        moved = Path.cwd() / target.name
        notes.append(f"{target.parent} is inside the installed clinicadl package: results written in the current "
                     f"folder instead ({moved}); choose another place with --output.")
        return moved
    return target


def _evaluate_replicates(path: Path, folders: dict[int, Path], data_group: str | None, *,
                         splits: Sequence[int] | None, selection_metrics: Sequence[str] | None,
                         options: EvaluationOptions, output: str | Path | None) -> ModelEvaluation:
    """Every replicate of a MAPS with replicates that has predictions on ``data_group``."""
    from clinicadl.errors import MAPSError
    from clinicadl.maps import list_data_groups

    if data_group is None:
        raise MAPSError(f"{path} is a MAPS: name the DATA_GROUP to evaluate (e.g. test).")
    groups = {r: set(list_data_groups(folder)) for r, folder in folders.items()}
    with_group = [r for r in folders if data_group in groups[r]]
    if not with_group:
        available = sorted(set().union(*groups.values()))
        raise MAPSError(f"data group {data_group!r} not found in any replicate of MAPS {path}; available data "
                        f"groups: {', '.join(available) or 'none'}; run `clinicadl predict {path} {data_group}` to "
                        "make it.")
    models, per_model, notes = [], [], []
    for r in with_group:
        found, assessed, found_notes = _assess_models(folders[r], data_group, splits=splits,
                                                      selection_metrics=selection_metrics, options=options)
        models += found
        per_model += [(model, frame.assign(replicate=r)) for model, frame in assessed]
        notes += found_notes
    missing = [r for r in folders if r not in with_group]
    if missing:
        notes.append(f"replicates {', '.join(map(str, missing))} have no predictions on {data_group!r}; run "
                     f"`clinicadl predict {path} {data_group}` again.")
    notes.append(f"{path} has {len(folders)} replicates: each was evaluated on its own; for the performance of the "
                 f"learning procedure use `clinicadl evaluate procedure {path} {data_group}`.")
    table = pd.concat([frame for _, frame in per_model], ignore_index=True)
    meta = asdict(options)
    if output is not None:
        written = [_write(Path(output), table, [m.source for m in models], meta)]
    else:
        written = [_write(model_ci_path(folders[int(frame["replicate"].iloc[0])], m.split, m.selection_metric,
                                        m.data_group), frame, [m.source], meta) for m, frame in per_model]
    return ModelEvaluation(table, tuple(written), tuple(dict.fromkeys(notes)))


def _write(path: Path, frame: pd.DataFrame, inputs: Sequence[Path], options: dict) -> Path:
    """Results TSV, JSON sidecar and forest plot (drawn as :func:`.figure_jobs.figure_mode` says): all three, or
    none (a full disk removes those written)."""
    written: list[Path] = []
    try:
        written += [write_results(path, frame, provenance(inputs, options)), sidecar_path(path)]
        request_figure("model_intervals", [path], path.with_suffix(".png"))
    except BaseException:
        for done in written:
            done.unlink(missing_ok=True)
        raise
    return path
