"""Collecting a report: the results that ``clinicadl evaluate`` wrote into each MAPS, computed when missing.

The settings and seeds of a MAPS are read through :mod:`clinicadl.maps` (``read_maps_parameters``) and the reader
of its replicates; the results TSVs with their JSON sidecars. A results file that no longer describes the current
predictions (stale) is recomputed, or, with ``compute=False``, an error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

import clinicadl
from clinicadl.errors import InputError, MAPSError
from clinicadl.evaluate.naming import check_distinct, distinguishing_names
from clinicadl.evaluate.provenance import stale_message, stale_reasons
from clinicadl.evaluate.report.contents import Comparison, Figure, MapsReport, Report
from clinicadl.maps import (
    evaluation_dir,
    list_splits,
    model_ci_path,
    read_maps_parameters,
    read_results_tsv,
    sidecar_path,
)
from clinicadl.maps.replicate_folders import replicate_folders

__all__ = ["collect_report", "read_json"]


def read_json(path: Path) -> dict:
    """A JSON file as a dict ({} when missing)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON ({error.msg}, line {error.lineno}); delete it and run "
                         "`clinicadl evaluate` again.") from None


def _read_seeds(path: Path, parameters: dict) -> pd.DataFrame | None:
    """The replicates of a MAPS and their seeds (its ``replicates.tsv``, read by its reader); None without."""
    from clinicadl.training.replicates import read_replicates_tsv

    record = parameters.get("replicates")
    if not isinstance(record, dict):
        return None
    try:
        replicates = read_replicates_tsv(path, root_seed=record.get("root_seed"),
                                         varied=record.get("varied_sources") or ())
    except MAPSError:
        return None
    rows = [{"replicate": r.replicate, "status": r.status, **{f"seed_{s}": v for s, v in r.seeds.items()}}
            for r in replicates.values()]
    return pd.DataFrame(rows)


def _figure(path: Path, caption: str) -> tuple[Figure, ...]:
    return (Figure(caption, path),) if path.is_file() else ()


def _drawn(kind: str, sources: Sequence[Path], path: Path, caption: str) -> tuple[Figure, ...]:
    """The figure of results TSVs as they are now (drawn again when missing or drawn from other numbers)."""
    from clinicadl.evaluate.figure_jobs import current_figure

    drawn = current_figure(kind, sources, path)
    return (Figure(caption, drawn),) if drawn is not None else ()


def _model_ci_files(path: Path, data_group: str, selection_metric: str) -> list[Path]:
    """The ``evaluate model`` results of every trained model of the MAPS (and of its replicates) on the group."""
    found = []
    for folder in (path, *replicate_folders(path).values()):
        try:
            splits = list_splits(folder)
        except MAPSError:
            continue
        for split in splits:
            try:
                tsv = model_ci_path(folder, split, selection_metric, data_group)
            except MAPSError:  # no predictions of this model on the group
                continue
            if tsv.is_file():
                found.append(tsv)
    return found


def _count_models(path: Path, data_group: str, selection_metric: str) -> int:
    from clinicadl.evaluate.procedure_inputs import load_procedure

    return len(load_procedure(path, data_group, selection_metric=selection_metric).models)


def _procedure_report(path: Path, data_group: str, selection_metric: str, parameters: dict,
                      computed: tuple[Path, ...], compute: bool = True) -> MapsReport:
    folder = evaluation_dir(path, data_group)
    expected_tsv, variance_tsv, models_tsv = (folder / f"procedure_{n}.tsv" for n in ("expected", "variance",
                                                                                      "models"))
    if variance_tsv.is_file() and _recorded_inputs(variance_tsv) != _recorded_inputs(expected_tsv):
        variance_tsv = folder / "procedure_variance.tsv.stale"  # left by an earlier run on other predictions
    sources = [p for p in (expected_tsv, variance_tsv, models_tsv) if p.is_file()]
    variance = read_results_tsv(variance_tsv) if variance_tsv.is_file() else None
    figures = (_drawn("procedure_models", [models_tsv, expected_tsv], folder / "procedure_models.png",
                      "Every trained model with its test-set interval, and the expected performance of the "
                      "procedure.")
               + _drawn("procedure_variance", [variance_tsv], folder / "procedure_variance.png",
                        "Variance between trained models, by source.")
               + _figure(folder / "sources.png", "Variance study: standard deviation of one trained model's score "
                         "due to each source of variance, with its interval, next to the test-set sampling."))
    study, recomputed = _variance_study(path, data_group, selection_metric, compute)
    variance_sources, estimators = (read_results_tsv(p) if p.is_file() else None for p in study)
    sources += [p for p in study if p.is_file()]
    return MapsReport(path, data_group, selection_metric, "procedure", parameters, _read_seeds(path, parameters),
                      read_results_tsv(expected_tsv), variance, read_results_tsv(models_tsv),
                      read_json(sidecar_path(expected_tsv)), figures, tuple(sources), computed + recomputed,
                      variance_sources=variance_sources, estimators=estimators)


def _variance_study(path: Path, data_group: str, selection_metric: str,
                    compute: bool) -> tuple[list[Path], tuple[Path, ...]]:
    """``sources.tsv`` and ``estimators.tsv`` of ``evaluate sources``, recomputed when they no longer describe
    the predictions and ``study.tsv`` of the study (an error with ``compute=False``)."""
    folder = evaluation_dir(path, data_group)
    study = [folder / "sources.tsv", folder / "estimators.tsv"]
    if not study[0].is_file():
        return study, ()
    from clinicadl.evaluate.procedure_inputs import load_procedure
    from clinicadl.evaluate.sources import evaluate_sources, study_inputs
    from clinicadl.maps.study import STUDY_TSV

    recorded = read_json(sidecar_path(study[0])).get("options", {})
    selection = str(recorded.get("selection_metric", selection_metric))
    current = [*study_inputs(load_procedure(path, data_group, selection_metric=selection)), path / STUDY_TSV]
    reasons = stale_reasons(study[0], current) or stale_reasons(study[1], current)
    if not reasons:
        return study, ()
    if not compute:
        command = f"clinicadl evaluate sources {path} {data_group}"
        raise InputError(stale_message(study[0], reasons, command) + " (or drop --no-compute)")
    result = evaluate_sources(path, data_group, metrics=recorded.get("metrics") or None, selection_metric=selection,
                              confidence_level=float(recorded.get("confidence_level", 0.95)),
                              plot=(folder / "sources.png").is_file())
    return study, result.written


def _recorded_inputs(results: Path) -> set[tuple[str, str]]:
    return {(str(r.get("path")), str(r.get("sha256"))) for r in read_json(sidecar_path(results)).get("inputs", [])}


def _model_report(path: Path, data_group: str, selection_metric: str, parameters: dict, files: list[Path],
                  computed: tuple[Path, ...]) -> MapsReport:
    models = read_results_tsv(files[0])
    figures = _drawn("model_intervals", [files[0]], files[0].with_suffix(".png"),
                     "The trained model's metrics with their intervals.")
    return MapsReport(path, data_group, selection_metric, "model", parameters, _read_seeds(path, parameters), None,
                      None, models, read_json(sidecar_path(files[0])), figures, (files[0],), computed)


def _procedure_sources(path: Path, data_group: str, selection_metric: str) -> list[Path]:
    """The prediction files a procedure evaluation of ``path`` is computed from now (finished replicates)."""
    from clinicadl.evaluate.procedure_inputs import load_procedure

    return [m.predictions.source for m in load_procedure(path, data_group, selection_metric=selection_metric).models]


def _recorded_options(results: Path):
    """The evaluation options recorded in the sidecar of ``results`` (defaults for those it lacks)."""
    from dataclasses import fields

    from clinicadl.evaluate.model import EvaluationOptions

    recorded = read_json(sidecar_path(results)).get("options", {})
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
    parameters = read_maps_parameters(path)
    expected_tsv = evaluation_dir(path, data_group) / "procedure_expected.tsv"
    if expected_tsv.is_file():
        stale, reasons = _stale_procedure(path, data_group, selection_metric)
        if not reasons:
            return _procedure_report(path, data_group, selection_metric, parameters, (), compute)
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
    designs = read_json(sidecar_path(tsv)).get("designs", [])
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
                                _drawn("comparison", [tsv], tsv.with_suffix(".png"),
                                       "Paired differences A - B with their intervals.")))
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

