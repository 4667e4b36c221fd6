"""``clinicadl evaluate report``: one file that gathers what a paper needs about one or more MAPS.

The report reads the results that ``clinicadl evaluate`` wrote into each MAPS (FORMATS.md section 4) and the
settings and seeds of its training (``maps.json``, ``replicates.tsv``); it never re-derives a number that is
already on disk, so every figure of the report equals the results TSV it comes from. What is missing is
computed once with the library defaults and written into the MAPS, where later runs find it:

- a MAPS with two or more trained models (replicates, or several splits) without
  ``evaluation/<group>/procedure_expected.tsv``: :func:`~clinicadl.evaluate.procedure.evaluate_procedure`;
- a MAPS with one trained model without its ``<group>_image_level_metrics_ci.tsv``:
  :func:`~clinicadl.evaluate.model.evaluate_model`;
- two or more MAPS with two or more models each, without a comparison of them in the first MAPS:
  :func:`~clinicadl.evaluate.compare_procedures.compare_procedures`.

With ``compute=False`` nothing is computed and a missing result is an error. Comparisons already present in
``evaluation/<group>/`` (``compare_procedures_*.tsv``, ``comparison_*.tsv``) are always included.

The HTML report is one self-contained file: the figures are embedded as base64 data URIs, the style sheet is
inline, there is no JavaScript and no external URL. The Markdown report links its figures, copied into a
folder beside it. Both end with a methods paragraph in words, with the numbers, and a LaTeX table (booktabs).

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Efron B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
Varoquaux G., Colliot O. (2023). Evaluating machine learning models and their diagnostic value. In Machine
Learning for Brain Disorders, Springer, 601-630.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

import clinicadl
from clinicadl.atomic import atomic_write_bytes, atomic_write_text
from clinicadl.errors import InputError, MAPSError
from clinicadl.evaluate.display import format_number, format_pvalue
from clinicadl.evaluate.provenance import stale_message, stale_reasons
from clinicadl.maps import evaluation_dir, read_results_tsv, sidecar_path

__all__ = [
    "FORMATS",
    "Comparison",
    "Figure",
    "MapsReport",
    "Report",
    "Table",
    "collect_report",
    "latex_table",
    "methods_paragraph",
    "render_html",
    "render_markdown",
    "write_report",
]

FORMATS = ("html", "md")
"""Output formats of :func:`write_report`."""

METRIC_NAMES = {
    "BA": "balanced accuracy", "accuracy": "accuracy", "AUC": "area under the ROC curve (AUC)",
    "F1_score": "F1 score", "sensitivity": "sensitivity", "specificity": "specificity",
    "PPV": "positive predictive value", "NPV": "negative predictive value",
    "MCC": "Matthews correlation coefficient", "MK": "markedness", "LR_plus": "positive likelihood ratio",
    "LR_minus": "negative likelihood ratio", "R2_score": "R2", "MAE": "mean absolute error",
    "RMSE": "root mean squared error", "PSNR": "PSNR", "SSIM": "SSIM", "Dice": "Dice coefficient",
    "IoU": "intersection over union", "HD95": "95th percentile Hausdorff distance",
    "NSD": "normalised surface Dice",
}
"""Names of the metrics in the methods paragraph."""

SETTINGS = ("network_task", "architecture", "mode", "label", "diagnoses", "validation", "n_splits", "epochs",
            "learning_rate", "optimizer", "weight_decay", "batch_size", "dropout", "data_augmentation",
            "normalize", "selection_metrics", "patience", "seed")
"""Keys of ``maps.json`` shown in the report (those present)."""

HEADLINE_METRICS = ("BA", "AUC", "MAE", "R2_score", "Dice", "HD95", "SSIM")
"""Metrics that the methods paragraph and the LaTeX table report when present (else the first two)."""

SOURCE_NAMES = {"split": "the training/validation split", "init": "the initial weights", "order": "the batch order",
                "augmentation": "the random augmentation", "dropout": "the dropout masks",
                "hpo": "the hyper-parameter search"}
"""Sources of variance (FORMATS.md section 4) in words."""

COMPONENT_NAMES = {"test_sampling": "test-set sampling", "split": "data split", "seed": "seeds",
                   "split_and_seed": "data split and seeds", "total": "total",
                   "replicate": "replicate (split and seeds)", "participant": "participant (shared test set)",
                   "interaction": "participant x replicate interaction", "one_model": "one trained model (total)"}
TOTAL_COMPONENTS = ("total", "one_model")
"""Names of the total variance of one model (validation folds, shared test group)."""

REFERENCES = (
    "Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.",
    "Brown L. D., Cai T. T., DasGupta A. (2001). Interval estimation for a binomial proportion. Statistical "
    "Science 16(2), 101-133.",
    "Clopper C. J., Pearson E. S. (1934). The use of confidence or fiducial limits illustrated in the case of the "
    "binomial. Biometrika 26(4), 404-413.",
    "Efron B. (1987). Better bootstrap confidence intervals. Journal of the American Statistical Association "
    "82(397), 171-185.",
    "Nadeau C., Bengio Y. (2003). Inference for the generalization error. Machine Learning 52(3), 239-281.",
    "Newcombe R. G. (2006). Confidence intervals for an effect size measure based on the Mann-Whitney statistic. "
    "Part 2: asymptotic methods and evaluation. Statistics in Medicine 25(4), 559-573.",
    "Varoquaux G., Colliot O. (2023). Evaluating machine learning models and their diagnostic value. In Machine "
    "Learning for Brain Disorders, Springer, 601-630.",
    "Searle S. R., Casella G., McCulloch C. E. (1992). Variance Components. Wiley, chapter 4.",
    "Owen A. B. (2007). The pigeonhole bootstrap. Annals of Applied Statistics 1(2), 386-411.",
    "Satterthwaite F. E. (1946). An approximate distribution of estimates of variance components. Biometrics "
    "Bulletin 2(6), 110-114.",
    "Wilson E. B. (1927). Probable inference, the law of succession, and statistical inference. Journal of the "
    "American Statistical Association 22(158), 209-212.",
    "Zou G. Y., Donner A. (2008). Construction of confidence intervals for a function of parameters using MOVER. "
    "Statistical Methods in Medical Research 17(5), 527-540.",
)


# ------------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Table:
    """A table ready to render: a caption, a header and rows of strings."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Figure:
    """A PNG written by ``clinicadl evaluate``, with its caption."""

    caption: str
    path: Path


@dataclass(frozen=True)
class Comparison:
    """A comparison found (or computed) in ``evaluation/<group>/`` of a MAPS.

    Attributes
    ----------
    title : str
    kind : str
        ``"procedures"`` (``compare_procedures_*.tsv``) or ``"models"`` (``comparison_*.tsv``).
    frame : pandas.DataFrame
        The results TSV as written.
    source : Path
    figures : tuple of Figure
    """

    title: str
    kind: str
    frame: pd.DataFrame
    source: Path
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class MapsReport:
    """What the report says about one MAPS.

    Attributes
    ----------
    path : Path
    data_group, selection_metric : str
    kind : str
        ``"procedure"`` (two or more trained models) or ``"model"`` (one trained model).
    parameters : dict
        ``maps.json`` (with the ``replicates`` record when there are replicates).
    seeds : pandas.DataFrame or None
        ``replicates.tsv``; None for a MAPS without replicates.
    expected, variance : pandas.DataFrame or None
        ``procedure_expected.tsv`` and ``procedure_variance.tsv`` (procedures only).
    models : pandas.DataFrame
        Every trained model's metrics with their intervals (``procedure_models.tsv`` or the model's
        ``<group>_image_level_metrics_ci.tsv``).
    evaluation : dict
        The JSON sidecar of the main results file (command, version, date, options).
    figures : tuple of Figure
    sources : tuple of Path
        Results TSVs read.
    computed : tuple of Path
        Results files computed for the report (empty when everything was on disk).
    """

    path: Path
    data_group: str
    selection_metric: str
    kind: str
    parameters: dict
    seeds: pd.DataFrame | None
    expected: pd.DataFrame | None
    variance: pd.DataFrame | None
    models: pd.DataFrame
    evaluation: dict
    figures: tuple[Figure, ...]
    sources: tuple[Path, ...]
    computed: tuple[Path, ...] = ()
    label: str = ""
    """Name in the report: the folder name, or the part of the path that tells it from the other MAPS."""

    @property
    def name(self) -> str:
        return self.label or self.path.resolve().name

    @property
    def varied_sources(self) -> tuple[str, ...]:
        return tuple(self.parameters.get("replicates", {}).get("varied_sources", ()))

    @property
    def n_replicates(self) -> int:
        return int(self.models["replicate"].nunique()) if "replicate" in self.models else 1

    @property
    def n_splits(self) -> int:
        return int(self.models["split"].nunique()) if "split" in self.models else 1


@dataclass(frozen=True)
class Report:
    """Everything the report shows.

    Attributes
    ----------
    maps : tuple of MapsReport
    comparisons : tuple of Comparison
    created : str
        UTC date of the report.
    version : str
        clinicadl version.
    notes : tuple of str
    """

    maps: tuple[MapsReport, ...]
    comparisons: tuple[Comparison, ...]
    created: str
    version: str
    notes: tuple[str, ...] = field(default=())


# ----------------------------------------------------------------------------------------------- reading


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON ({error.msg}, line {error.lineno}); delete it and run "
                         "`clinicadl evaluate` again.") from None


def _maps_parameters(path: Path) -> dict:
    if not path.is_dir():
        raise MAPSError(f"{path} is not a folder: give the MAPS folder written by `clinicadl train`.")
    if (path / "maps.json").is_file():
        parameters = _read_json(path / "maps.json")
        first = path / "replicate-0" / "maps.json"
        if "replicates" in parameters and first.is_file():
            # the root maps.json holds the shared parameters; replicate 0's fills in what it leaves out
            parameters = {**_read_json(first), **parameters}
        return parameters
    if (path / "model.json").is_file():
        return _read_json(path / "model.json")
    raise MAPSError(f"{path} is not a MAPS (no maps.json or model.json): give the output folder of "
                    "`clinicadl train`.")


def _read_seeds(path: Path) -> pd.DataFrame | None:
    tsv = path / "replicates.tsv"
    if not tsv.is_file():
        return None
    frame = pd.read_csv(tsv, sep="\t", dtype={"error": str})
    return frame.drop(columns=[c for c in ("error",) if c in frame])


def _figure(path: Path, caption: str) -> tuple[Figure, ...]:
    return (Figure(caption, path),) if path.is_file() else ()


def _model_ci_files(path: Path, data_group: str, selection_metric: str) -> list[Path]:
    name = f"{data_group}_image_level_metrics_ci.tsv"
    patterns = [f"split-*/best-{selection_metric}/{data_group}/{name}",
                f"fold-*/best-{selection_metric}/{data_group}/{name}",
                f"replicate-*/split-*/best-{selection_metric}/{data_group}/{name}"]
    return sorted({p for pattern in patterns for p in path.glob(pattern)})


def _count_models(path: Path, data_group: str, selection_metric: str) -> int:
    from clinicadl.evaluate.procedure_inputs import load_procedure

    return len(load_procedure(path, data_group, selection_metric=selection_metric).models)


def _procedure_report(path: Path, data_group: str, selection_metric: str, parameters: dict,
                      computed: tuple[Path, ...]) -> MapsReport:
    folder = evaluation_dir(path, data_group)
    expected_tsv, variance_tsv, models_tsv = (folder / f"procedure_{n}.tsv" for n in ("expected", "variance",
                                                                                      "models"))
    if variance_tsv.is_file() and _recorded_inputs(variance_tsv) != _recorded_inputs(expected_tsv):
        variance_tsv = folder / "procedure_variance.tsv.stale"  # left by an earlier run on other predictions
    sources = [p for p in (expected_tsv, variance_tsv, models_tsv) if p.is_file()]
    variance = read_results_tsv(variance_tsv) if variance_tsv.is_file() else None
    figures = (_figure(folder / "procedure_models.png", "Every trained model with its test-set interval, and "
                       "the expected performance of the procedure.")
               + _figure(folder / "procedure_variance.png", "Variance between trained models, by source."))
    return MapsReport(path, data_group, selection_metric, "procedure", parameters, _read_seeds(path),
                      read_results_tsv(expected_tsv), variance, read_results_tsv(models_tsv),
                      _read_json(sidecar_path(expected_tsv)), figures, tuple(sources), computed)


def _recorded_inputs(results: Path) -> set[tuple[str, str]]:
    return {(str(r.get("path")), str(r.get("sha256"))) for r in _read_json(sidecar_path(results)).get("inputs", [])}


def _model_report(path: Path, data_group: str, selection_metric: str, parameters: dict, files: list[Path],
                  computed: tuple[Path, ...]) -> MapsReport:
    models = read_results_tsv(files[0])
    figures = _figure(files[0].with_suffix(".png"), "The trained model's metrics with their intervals.")
    return MapsReport(path, data_group, selection_metric, "model", parameters, _read_seeds(path), None, None,
                      models, _read_json(sidecar_path(files[0])), figures, (files[0],), computed)


def _procedure_sources(path: Path, data_group: str, selection_metric: str) -> list[Path]:
    """The prediction files a procedure evaluation of ``path`` is computed from now (finished replicates)."""
    from clinicadl.evaluate.procedure_inputs import load_procedure

    return [m.predictions.source for m in load_procedure(path, data_group, selection_metric=selection_metric).models]


def _recorded_options(results: Path):
    """The evaluation options recorded in the sidecar of ``results`` (defaults for those it lacks)."""
    from dataclasses import fields

    from clinicadl.evaluate.model import EvaluationOptions

    recorded = _read_json(sidecar_path(results)).get("options", {})
    names = {f.name for f in fields(EvaluationOptions)}
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in recorded.items() if k in names}
    try:
        return EvaluationOptions(**values)
    except (TypeError, ValueError):
        return EvaluationOptions()


def _stale_procedure(path: Path, data_group: str, selection_metric: str) -> tuple[Path, tuple[str, ...]]:
    """The first results file of ``evaluation/<group>/`` that does not describe the current predictions."""
    folder = evaluation_dir(path, data_group)
    current = _procedure_sources(path, data_group, selection_metric)
    for name in ("procedure_expected.tsv", "procedure_models.tsv"):
        reasons = stale_reasons(folder / name, current)
        if reasons:
            return folder / name, reasons
    return folder / "procedure_expected.tsv", ()


def _collect_maps(path: Path, data_group: str, selection_metric: str, compute: bool) -> MapsReport:
    parameters = _maps_parameters(path)
    expected_tsv = evaluation_dir(path, data_group) / "procedure_expected.tsv"
    if expected_tsv.is_file():
        stale, reasons = _stale_procedure(path, data_group, selection_metric)
        if not reasons:
            return _procedure_report(path, data_group, selection_metric, parameters, ())
        command = f"clinicadl evaluate procedure {path} {data_group}"
        if not compute:
            raise InputError(stale_message(stale, reasons, command) + " (or drop --no-compute)")
        from clinicadl.evaluate.procedure import evaluate_procedure

        result = evaluate_procedure(path, data_group, selection_metric=selection_metric,
                                    options=_recorded_options(expected_tsv))
        return _procedure_report(path, data_group, selection_metric, parameters, result.written)
    files = _model_ci_files(path, data_group, selection_metric)
    stale = [f for f in files if stale_reasons(f)]
    if stale and not compute:
        command = f"clinicadl evaluate model {path} {data_group}"
        raise InputError(stale_message(stale[0], stale_reasons(stale[0]), command) + " (or drop --no-compute)")
    if stale and len(files) == 1:
        from clinicadl.evaluate.model import evaluate_model

        result = evaluate_model(path, data_group, selection_metrics=[selection_metric],
                                options=_recorded_options(files[0]))
        files = [p for p in result.written if p.suffix == ".tsv"]
        return _model_report(path, data_group, selection_metric, parameters, files, tuple(result.written))
    if not compute:
        if len(files) == 1:
            return _model_report(path, data_group, selection_metric, parameters, files, ())
        raise InputError(
            f"{path} has no results of `clinicadl evaluate procedure` on group {data_group!r} ({expected_tsv} "
            f"not found){'' if not files else f' but {len(files)} trained models'}: run `clinicadl evaluate "
            f"procedure {path} {data_group}` (or `evaluate model` for a single model), or drop --no-compute.")
    if _count_models(path, data_group, selection_metric) >= 2:
        from clinicadl.evaluate.procedure import evaluate_procedure

        result = evaluate_procedure(path, data_group, selection_metric=selection_metric)
        return _procedure_report(path, data_group, selection_metric, parameters, result.written)
    if not files:
        from clinicadl.evaluate.model import evaluate_model

        result = evaluate_model(path, data_group, selection_metrics=[selection_metric])
        files = [p for p in result.written if p.suffix == ".tsv"]
        return _model_report(path, data_group, selection_metric, parameters, files, tuple(result.written))
    return _model_report(path, data_group, selection_metric, parameters, files, ())


def _comparison_name(paths: Sequence[Path]) -> str:
    from clinicadl.evaluate.naming import comparison_file_name

    return comparison_file_name(paths)


def _comparison_stale(tsv: Path, data_group: str) -> tuple[str, ...]:
    """Why a comparison no longer matches the predictions of the MAPS it compared (empty: it does)."""
    reasons = stale_reasons(tsv)
    if reasons:
        return reasons
    designs = _read_json(sidecar_path(tsv)).get("designs", [])
    current = []
    for design in designs:
        try:
            current += _procedure_sources(Path(design["maps"]), data_group, design.get("selection_metric", "loss"))
        except (KeyError, TypeError, InputError, MAPSError) as error:
            return (f"the procedure it compared can no longer be read ({error})",)
    return stale_reasons(tsv, current) if current else ()


def _existing_comparisons(report: MapsReport, notes: list[str] | None = None) -> list[Comparison]:
    folder = evaluation_dir(report.path, report.data_group)
    found = []
    for tsv in sorted(folder.glob("compare_procedures_*.tsv")):
        if tsv.stem.endswith("_ranks"):
            continue
        reasons = _comparison_stale(tsv, report.data_group)
        if reasons:
            if notes is not None:
                notes.append("Left out: " + stale_message(tsv, reasons, "clinicadl evaluate compare A B ... "
                                                          f"{report.data_group}"))
            continue
        figures = _figure(tsv.with_name(tsv.stem + "_probability.png"), "P(A>B) over paired replicates.")
        figures += tuple(Figure("Average ranks and Nemenyi's critical difference.", p)
                         for p in sorted(folder.glob(f"{tsv.stem}_cd_*.png")))
        title = f"Procedures: {report.name} vs {tsv.stem.removeprefix('compare_procedures_')}"
        found.append(Comparison(title, "procedures", read_results_tsv(tsv), tsv, figures))
    for tsv in sorted(folder.glob("comparison_*.tsv")):
        reasons = stale_reasons(tsv)
        if reasons:
            if notes is not None:
                notes.append("Left out: " + stale_message(tsv, reasons, "clinicadl evaluate compare A B "
                                                          f"{report.data_group}"))
            continue
        title = f"Trained models: {report.name} vs {tsv.stem.removeprefix('comparison_')}"
        found.append(Comparison(title, "models", read_results_tsv(tsv), tsv,
                                _figure(tsv.with_suffix(".png"), "Paired differences A - B with their intervals.")))
    return found


def collect_report(
    maps_paths: Sequence[str | Path],
    data_group: str = "test",
    *,
    selection_metric: str = "loss",
    compute: bool = True,
) -> Report:
    """Gather the results of one or more MAPS on a data group, computing what is missing.

    Parameters
    ----------
    maps_paths : sequence of str or Path
        MAPS folders (with or without replicates).
    data_group : str, default "test"
        The test group predicted by every model.
    selection_metric : str, default "loss"
        Model of each split (``best-<m>``).
    compute : bool, default True
        Compute and write the missing results (see the module docstring); False makes a missing result an
        error.

    Returns
    -------
    Report

    Raises
    ------
    InputError, MAPSError
        No MAPS given, a folder that is not a MAPS, a data group that was not predicted, missing results with
        ``compute=False``.
    """
    if not maps_paths:
        raise InputError("Give at least one MAPS folder.")
    paths = [Path(p) for p in maps_paths]
    from dataclasses import replace

    from clinicadl.evaluate.naming import check_distinct, distinguishing_names

    check_distinct(paths)
    reports = [replace(_collect_maps(p, data_group, selection_metric, compute), label=label)
               for p, label in zip(paths, distinguishing_names(paths))]
    notes = []
    procedures = [r for r in reports if r.kind == "procedure"]
    target = evaluation_dir(paths[0], data_group) / _comparison_name(paths)
    if len(reports) >= 2 and len(procedures) == len(reports) and (not target.is_file()
                                                                  or _comparison_stale(target, data_group)):
        if compute:
            from clinicadl.evaluate.compare_procedures import CompareOptions, compare_procedures

            try:
                options = CompareOptions(selection_metric=selection_metric)
                result = compare_procedures(paths, data_group, options=options)
                notes.append(f"Compared the procedures for this report: {result.written[0]}")
            except InputError as error:
                notes.append(f"The procedures were not compared: {error}")
        else:
            notes.append(f"No comparison of these procedures on disk ({target}); run `clinicadl evaluate compare "
                         f"{' '.join(map(str, paths))} {data_group}` or drop --no-compute.")
    comparisons = [c for r in reports for c in _existing_comparisons(r, notes)]
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Report(tuple(reports), tuple(comparisons), created, clinicadl.__version__, tuple(notes))


# ---------------------------------------------------------------------------------------------- contents


def _ci(low, high) -> str:
    return f"[{format_number(low)}, {format_number(high)}]"


def _level(frame: pd.DataFrame) -> int:
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
    level = _level(frame)
    rows = [(r.metric, format_number(r.estimate),
             _ci(r.ci_low, r.ci_high) if np.isfinite(r.ci_low) else "not estimable", format_number(r.se),
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
    level = _level(frame)
    # components that the design cannot separate (split and seed when both vary) are NaN: left out
    rows = [(r.metric, COMPONENT_NAMES.get(r.component, r.component), format_number(r.estimate, 5),
             format_number(r.sd), "NaN" if not np.isfinite(r.fraction) else f"{100 * r.fraction:.0f}%",
             _ci(r.ci_low, r.ci_high) if np.isfinite(r.ci_low) else "not given (not validated)")
            for r in frame.itertuples() if np.isfinite(r.estimate)]
    crossed = "replicate" in set(frame["component"])
    title = (f"Variance of one trained model's value of {report.name}, by source (shares of that variance)" if crossed
             else f"Variance of the metrics between the trained models of {report.name}")
    return Table(title,
                 ("metric", "source", "variance", "SD", "share", f"{level}% CI of the variance"), tuple(rows))


def models_table(report: MapsReport) -> Table:
    """Every trained model's metrics with their test-set intervals."""
    frame = report.models
    level = _level(frame)
    rows = []
    for r in frame.to_dict(orient="records"):
        rows.append((str(r.get("replicate", 0)), str(r.get("split", "")), r["metric"], format_number(r["estimate"]),
                     _ci(r["ci_low"], r["ci_high"]), str(r["method"]), str(r["n_resamples"]), str(r["n_subjects"]),
                     str(r["n_images"])))
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
                         format_number(r["estimate"]), _ci(r["ci_low"], r["ci_high"]), shown, scope,
                         str(r.get("conclusion", "")) if isinstance(r.get("conclusion"), str) else ""))
        header = ("pair", "metric", "test", "estimate", "CI", "p-value", "about", "conclusion")
    else:
        for r in frame.to_dict(orient="records"):
            rows.append((r["metric"], format_number(r.get("estimate_a")), format_number(r.get("estimate_b")),
                         format_number(r["estimate"]), _ci(r["ci_low"], r["ci_high"]),
                         format_pvalue(r.get("pvalue_bootstrap")), format_pvalue(r.get("pvalue_permutation"))))
        header = ("metric", "A", "B", "A - B", "CI", "p (bootstrap)", "p (permutation)")
    return Table(comparison.title, header, tuple(rows))


# ---------------------------------------------------------------------------------------- methods, LaTeX


def _metric_name(metric: str) -> str:
    base, _, suffix = metric.partition("-")
    name = METRIC_NAMES.get(base, base)
    return f"{name} (class {suffix})" if suffix else name


_CLOSED_FORM_WORDS = {  # closed forms of clinicadl.stats.analytic: (words, citation)
    "clopper-pearson": ("Clopper-Pearson", "Clopper & Pearson 1934"),
    "wilson": ("Wilson score", "Wilson 1927"),
    "jeffreys": ("Jeffreys", "Brown, Cai & DasGupta 2001"),
    "newcombe": ("Newcombe score", "Newcombe 2006"),
    "delong-logit": ("logit-scale DeLong", "DeLong et al. 1988"),
    "delong": ("DeLong", "DeLong et al. 1988"),
}


def _closed_form(method: str) -> tuple[str, str] | None:
    """(words, citation) of a closed-form interval name (``mover-...``, ``-clustered`` included), or None."""
    base = method.removesuffix("-clustered")
    mover = base.startswith("mover-")
    base = base.removeprefix("mover-")
    if base not in _CLOSED_FORM_WORDS:
        return None
    words, cite = _CLOSED_FORM_WORDS[base]
    if mover:
        words, cite = f"MOVER (from class-wise {words} intervals)", f"Zou & Donner 2008; {cite}"
    if method.endswith("-clustered"):
        words += " on participant-level effective counts"
    return words, cite


def _method_words(method: str, unit: str = "participant") -> str:
    words = {"bca": "BCa bootstrap", "percentile": "percentile bootstrap", "basic": "basic bootstrap"}
    if method in words:
        return f"{unit}-level {words[method]}"
    closed = _closed_form(method)
    return method if closed is None else closed[0]


def _interval_words(row: dict, level: int) -> str:
    return (f"{_metric_name(row['metric'])} {format_number(row['estimate'])} ({level} % CI "
            f"{format_number(row['ci_low'])}-{format_number(row['ci_high'])}")


def headline_metrics(frame: pd.DataFrame) -> list[str]:
    """Metrics of the methods paragraph and the LaTeX table: those of :data:`HEADLINE_METRICS` present in
    ``frame`` (in that order), else its first two metrics."""
    present = list(dict.fromkeys(frame["metric"]))
    chosen = [m for m in HEADLINE_METRICS if m in present]
    return chosen or present[:2]


def _headline(frame: pd.DataFrame) -> pd.DataFrame:
    chosen = headline_metrics(frame)
    rows = frame[frame["metric"].isin(chosen)]
    return rows.iloc[np.argsort([chosen.index(m) for m in rows["metric"]], kind="stable")]


def _cite(method: str) -> str:
    closed = _closed_form(method)
    if closed is not None:
        return f"; {closed[1]}"
    return "; Efron 1987" if "bca" in method.lower() else ""


def _model_sentence(report: MapsReport) -> str:
    frame = _headline(report.models)
    level = _level(frame)
    parts = []
    for row in frame.to_dict(orient="records"):
        method = _method_words(str(row["method"]), row.get("unit") or "participant")
        parts.append(_interval_words(row, level) + f", {method}, B = {row['n_resamples']}{_cite(method)})")
    first = frame.iloc[0]
    architecture = report.parameters.get("architecture")
    model = f"{report.name}" + (f" ({architecture})" if architecture else "")
    return (f"Trained model {model}: on the {int(first['n_subjects'])} participants ({int(first['n_images'])} "
            f"images) of the {report.data_group} group, it reached {'; '.join(parts)}; the bootstrap resampled "
            f"participants with all their sessions (seed {first['seed']}).")


def _variance_sentence(report: MapsReport) -> str:
    frame = report.variance
    if frame is None or not len(frame):
        return ""
    parts = []
    frame = frame[frame["metric"].isin(headline_metrics(frame))]
    for metric, rows in frame.groupby("metric", sort=False):
        by = rows.set_index("component")
        shares = [f"{COMPONENT_NAMES[c]} {100 * by.loc[c, 'fraction']:.0f} %" for c in COMPONENT_NAMES
                  if c not in TOTAL_COMPONENTS and c in by.index and np.isfinite(by.loc[c, "fraction"])]
        total = next((by.loc[c, "sd"] for c in TOTAL_COMPONENTS if c in by.index), np.nan)
        parts.append(f"{metric}: SD {format_number(total)}" + (f" ({', '.join(shares)})" if shares else ""))
    if "replicate" in set(frame["component"]):
        return ("The variance of one trained model's value on a test set of this size was split into a replicate, a "
                "participant (test set shared by every model) and an interaction component by a two-way analysis "
                "of variance of the participants' jackknife pseudo-values (crossed design; Searle et al. 1992): "
                + "; ".join(parts) + ".")
    return ("The variance of the metrics between trained models was split into its sources (ANOVA components): "
            + "; ".join(parts) + ".")


def _used(source: str, parameters: dict) -> bool:
    """Whether a varied source changed anything: no augmentation configured, or a dropout of 0, seeds nothing."""
    if source == "augmentation":
        return bool(parameters.get("data_augmentation", True))
    if source == "dropout":
        dropout = parameters.get("dropout", 1.0)
        return dropout is None or float(dropout) > 0
    return True


def _procedure_sentence(report: MapsReport) -> str:
    p = report.parameters
    expected = _headline(report.expected)
    level = _level(expected)
    first = expected.iloc[0]
    network = p.get("architecture", "the network") + (f" ({p['network_task']})" if p.get("network_task") else "")
    design = f"Learning procedure {report.name}: we trained {network} {report.n_replicates} times (replicates)"
    if report.n_splits > 1:
        design += f", each with {report.n_splits}-fold cross-validation"
    varied = [v for v in report.varied_sources if _used(v, p)]
    replicates = p.get("replicates", {})
    if varied:
        words = [SOURCE_NAMES.get(v, v) for v in varied]
        listed = ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else words[0]
        design += (f", re-drawing {listed} between replicates from the root seed "
                   f"{replicates.get('root_seed')} (seeds of every source recorded per replicate)")
    n_models = report.n_replicates * report.n_splits
    design += (f", and selected each model on {report.selection_metric}. All {n_models} trained models were tested "
               f"on the same {int(first['n_subjects'])} participants ({int(first['n_images'])} images) of the "
               f"{report.data_group} group.")
    parts, declined = [], []
    for row in expected.to_dict(orient="records"):
        metric_rows = report.models[report.models["metric"] == row["metric"]]["estimate"].to_numpy(float)
        spread = (f"; models {format_number(np.nanmin(metric_rows))}-{format_number(np.nanmax(metric_rows))}"
                  if len(metric_rows) and np.isfinite(metric_rows).any() else "")
        if not np.isfinite(row["ci_low"]):
            declined.append(f"{_metric_name(row['metric'])} {format_number(row['estimate'])}{spread}")
            continue
        resamples = f", B = {row['n_resamples']}" if row.get("n_resamples") else ""
        parts.append(_interval_words(row, level) + f"{resamples}{spread}{_cite(str(row['method']))})")
    crossed = "estimable" in expected.columns
    if crossed:
        performance = ("The expected performance of the learning procedure (the mean over re-runs on the same "
                       "development sample and over test sets drawn from the participant population; a confidence "
                       "interval for a fixed number, conditional on the development data) was "
                       + ("; ".join(parts) if parts else "not estimable")
                       + (", with intervals from the replicate, participant and interaction variance components of "
                          "the crossed design (R models scored on the same participants), each part with its own "
                          "Student multiplier on the logit scale (Satterthwaite 1946; Searle et al. 1992)."
                          if parts else "."))
        if declined:
            performance += (" No interval was estimable for " + "; ".join(declined) + " ("
                            + str(expected.loc[~np.isfinite(expected["ci_low"]), "reason"].iloc[0]).split(":")[0]
                            + ").")
    else:
        performance = (f"The expected performance of the learning procedure was {'; '.join(parts)}, an interval that "
                       "accounts for both the test participants and the replicates (Bouthillier et al. 2021).")
    model_method = str(report.models["method"].iloc[0])
    if _closed_form(model_method) is None:
        per_model = (f"Each trained model's interval is a {_method_words(model_method)} interval with "
                     f"{report.models['n_resamples'].iloc[0]} resamples (seed {report.models['seed'].iloc[0]}"
                     f"{_cite(model_method)}).")
    else:  # chosen by evidence at small n / near the bound: a closed form, per metric
        headline = _headline(report.models).drop_duplicates("metric")
        per_metric = ", ".join(f"{_metric_name(r['metric'])}: {_method_words(str(r['method']))} interval"
                               f" ({_cite(str(r['method'])).removeprefix('; ')})"
                               for r in headline.to_dict(orient="records"))
        per_model = (f"Each trained model's intervals are closed forms that keep their coverage with few "
                     f"participants and near the bound of the metric ({per_metric}).")
    return " ".join(s for s in (design, performance, _variance_sentence(report), per_model) if s)


def _comparison_sentence(comparison: Comparison) -> str:
    frame = comparison.frame
    if comparison.kind == "procedures":
        rows = frame[frame["test"] == "P(A>B)"] if "test" in frame else frame
        words = [str(r["conclusion"]).rstrip(".") for r in rows.to_dict(orient="records")
                 if isinstance(r.get("conclusion"), str)]
        others = []
        for r in frame.to_dict(orient="records"):
            if r.get("test") == "P(A>B)":
                continue
            if np.isfinite(r.get("pvalue", np.nan)):
                others.append(f"{r['test']} p = {format_pvalue(r['pvalue'])}")
            elif isinstance(r.get("conclusion"), str):
                others.append(f"{r['test']}: {r['conclusion'].rstrip('.')}")
        text = f"{comparison.title}, {frame['metric'].iloc[0]}: " + "; ".join(words)
        tests = set(frame["test"]) if "test" in frame else set()
        cited = []
        if "expected difference" in tests:
            cited.append("the expected difference and P(A>B) account for the replicates and the test participants "
                         "(crossed design; P(A>B) after Bouthillier et al. 2021)")
        if any(str(t).startswith("corrected") for t in tests):
            cited.append("t-tests corrected for overlapping training sets, Nadeau and Bengio 2003")
        if others:
            text += f" ({'; '.join(others + cited)})"
        return text + "."
    parts = [f"{r['metric']} A - B = {format_number(r['estimate'])} ({_ci(r['ci_low'], r['ci_high'])}, "
             f"paired participant-level bootstrap p = {format_pvalue(r.get('pvalue_bootstrap'))})"
             for r in frame.to_dict(orient="records")]
    return f"{comparison.title}: {'; '.join(parts)}."


def methods_paragraph(report: Report) -> str:
    """A paste-ready methods paragraph: the design and every headline number, in words, with references.

    Notes
    -----
    The paragraph of a procedure reads like "We trained Conv4_FC3 (classification) 3 times (replicates), each
    with 2-fold cross-validation, re-drawing split, init, order between replicates from the root seed 0 ...
    The expected performance of the learning procedure was balanced accuracy 0.750 (95 % CI 0.563-0.937, ...)".
    """
    sentences = []
    for maps in report.maps:
        sentences.append(_procedure_sentence(maps) if maps.kind == "procedure" else _model_sentence(maps))
    sentences += [_comparison_sentence(c) for c in report.comparisons]
    sentences.append(f"Statistics were computed with clinicadl {report.version}.")
    return " ".join(sentences)


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Escape the characters that LaTeX treats specially.

    Examples
    --------
    >>> latex_escape("F1_score & 95%")
    'F1\\\\_score \\\\& 95\\\\%'
    """
    return re.sub(r"[\\&%$#_{}~^]", lambda m: LATEX_SPECIAL[m.group()], str(text))


def latex_table(report: Report) -> str:
    """A booktabs table of the headline results: expected performance (procedures) or model values.

    One row per (MAPS, metric): estimate, interval, and for procedures the SD between trained models and the
    number of models. Needs ``\\usepackage{booktabs}``.
    """
    level = 95
    rows = []
    for maps in report.maps:
        if maps.kind == "procedure":
            frame = _headline(maps.expected)
            level = _level(frame)
            sd = {}
            if maps.variance is not None and len(maps.variance):
                total = maps.variance[maps.variance["component"].isin(TOTAL_COMPONENTS)]
                sd = dict(zip(total["metric"], total["sd"]))
            for r in frame.to_dict(orient="records"):
                n_models = int(r["n_replicates"]) * int(r["n_splits"])
                rows.append((maps.name, r["metric"], format_number(r["estimate"]),
                             f"{format_number(r['ci_low'])}--{format_number(r['ci_high'])}",
                             format_number(sd.get(r["metric"], np.nan)), str(n_models)))
        else:
            level = _level(maps.models)
            for r in _headline(maps.models).to_dict(orient="records"):
                rows.append((maps.name, r["metric"], format_number(r["estimate"]),
                             f"{format_number(r['ci_low'])}--{format_number(r['ci_high'])}", "--", "1"))
    lines = [
        r"\begin{table}[ht]",
        r"\centering",
        r"\begin{tabular}{llrcrr}",
        r"\toprule",
        rf"Model or procedure & Metric & Estimate & {level}\,\% CI & SD between models & Models \\",
        r"\midrule",
        *(" & ".join(latex_escape(c) if i < 2 else c for i, c in enumerate(row)) + r" \\" for row in rows),
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{Test-set performance with {level}\,\% confidence intervals (participant-level bootstrap; "
        r"for procedures, over replicates and participants). Made with clinicadl.}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ render


def _sections(report: Report) -> list[dict]:
    sections = []
    for maps in report.maps:
        tables = [t for t in (expected_table(maps), variance_table(maps), models_table(maps), settings_table(maps),
                              seeds_table(maps), evaluation_table(maps)) if t is not None]
        sections.append({"title": f"{'Learning procedure' if maps.kind == 'procedure' else 'Trained model'}: "
                                  f"{maps.name}", "path": str(maps.path), "tables": tables, "figures": maps.figures,
                         "sources": [str(s) for s in maps.sources], "computed": [str(c) for c in maps.computed]})
    return sections


def _environment(autoescape: bool):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=autoescape,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)
    environment.filters["cell"] = _markdown_cell
    return environment


def _markdown_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _context(report: Report) -> dict:
    return {"report": report, "sections": _sections(report),
            "comparisons": [{"table": comparison_table(c), "figures": c.figures, "source": str(c.source)}
                            for c in report.comparisons],
            "methods": methods_paragraph(report), "latex": latex_table(report), "references": REFERENCES,
            "groups": sorted({m.data_group for m in report.maps})}


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (figures as data URIs, inline CSS, no script)."""
    template = _environment(True).get_template("report.html.j2")
    return template.render(**_context(report), data_uri=_data_uri)


def render_markdown(report: Report, figure_links: dict[Path, str] | None = None) -> str:
    """The report in Markdown; ``figure_links`` maps each figure's path to the link to write (default: the path)."""
    links = figure_links or {}
    template = _environment(False).get_template("report.md.j2")
    return template.render(**_context(report), link=lambda path: links.get(path, str(path)))


def write_report(
    maps_paths: Sequence[str | Path],
    output: str | Path = "report.html",
    *,
    format: str | None = None,
    data_group: str = "test",
    selection_metric: str = "loss",
    compute: bool = True,
) -> tuple[Path, Report]:
    """Write the report of one or more MAPS (see :func:`collect_report`) as HTML or Markdown.

    Parameters
    ----------
    maps_paths : sequence of str or Path
    output : str or Path, default "report.html"
    format : {"html", "md"}, optional
        Default: from the suffix of ``output`` (``.md`` gives Markdown), else HTML.
    data_group, selection_metric, compute :
        See :func:`collect_report`.

    Returns
    -------
    (Path, Report)
        The file written (Markdown: its figures are copied into ``<stem>_figures/`` beside it) and what it shows.

    Raises
    ------
    InputError
        An unknown format, and the errors of :func:`collect_report`.
    """
    output = Path(output)
    format = format or ("md" if output.suffix.lower() in (".md", ".markdown") else "html")
    if format not in FORMATS:
        raise InputError(f"Unknown report format {format!r}: choose one of {', '.join(FORMATS)}.")
    report = collect_report(maps_paths, data_group, selection_metric=selection_metric, compute=compute)
    if format == "html":
        return atomic_write_text(output, render_html(report)), report
    folder = output.with_name(f"{output.stem}_figures")
    links = {}
    figures = [f for m in report.maps for f in m.figures] + [f for c in report.comparisons for f in c.figures]
    for i, figure in enumerate(figures):
        target = folder / f"{i:02d}_{figure.path.name}"
        atomic_write_bytes(target, figure.path.read_bytes())
        links[figure.path] = f"{folder.name}/{target.name}"
    return atomic_write_text(output, render_markdown(report, links)), report
