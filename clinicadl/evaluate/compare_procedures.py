"""``clinicadl evaluate compare A B [C ...] GROUP`` for procedures: is learning procedure A better than B?

Each input is a MAPS with replicates (or a plain MAPS with several splits). Replicate ``r`` of A and
replicate ``r`` of B are *paired* when they used the same seed for every source of variance that either
procedure varies (same data split, same initialisation seed...; FORMATS.md section 4): their difference is then
measured with the other sources held fixed. Unpaired inputs are refused unless ``unpaired=True``.

Per metric and pair of procedures, on the same test participants:

- ``probability``: P(A>B), the probability that a run of A beats the paired run of B, with its percentile
  bootstrap interval and the decision rule of Bouthillier et al. (2021): *significant* when the lower bound
  exceeds 0.5, *meaningful* when, in addition, the upper bound reaches ``gamma``;
- ``corrected_t``: Nadeau and Bengio's corrected resampled t-test (one split per replicate, the split
  re-drawn per replicate) or Bouckaert and Frank's corrected repeated k-fold t-test (K splits);
- ``5x2cv``: Dietterich's 5x2cv t-test and Alpaydin's combined F-test, when the design is 5 replicates of a
  2-fold cross-validation with the split re-drawn per replicate;
- ``bayesian``: the Bayesian correlated t-test (Corani and Benavoli 2015) with a region of practical
  equivalence ``rope``;
- ``naive_t``: the uncorrected resampled t-test, only on request and always with a warning (it over-rejects);
- with three or more procedures (``friedman``): Friedman's test over replicates, average ranks with Nemenyi's
  critical difference, and pairwise Wilcoxon signed-rank tests with Holm's adjustment (also applied to the
  pairwise corrected t-tests).

Each test is an entry of the registry :data:`~clinicadl.evaluate.procedure_tests.PROCEDURE_TESTS` that says whether
the design (:mod:`~clinicadl.evaluate.comparison_design`) allows it and runs it; this module loads the procedures,
chooses the tests, runs them and writes the results.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Nadeau C., Bengio Y. (2003). Inference for the generalization error. Machine Learning 52, 239-281.
Bouckaert R. R., Frank E. (2004). Evaluating the replicability of significance tests. PAKDD.
Dietterich T. G. (1998). Neural Computation 10(7). Alpaydin E. (1999). Neural Computation 11(8).
Corani G., Benavoli A. (2015). Machine Learning 100(2-3), 285-304.
Demsar J. (2006). Statistical comparisons of classifiers over multiple data sets. JMLR 7, 1-30.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.errors import InputError
from clinicadl.evaluate.compare_procedures_summary import format_procedure_comparison
from clinicadl.evaluate.comparison_design import (
    SCOPE_FOLDS,
    SCOPE_TEST_SET,
    SHARED_TEST_REASON,
    ComparisonDesign,
    comparison_design,
    score_grid,
)
from clinicadl.evaluate.model import EvaluationOptions
from clinicadl.evaluate.naming import check_distinct, comparison_file_name, distinguishing_names
from clinicadl.evaluate.procedure_design import FIXHOPT_NOTE, design_record
from clinicadl.evaluate.procedure_inputs import Procedure, check_same_test_images, load_procedure, pairing_problems
from clinicadl.evaluate.procedure_models import model_table
from clinicadl.evaluate.procedure_ranks import RankResult, adjust_pairwise, rank_procedures
from clinicadl.evaluate.procedure_tests import PROCEDURE_TESTS, PairInputs, run_pair_tests
from clinicadl.evaluate.provenance import provenance
from clinicadl.evaluate.results import ResultRow, results_frame, write_results
from clinicadl.maps import evaluation_dir
from clinicadl.stats.metrics import DEFAULT_METRICS, higher_is_better

__all__ = ["TESTS", "CompareOptions", "ProcedureComparison", "compare_procedures", "format_procedure_comparison"]

TESTS = ("probability", "corrected_t", "5x2cv", "bayesian", "friedman", "naive_t")
"""Tests that ``--tests`` may ask for (entries of ``PROCEDURE_TESTS``); by default every applicable one except
``naive_t``."""


@dataclass(frozen=True)
class CompareOptions:
    """Options of a comparison of procedures; recorded in the JSON sidecar.

    Attributes
    ----------
    metrics : tuple of str
        Metrics compared (default: BA for classification, MAE for regression, the first per-image column).
    n_resamples, confidence_level, seed :
        Of every bootstrap (per-model intervals and P(A>B)); ``1 - confidence_level`` is the level of the
        tests, of Nemenyi's critical difference and of Holm's adjustment.
    gamma : float
        Threshold of a meaningful P(A>B) (Bouthillier et al. 2021 recommend 0.75).
    rope : float
        Half-width of the region of practical equivalence of the Bayesian test, in metric units.
    tests : tuple of str
        Subset of :data:`TESTS`; empty means every applicable test but ``naive_t``. A test asked for
        explicitly that the design does not allow is an error.
    unpaired : bool
        Accept procedures whose replicates are not paired (only P(A>B), unpaired, is then computed).
    selection_metric : str
        Model of each split (``best-<m>``).
    """

    metrics: tuple[str, ...] = ()
    n_resamples: int = 10_000
    confidence_level: float = 0.95
    seed: int = 0
    gamma: float = 0.75
    rope: float = 0.01
    tests: tuple[str, ...] = ()
    unpaired: bool = False
    selection_metric: str = "loss"


@dataclass(frozen=True)
class ProcedureComparison:
    """Results of a comparison of procedures.

    Attributes
    ----------
    tests : pandas.DataFrame
        One row per (pair, metric, test): the columns of FORMATS.md section 4 (``estimate`` is P(A>B), a mean
        difference A - B, or a posterior mean, per ``test``) plus ``procedure_a``, ``procedure_b``, ``test``,
        ``statistic``, ``pvalue``, ``adjusted_pvalue``, ``significant``, ``meaningful``, ``p_left``,
        ``p_rope``, ``p_right``, ``conclusion``, ``higher_is_better``, ``n_replicates``, ``n_splits``.
    scores : pandas.DataFrame
        One row per (procedure, metric): mean over its trained models, min, max.
    ranks : pandas.DataFrame
        Three or more paired procedures: one row per (procedure, metric), ``estimate`` = average rank, with
        Friedman's ``statistic``/``pvalue`` and Nemenyi's ``critical_difference``; empty otherwise.
    procedures : tuple of Procedure
    paired : bool
    written : tuple of Path
    notes, warnings : tuple of str
    """

    tests: pd.DataFrame
    scores: pd.DataFrame
    ranks: pd.DataFrame
    procedures: tuple[Procedure, ...]
    paired: bool
    written: tuple[Path, ...]
    notes: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------------------------------------- validation


def _check_options(options: CompareOptions) -> None:
    unknown = [t for t in options.tests if t not in TESTS]
    if unknown:
        raise InputError(f"Unknown test(s) {', '.join(unknown)}; choose among {', '.join(TESTS)}.")
    if not 0.5 <= options.gamma < 1:
        raise InputError(f"gamma must lie in [0.5, 1), got {options.gamma}; 0.75 is the usual threshold.")
    if options.rope < 0:
        raise InputError(f"rope must be >= 0, got {options.rope}.")


def _default_metrics(procedure: Procedure) -> tuple[str, ...]:
    """The first default metric of the task in the registry (BA, MAE), or the first per-image column."""
    predictions = procedure.models[0].predictions
    task = {"classification": "binary", "regression": "regression"}.get(predictions.task)
    return (DEFAULT_METRICS[task][0],) if task else (predictions.value_columns[0],)


def _names(procedures: Sequence[Procedure]) -> list[str]:
    return distinguishing_names([p.path for p in procedures])


def _check_pairing(procedures: Sequence[Procedure], names: Sequence[str], unpaired: bool) -> bool:
    problems = []
    for (i, a), (j, b) in combinations(enumerate(procedures), 2):
        found = pairing_problems(a, b)
        if found:
            problems.append(f"{names[i]} vs {names[j]}: {'; '.join(found[:3])}" + ("; ..." if len(found) > 3 else ""))
    if problems and not unpaired:
        raise InputError(
            "The procedures are not paired replicate by replicate (" + " | ".join(problems) + "). Train them with "
            "the same --root_seed, --vary and --n_splits, or pass --unpaired for an unpaired comparison "
            "(P(A>B) only, less powerful)."
        )
    return not problems


def _selected_tests(options: CompareOptions, why: dict[str, str]) -> tuple[list[str], list[str]]:
    notes = []
    if options.tests:
        for test in options.tests:
            if why[test]:
                raise InputError(f"Test {test!r} cannot be run: {why[test]}.")
        return list(options.tests), notes
    chosen = [t for t in TESTS if t != "naive_t" and not why[t]]
    if any(why[t] == SHARED_TEST_REASON for t in TESTS):
        notes.append(f"corrected_t, bayesian and 5x2cv not run: {SHARED_TEST_REASON}.")
    for t in TESTS:
        if (
            t != "naive_t"
            and why[t]
            and why[t] != SHARED_TEST_REASON
            and not (t == "friedman" and "three procedures" in why[t])
            and not (t == "5x2cv" and why[t].startswith("the 5x2cv tests need 5"))
        ):
            notes.append(f"{t} not run: {why[t]}.")
    if not chosen:
        raise InputError(
            "No test applies to this design: "
            + "; ".join(f"{t}: {why[t]}" for t in TESTS if t != "naive_t")
            + ". Train with --replicates R (R >= 2)."
        )
    return chosen, notes


# -------------------------------------------------------------------------------------------------- main


def _design_notes(procedures: Sequence[Procedure], design: ComparisonDesign, chosen: list[str]) -> list[str]:
    """What the design of the comparison allows to conclude."""
    notes = [note for p in procedures for note in p.notes]
    if "friedman" in chosen and design.shared_test:
        notes.append("Friedman's test, Nemenyi's critical difference and the Wilcoxon tests rank the replicates on "
                     "this test set: their conclusions are about this test set, not the participant population.")
    if not all(p.split_varied for p in procedures):
        notes.append(FIXHOPT_NOTE + " Conclusions then hold for this data split only.")
    if design.paired and design.n_splits >= 2 and not design.split_varied and design.n_replicates > 1:
        notes.append("The replicates reuse the same folds: the repeated k-fold correction assumes re-drawn folds "
                     "and the t-tests are then somewhat liberal.")
    if not design.paired:
        notes.append("Unpaired comparison (--unpaired): P(A>B) over all pairs of runs (Mann-Whitney); the paired "
                     "t-tests are not run.")
    return notes


def _base(metric: str, table: pd.DataFrame, options: CompareOptions, design: ComparisonDesign, a_name: str,
          b_name: str) -> ResultRow:
    """The columns shared by every test row of one pair and metric."""
    first = table.iloc[0]
    return ResultRow(
        metric=metric, confidence=options.confidence_level, n_subjects=int(first["n_subjects"]),
        n_images=int(first["n_images"]), seed=options.seed, n_resamples=0, se=np.nan,
        extra={"procedure_a": a_name, "procedure_b": b_name, "higher_is_better": higher_is_better(metric),
               "n_replicates": design.n_replicates, "n_splits": design.n_splits, "statistic": np.nan,
               "pvalue": np.nan, "adjusted_pvalue": np.nan, "significant": np.nan, "meaningful": np.nan,
               "p_left": np.nan, "p_rope": np.nan, "p_right": np.nan, "conclusion": ""},
    )


def _crossed_values(procedures: Sequence[Procedure], metrics: Sequence[str]) -> dict[str, list]:
    """Per-participant values of every procedure and metric on the shared test group."""
    from clinicadl.evaluate.procedure_expected import crossed_inputs

    laid_out = [{} for _ in procedures]  # each procedure's predictions, built once for all metrics
    return {m: [crossed_inputs(p, m, cache)[0] for p, cache in zip(procedures, laid_out)] for m in metrics}


@dataclass(frozen=True)
class _Run:
    tests: pd.DataFrame
    ranks: pd.DataFrame
    rank_results: dict[str, RankResult]
    warnings: list[str]


def _run_tests(procedures: Sequence[Procedure], names: Sequence[str], tables: Sequence[pd.DataFrame],
               metrics: Sequence[str], chosen: list[str], options: CompareOptions, design: ComparisonDesign) -> _Run:
    """Every chosen test on every pair of procedures and metric; the ranks of three or more."""
    grids = {m: [score_grid(t, m, p) for t, p in zip(tables, procedures)] for m in metrics}
    alpha = 1 - options.confidence_level
    rows, rank_rows, warns, rank_results = [], [], [], {}
    crossed = _crossed_values(procedures, metrics) if design.shared_test and "probability" in chosen else {}
    for metric in metrics:
        for i, j in combinations(range(len(procedures)), 2):
            pair = PairInputs(metric, grids[metric][i], grids[metric][j],
                              (crossed[metric][i], crossed[metric][j]) if crossed else None, options, design,
                              _base(metric, tables[0], options, design, names[i], names[j]))
            pair_rows, pair_warns = run_pair_tests(pair, chosen)
            rows += pair_rows
            warns += pair_warns
        if "friedman" in chosen:
            metric_rows, rank_results[metric] = rank_procedures(metric, grids[metric], names, tables[0], options,
                                                                alpha)
            rank_rows += metric_rows
    tests = results_frame(rows)
    if len(tests):
        default_scope = SCOPE_TEST_SET if design.shared_test else SCOPE_FOLDS
        tests["scope"] = tests["scope"].fillna(default_scope) if "scope" in tests else default_scope
    if len(procedures) >= 3 and len(tests):
        tests = adjust_pairwise(tests, rank_results, names)
    return _Run(tests, results_frame(rank_rows), rank_results, warns)


def _plots(run: _Run, target: Path, names: Sequence[str], design: ComparisonDesign, alpha: float) -> list[Path]:
    from clinicadl.evaluate.procedure_plots import plot_critical_difference, plot_probability_better

    written = []
    tests = run.tests
    probability = tests[tests["test"] == "P(A>B)"] if len(tests) else tests
    if len(probability):
        written.append(plot_probability_better(probability.reset_index(drop=True),
                                               target.with_name(target.stem + "_probability.png")))
    for metric, result in run.rank_results.items():
        written.append(plot_critical_difference(
            names, result.ranks, result.critical_difference, target.with_name(f"{target.stem}_cd_{metric}.png"),
            title=f"{metric}: average ranks over {design.n_replicates} replicates (1 = best); "
                  f"Nemenyi CD at alpha = {alpha:g}"))
    return written


def compare_procedures(
    inputs: Sequence[str | Path],
    data_group: str,
    *,
    options: CompareOptions = CompareOptions(),
    splits: Sequence[int] | None = None,
    output: str | Path | None = None,
    plots: bool = True,
) -> ProcedureComparison:
    """Compare two or more learning procedures replicate by replicate on the same test participants.

    Parameters
    ----------
    inputs : sequence of str or Path
        Two or more MAPS with replicates (or plain MAPS with several splits), A first.
    data_group : str
        Test group predicted by every replicate of every procedure.
    options : CompareOptions
    splits : sequence of int, optional
        Splits to use (default: all).
    output : str or Path, optional
        Results TSV; default ``<A>/evaluation/<group>/compare_procedures_<B>[_<C>...].tsv``.
    plots : bool, default True

    Returns
    -------
    ProcedureComparison

    Raises
    ------
    InputError
        Fewer than two inputs, different test participants, unpaired replicates without ``unpaired``, a
        design too small for any test (a single replicate...), a test asked for that the design does not
        allow (5x2cv on a design that is not 5x2).
    """
    _check_options(options)
    if len(inputs) < 2:
        raise InputError("Give at least two procedures (MAPS) to compare.")
    check_distinct(inputs, "procedure")
    procedures = [load_procedure(p, data_group, selection_metric=options.selection_metric, splits=splits)
                  for p in inputs]
    check_same_test_images(procedures)
    names = _names(procedures)
    paired = _check_pairing(procedures, names, options.unpaired)
    design = comparison_design(procedures, paired)
    chosen, notes = _selected_tests(options, {t.name: t.applicable(design) for t in PROCEDURE_TESTS.values()})
    notes += _design_notes(procedures, design, chosen)
    metrics = options.metrics or _default_metrics(procedures[0])
    model_options = EvaluationOptions(metrics=tuple(metrics), n_resamples=options.n_resamples,
                                      confidence_level=options.confidence_level, seed=options.seed)
    tables = [model_table(p, model_options) for p in procedures]
    run = _run_tests(procedures, names, tables, metrics, chosen, options, design)
    scores = _score_table(tables, names, metrics)
    target = (Path(output) if output is not None
              else evaluation_dir(procedures[0].path, data_group) / comparison_file_name([p.path for p in procedures]))
    meta = provenance([m.predictions.source for p in procedures for m in p.models],
                      asdict(options) | {"tests_run": chosen, "paired": paired})
    meta["designs"] = [design_record(p) for p in procedures]
    meta["notes"] = list(dict.fromkeys(notes))
    written = [write_results(target, run.tests, meta)]
    if len(run.ranks):
        written.append(write_results(target.with_name(target.stem + "_ranks.tsv"), run.ranks, meta))
    if plots:
        written += _plots(run, target, names, design, 1 - options.confidence_level)
    return ProcedureComparison(run.tests, scores, run.ranks, tuple(procedures), paired, tuple(written),
                               tuple(dict.fromkeys(notes)), tuple(dict.fromkeys(run.warnings)))


def _score_table(tables, names, metrics) -> pd.DataFrame:
    rows = []
    for table, name in zip(tables, names):
        for metric in metrics:
            values = table.loc[table["metric"] == metric, "estimate"].to_numpy(float)
            rows.append(
                {
                    "procedure": name,
                    "metric": metric,
                    "mean": float(np.nanmean(values)),
                    "min": float(np.nanmin(values)),
                    "max": float(np.nanmax(values)),
                    "n_models": len(values),
                }
            )
    return pd.DataFrame(rows)
