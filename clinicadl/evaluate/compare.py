"""``clinicadl evaluate compare``: is trained model A better than trained model B on the same test set?

Both models are evaluated on the same participants, so the comparison is paired: the same
participants are drawn for both in every bootstrap resample, and the permutation test swaps the two
models' predictions participant by participant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.errors import InputError
from clinicadl.evaluate.figure_jobs import request_figure
from clinicadl.evaluate.inputs import load_models, positive_class, split_value_metrics, to_predictions
from clinicadl.evaluate.model import EvaluationOptions
from clinicadl.evaluate.provenance import provenance
from clinicadl.evaluate.results import ResultRow, results_frame, write_results
from clinicadl.maps import ModelPredictions, atomic_write_text, evaluation_dir
from clinicadl.stats.delong import delong_test
from clinicadl.stats.mcnemar import mcnemar_test
from clinicadl.stats.metrics import MEDIAN_SUFFIX
from clinicadl.stats.paired import paired_bootstrap, permutation_tests

KEYS = ["participant_id", "session_id"]


@dataclass(frozen=True)
class ModelComparison:
    """Results of ``evaluate compare``.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per metric: ``estimate`` is the difference A - B, with its interval, ``estimate_a``,
        ``estimate_b``, ``pvalue_bootstrap``, ``p_a_better`` and ``pvalue_permutation``.
    tests : pandas.DataFrame
        Tests that are not per metric: McNemar (accuracy), DeLong (binary AUC).
    written : Path
        The results TSV (with a JSON sidecar and a ``.png`` plot of the differences); the tests go to
        ``<name>_tests.tsv``.
    notes : tuple of str
    """

    table: pd.DataFrame
    tests: pd.DataFrame
    written: Path
    notes: tuple[str, ...]


def _single_model(path, data_group, splits, selection_metrics) -> ModelPredictions:
    models = load_models(path, data_group, splits=splits, selection_metrics=selection_metrics)
    if len(models) > 1:
        names = ", ".join(f"split {m.split} / {m.selection_metric}" for m in models)
        raise InputError(f"{path} holds several models ({names}); choose one with --split and --selection_metrics.")
    return models[0]


def _describe(keys: pd.DataFrame, limit: int = 3) -> str:
    shown = ", ".join(f"{p}/{s}" for p, s in keys.head(limit).itertuples(index=False))
    return shown + (", ..." if len(keys) > limit else "")


def align(a: ModelPredictions, b: ModelPredictions) -> tuple[ModelPredictions, ModelPredictions]:
    """Put both models' images in the same order; refuse unless they cover the same images and labels."""
    if a.task != b.task:
        raise InputError(f"{a.source} is a {a.task} task but {b.source} is a {b.task} task: nothing to compare.")
    ka, kb = a.frame[KEYS], b.frame[KEYS]
    only_a = ka.merge(kb, how="left", indicator=True).query("_merge == 'left_only'")[KEYS]
    only_b = kb.merge(ka, how="left", indicator=True).query("_merge == 'left_only'")[KEYS]
    if len(only_a) or len(only_b):
        raise InputError(
            f"The two predictions do not cover the same images: {len(only_a)} only in {a.source} "
            f"({_describe(only_a)}), {len(only_b)} only in {b.source} ({_describe(only_b)}). "
            "Predict both models on the same data group."
        )
    fa = a.frame.sort_values(KEYS, ignore_index=True)
    fb = b.frame.sort_values(KEYS, ignore_index=True)
    if "true_label" in fa and not np.allclose(fa["true_label"], fb["true_label"]):
        raise InputError(f"{a.source} and {b.source} give different true labels to the same images.")
    if a.task == "classification" and a.labels != b.labels:
        raise InputError(f"{a.source} has classes {a.labels} but {b.source} has {b.labels}.")
    return replace(a, frame=fa), replace(b, frame=fb)


def _pairs(a: ModelPredictions, b: ModelPredictions, metrics: Sequence[str]):
    """(names, predictions of A, predictions of B, registry metrics) for each comparable quantity."""
    if a.task != "per_image":
        pa, pb = to_predictions(a), to_predictions(b)
        from clinicadl.stats.metrics import resolve_metrics

        names = [r.name for r in resolve_metrics(metrics or None, pa)]
        yield names, pa, pb, names
        return
    common = [c for c in a.value_columns if c in b.value_columns]
    for column, names in split_value_metrics(replace(a, frame=a.frame[[*KEYS, *common]]), metrics).items():
        mask = np.isfinite(a.frame[column].to_numpy(float)) & np.isfinite(b.frame[column].to_numpy(float))
        fa, fb = replace(a, frame=a.frame[mask]), replace(b, frame=b.frame[mask])
        stats = ["median" if n.endswith(MEDIAN_SUFFIX) else "mean" for n in names]
        yield names, to_predictions(fa, column), to_predictions(fb, column), stats


def _tests(a: ModelPredictions, b: ModelPredictions, pa, pb) -> tuple[list[dict], list[str]]:
    rows, notes = [], []
    if a.task != "classification":
        return rows, notes
    truth = a.frame["true_label"].to_numpy()
    correct_a = a.frame["predicted_label"].to_numpy() == truth
    correct_b = b.frame["predicted_label"].to_numpy() == truth
    mc = mcnemar_test(correct_a, correct_b)
    rows.append({"test": "McNemar (accuracy)", "statistic": mc.statistic, "pvalue": mc.pvalue, "method": mc.method})
    if len(a.labels) == 2:
        positive = (truth == 0).astype(int)
        try:
            dl = delong_test(positive, a.frame["proba0"].to_numpy(), b.frame["proba0"].to_numpy())
            rows.append({"test": "DeLong (AUC)", "statistic": dl.test.statistic, "pvalue": dl.test.pvalue,
                         "method": dl.test.method})
        except InputError as error:
            notes.append(f"DeLong test not run: {error}")
    if pa.has_clusters:
        notes.append("McNemar and DeLong assume independent images, but some participants have several; "
                     "trust the participant-level bootstrap and permutation p-values.")
    return rows, notes


def compare_models(
    input_a: str | Path,
    input_b: str | Path,
    data_group: str | None = None,
    *,
    splits: Sequence[int] | None = None,
    selection_metrics: Sequence[str] | None = None,
    options: EvaluationOptions | None = None,
    output: str | Path | None = None,
) -> ModelComparison:
    """Paired comparison of two trained models on the same participants.

    Parameters
    ----------
    input_a, input_b : str or Path
        MAPS (one model each, chosen with ``splits`` / ``selection_metrics``) or prediction TSVs.
    data_group : str, optional
        Data group of the MAPS.
    options : EvaluationOptions, optional
        ``ci_method`` is a bootstrap method (percentile, basic or bca; auto and analytic mean bca).
    output : str or Path, optional
        Results TSV; by default ``<A>/evaluation/<group>/comparison_<B>.tsv`` for a MAPS, or
        ``<A>_vs_<B>.tsv`` beside a TSV.

    Returns
    -------
    ModelComparison

    References
    ----------
    McNemar Q. (1947). Psychometrika 12(2), 153-157. DeLong E. R. et al. (1988). Biometrics 44(3), 837-845.
    Efron B., Tibshirani R. J. (1993). An Introduction to the Bootstrap, section 16.4.
    """
    options = options or EvaluationOptions(ci_method="bca")
    method = "bca" if options.ci_method in ("auto", "analytic") else options.ci_method
    a = _single_model(input_a, data_group, splits, selection_metrics)
    b = _single_model(input_b, data_group, splits, selection_metrics)
    a, b = align(a, b)
    rows, test_rows, notes = [], [], []
    for names, pa, pb, stats in _pairs(a, b, options.metrics):
        rows += _difference_rows(a, b, names, pa, pb, stats, options, method)
        if not test_rows:
            test_rows, test_notes = _tests(a, b, pa, pb)
            notes += test_notes
    notes += [f"{row.metric}: {row.extra['note']}." for row in rows if row.extra["note"]]
    table, tests = results_frame(rows), pd.DataFrame(test_rows, columns=["test", "statistic", "pvalue", "method"])
    target = Path(output) if output is not None else _default_output(Path(input_a), Path(input_b), a)
    meta = provenance([a.source, b.source], asdict(options) | {"ci_method": method})
    meta["tests"] = tests.to_dict(orient="records")
    write_results(target, table, meta)
    atomic_write_text(target.with_name(target.stem + "_tests.tsv"), tests.to_csv(sep="\t", index=False))
    request_figure("comparison", [target], target.with_suffix(".png"))
    return ModelComparison(table, tests, target, tuple(notes))


def _difference_rows(a: ModelPredictions, b: ModelPredictions, names, pa, pb, stats, options: EvaluationOptions,
                     method: str) -> list[ResultRow]:
    """One row per metric: the paired bootstrap difference A - B, its p-values and the permutation p-value."""
    results = paired_bootstrap(pa, pb, metrics=stats, n_resamples=options.n_resamples,
                               confidence_level=options.confidence_level, method=method, unit=options.unit,
                               stratify=options.stratify, rng=options.seed)
    permutations = permutation_tests(pa, pb, metrics=stats, n_permutations=options.n_resamples, unit=options.unit,
                                     rng=options.seed)  # the same permutations for every metric, as one call each
    rows = []
    for name, res, test in zip(names, results, permutations):
        perm = np.nan if test is None else test.pvalue
        rows.append(ResultRow(
            metric=name, estimate=res.difference, ci_low=res.confidence_interval.low,
            ci_high=res.confidence_interval.high, se=res.standard_error, method=res.method,
            confidence=res.confidence_level, n_resamples=res.n_resamples, n_subjects=a.n_subjects,
            n_images=res.n_rows, seed=res.seed,
            extra={"estimate_a": res.estimate_a, "estimate_b": res.estimate_b, "pvalue_bootstrap": res.pvalue,
                   "p_a_better": res.probability_a_better, "pvalue_permutation": perm, "n_dropped": res.n_dropped,
                   "unit": res.unit, "note": res.note, "positive_class": positive_class(a),
                   "model_a": str(a.source), "model_b": str(b.source)},
        ))
    return rows


def _default_output(path_a: Path, path_b: Path, a: ModelPredictions) -> Path:
    name_b = path_b.resolve().name if path_b.is_dir() else path_b.stem
    if path_a.is_dir():
        return evaluation_dir(path_a, a.data_group) / f"comparison_{name_b}.tsv"
    return path_a.with_name(f"{path_a.stem}_vs_{name_b}.tsv")
