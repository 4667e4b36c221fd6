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

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from clinicadl.errors import InputError
from clinicadl.evaluate.display import format_number, format_pvalue, render_table
from clinicadl.evaluate.model import EvaluationOptions
from clinicadl.evaluate.naming import check_distinct, comparison_file_name
from clinicadl.evaluate.procedure import FIXHOPT_NOTE, design_record, higher_is_better, model_table, write_table
from clinicadl.evaluate.procedure_inputs import Procedure, check_same_test_images, load_procedure, pairing_problems
from clinicadl.evaluate.provenance import provenance
from clinicadl.maps import evaluation_dir

__all__ = ["TESTS", "CompareOptions", "ProcedureComparison", "compare_procedures", "format_procedure_comparison"]

TESTS = ("probability", "corrected_t", "5x2cv", "bayesian", "friedman", "naive_t")
"""Tests that ``--tests`` may ask for; by default every applicable one except ``naive_t``."""

SHARED_TEST_REASON = (
    "every model was scored on the same test group: the corrected resampled t-tests (Nadeau & Bengio 2003) and the "
    "tests built on them correct for training sets that overlap while each model is tested on its own held-out "
    "fold, which is not this design (the test-set sampling is shared by every difference); they apply to the "
    "validation folds of one cross-validation design. The crossed-design test ('probability': the difference of "
    "expected performances and P(A>B) in the participant population) is run instead"
)

SCOPE_POPULATION = "population (replicates and test participants resampled)"
SCOPE_TEST_SET = "this test set (replicates only; conditional on the participants)"
SCOPE_FOLDS = "these validation folds (cross-validation design)"

NAIVE_WARNING = (
    "The uncorrected resampled t-test ignores the overlap of the training sets of different splits and "
    "rejects a true null hypothesis far more often than its nominal level (Nadeau and Bengio 2003); "
    "it is reported only for comparison with published analyses: do not base a conclusion on it."
)


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
    predictions = procedure.models[0].predictions
    if predictions.task == "classification":
        return ("BA",)
    if predictions.task == "regression":
        return ("MAE",)
    return (predictions.value_columns[0],)


def _names(procedures: Sequence[Procedure]) -> list[str]:
    from clinicadl.evaluate.naming import distinguishing_names

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


# ---------------------------------------------------------------------------------------------- the design


@dataclass(frozen=True)
class _Design:
    n_replicates: int
    n_splits: int
    split_varied: bool
    n_train: float | None
    n_test: float | None
    shared_test: bool = True

    @property
    def is_5x2(self) -> bool:
        return self.n_replicates == 5 and self.n_splits == 2 and self.split_varied

    @property
    def resampled(self) -> bool:
        """Whether the training data were resampled: several folds, or one split re-drawn per replicate."""
        return self.n_splits >= 2 or (self.split_varied and self.n_replicates >= 2)


def _design(procedure: Procedure) -> _Design:
    trains = [m.n_train for m in procedure.models if m.n_train]
    tests = [m.n_validation for m in procedure.models if m.n_validation]
    return _Design(
        procedure.n_replicates,
        procedure.n_splits,
        procedure.split_varied,
        float(np.mean(trains)) if trains else None,
        float(np.mean(tests)) if tests else None,
        not procedure.on_validation_folds,
    )


def _grid(table: pd.DataFrame, metric: str, procedure: Procedure) -> np.ndarray:
    """R x S matrix of a metric (NaN where a model is missing)."""
    rows = table[table["metric"] == metric]
    grid = rows.pivot_table(index="replicate", columns="split", values="estimate", aggfunc="first", dropna=False)
    return grid.reindex(index=list(procedure.replicates), columns=list(procedure.splits)).to_numpy(float)


def _applicable(design: _Design, paired: bool, n_procedures: int) -> dict[str, str]:
    """Test -> empty string when applicable, else why not."""
    why = {}
    units = design.n_replicates * design.n_splits
    why["probability"] = (
        ""
        if design.n_replicates >= 2
        else (f"P(A>B) needs at least 2 replicates of each procedure, found {design.n_replicates}")
    )
    needs_pairs = "" if paired else "the t-tests need paired replicates (inputs compared with --unpaired)"
    if design.shared_test:
        why["corrected_t"] = why["bayesian"] = why["naive_t"] = why["5x2cv"] = SHARED_TEST_REASON
    elif needs_pairs:
        why["corrected_t"] = why["bayesian"] = why["naive_t"] = why["5x2cv"] = needs_pairs
    else:
        if units < 2:
            why["corrected_t"] = f"the t-tests need at least 2 trained models per procedure, found {units}"
        elif not design.resampled:
            why["corrected_t"] = (
                "the data split was the same in every replicate (only seeds varied): the corrected "
                "resampled t-tests assume resampled training sets"
            )
        elif design.n_splits == 1 and (design.n_train is None or design.n_test is None):
            why["corrected_t"] = "the train/validation sizes are not listed in groups/ of the MAPS"
        else:
            why["corrected_t"] = ""
        why["bayesian"] = why["corrected_t"]
        why["naive_t"] = "" if units >= 2 else why["corrected_t"]
        why["5x2cv"] = (
            ""
            if design.is_5x2
            else (
                f"the 5x2cv tests need 5 replicates of a 2-fold cross-validation with the split re-drawn per replicate "
                f"(train --replicates 5 --n_splits 2); this design is {design.n_replicates} replicate(s) x "
                f"{design.n_splits} split(s)" + ("" if design.split_varied else " with a fixed split")
            )
        )
    if n_procedures < 3:
        why["friedman"] = "Friedman's test compares three procedures or more"
    elif not paired:
        why["friedman"] = "Friedman's test needs paired replicates (blocks)"
    elif design.n_replicates < 2:
        why["friedman"] = f"Friedman's test needs at least 2 replicates, found {design.n_replicates}"
    else:
        why["friedman"] = ""
    return why


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


# ------------------------------------------------------------------------------------------------ tests


def _base(metric, table, options, design, a_name, b_name) -> dict:
    first = table.iloc[0]
    return {
        "metric": metric,
        "confidence": options.confidence_level,
        "n_subjects": int(first["n_subjects"]),
        "n_images": int(first["n_images"]),
        "seed": options.seed,
        "procedure_a": a_name,
        "procedure_b": b_name,
        "higher_is_better": higher_is_better(metric),
        "n_replicates": design.n_replicates,
        "n_splits": design.n_splits,
        "n_resamples": 0,
        "se": np.nan,
        "statistic": np.nan,
        "pvalue": np.nan,
        "adjusted_pvalue": np.nan,
        "significant": np.nan,
        "meaningful": np.nan,
        "p_left": np.nan,
        "p_rope": np.nan,
        "p_right": np.nan,
        "conclusion": "",
    }


def _verdict(significant: bool, meaningful: bool, b_better: bool) -> str:
    if meaningful:
        return "significant and meaningful"
    if significant:
        return "significant but not meaningful"
    if b_better:
        return "significant in favour of B"
    return "not significant"


def _crossed_rows(metric, values_a, values_b, options, paired, base) -> list[dict]:
    """The crossed-design comparison on a shared test group: the difference and P(A>B) in the population."""
    from clinicadl.stats.crossed_inference import compare_values

    res = compare_values(values_a, values_b, paired=paired, gamma=options.gamma, n_resamples=options.n_resamples,
                         confidence_level=options.confidence_level, rng=options.seed,
                         higher_is_better=higher_is_better(metric))
    alpha = 1 - options.confidence_level
    comp = res.components
    difference = base | {
        "test": "expected difference", "estimate": res.difference, "ci_low": res.confidence_interval.low,
        "ci_high": res.confidence_interval.high, "se": res.standard_error,
        "method": "crossed-design variance of the difference, per-component t (replicate df "
                  f"{comp.df_replicate:g}, participant df {comp.df_participant:g})",
        "pvalue": res.pvalue, "significant": bool(res.pvalue < alpha), "scope": SCOPE_POPULATION,
        "conclusion": (f"Expected performance A - B = {res.difference:.4g}, {options.confidence_level:.0%} CI "
                       f"[{res.confidence_interval.low:.4g}, {res.confidence_interval.high:.4g}], p = "
                       f"{res.pvalue:.3g} (participant population, replicates and test set accounted for)."),
    }
    b_better = res.p_a_better_interval.high < 0.5
    probability = base | {
        "test": "P(A>B)", "estimate": res.p_a_better, "ci_low": res.p_a_better_interval.low,
        "ci_high": res.p_a_better_interval.high, "se": float(np.std(res.bootstrap_distribution, ddof=1)),
        "method": f"bootstrap of {'paired ' if paired else ''}replicates and participants jointly (percentile)",
        "n_resamples": res.n_resamples, "significant": res.significant, "meaningful": res.meaningful,
        "gamma": res.gamma, "verdict": _verdict(res.significant, res.meaningful, b_better),
        "conclusion": res.conclusion, "scope": SCOPE_POPULATION,
    }
    return [difference, probability]


def _pair_tests(metric, ga, gb, chosen, options, design, paired, base, crossed=None
                ) -> tuple[list[dict], list[str]]:
    from clinicadl.stats.probability_better import probability_better

    rows, warns = [], []
    better = higher_is_better(metric)
    alpha = 1 - options.confidence_level
    scores_a, scores_b = np.nanmean(ga, axis=1), np.nanmean(gb, axis=1)
    if "probability" in chosen and crossed is not None:
        rows += _crossed_rows(metric, crossed[0], crossed[1], options, paired, base)
    elif "probability" in chosen:
        res = probability_better(
            scores_a,
            scores_b,
            gamma=options.gamma,
            confidence_level=options.confidence_level,
            n_resamples=options.n_resamples,
            paired=paired,
            higher_is_better=better,
            rng=options.seed,
        )
        b_better = res.confidence_interval.high < 0.5
        rows.append(
            base
            | {
                "test": "P(A>B)",
                "estimate": res.estimate,
                "ci_low": res.confidence_interval.low,
                "ci_high": res.confidence_interval.high,
                "se": res.standard_error,
                "method": f"percentile bootstrap over {'paired ' if paired else ''}replicates",
                "n_resamples": res.n_resamples,
                "significant": res.significant,
                "meaningful": res.meaningful,
                "gamma": res.gamma,
                "verdict": _verdict(res.significant, res.meaningful, b_better),
                "conclusion": res.conclusion,
                "scope": SCOPE_FOLDS,
            }
        )
    if not paired:
        return rows, warns
    differences = ga - gb
    if np.isnan(differences).any():
        raise InputError(f"{metric} is undefined for some trained model: the paired tests need a value for each.")
    if "corrected_t" in chosen:
        from clinicadl.stats.corrected_ttest import corrected_repeated_kfold_ttest, corrected_resampled_ttest

        if design.n_splits >= 2:
            res = corrected_repeated_kfold_ttest(
                differences,
                n_folds=design.n_splits,
                n_repeats=design.n_replicates,
                n_train=design.n_train,
                n_test=design.n_test,
            )
            name = "corrected repeated k-fold t"
        else:
            res = corrected_resampled_ttest(differences[:, 0], n_train=design.n_train, n_test=design.n_test)
            name = "corrected resampled t"
        rows.append(base | _t_row(res, name, options, alpha))
    if "naive_t" in chosen:
        from clinicadl.stats.corrected_ttest import naive_resampled_ttest

        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            res = naive_resampled_ttest(differences.ravel())
        rows.append(base | _t_row(res, "UNCORRECTED resampled t (over-rejects)", options, alpha))
        warns.append(NAIVE_WARNING)
    if "5x2cv" in chosen:
        from clinicadl.stats.five_by_two import five_by_two_f, five_by_two_t

        for res, name in ((five_by_two_t(differences), "5x2cv t"), (five_by_two_f(differences), "5x2cv F")):
            rows.append(
                base
                | {
                    "test": name,
                    "estimate": float(differences.mean()),
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "method": res.method,
                    "statistic": res.statistic,
                    "pvalue": res.pvalue,
                    "significant": bool(res.pvalue < alpha),
                }
            )
    if "bayesian" in chosen:
        from clinicadl.stats.bayesian_ttest import correlated_bayesian_ttest

        if design.n_train and design.n_test:
            rho = design.n_test / (design.n_train + design.n_test)
        else:
            rho = 1 / design.n_splits
        res = correlated_bayesian_ttest(differences, rho=rho, rope=options.rope)
        level = options.confidence_level
        if res.posterior_scale > 0:
            low, high = sps.t.interval(level, res.df, loc=res.posterior_mean, scale=res.posterior_scale)
        else:
            low = high = res.posterior_mean
        a_better, b_better = (res.p_right, res.p_left) if better else (res.p_left, res.p_right)
        rows.append(
            base
            | {
                "test": "Bayesian correlated t",
                "estimate": res.posterior_mean,
                "ci_low": low,
                "ci_high": high,
                "se": res.posterior_scale,
                "method": f"posterior, rho = {rho:.3f}",
                "p_left": res.p_left,
                "p_rope": res.p_rope,
                "p_right": res.p_right,
                "rope": res.rope,
                "conclusion": _bayes_words(a_better, res.p_rope, b_better, options.rope, level),
            }
        )
    return rows, warns


def _t_row(res, name, options, alpha) -> dict:
    low, high = res.confidence_interval(options.confidence_level)
    return {
        "test": name,
        "estimate": res.mean_difference,
        "ci_low": low,
        "ci_high": high,
        "se": res.standard_error,
        "method": res.method,
        "statistic": res.statistic,
        "pvalue": res.pvalue,
        "significant": bool(res.pvalue < alpha),
    }


def _bayes_words(a_better: float, rope: float, b_better: float, width: float, level: float) -> str:
    probability = {
        "A is practically better": a_better,
        "A and B are practically equivalent": rope,
        "B is practically better": b_better,
    }
    best = max(probability, key=probability.get)
    if probability[best] >= level:
        return f"{best} (posterior probability {probability[best]:.2f}, ROPE +/-{width:g})."
    return (
        f"No decision at {level:.0%}: P(A better) = {a_better:.2f}, P(equivalent, ROPE +/-{width:g}) = "
        f"{rope:.2f}, P(B better) = {b_better:.2f}."
    )


def _ranks(metric, grids, names, table, options, design, alpha) -> tuple[list[dict], dict]:
    from clinicadl.stats.rank_tests import friedman_test, nemenyi_critical_difference, pairwise_wilcoxon_holm

    scores = np.column_stack([np.nanmean(g, axis=1) for g in grids])
    better = higher_is_better(metric)
    friedman = friedman_test(scores, higher_is_better=better)
    cd = nemenyi_critical_difference(len(names), scores.shape[0], alpha=alpha)
    wilcoxon = pairwise_wilcoxon_holm(scores)
    first = table.iloc[0]
    rows = [
        {
            "metric": metric,
            "estimate": float(rank),
            "ci_low": np.nan,
            "ci_high": np.nan,
            "se": np.nan,
            "method": "average rank (1 = best)",
            "confidence": options.confidence_level,
            "n_resamples": 0,
            "n_subjects": int(first["n_subjects"]),
            "n_images": int(first["n_images"]),
            "seed": options.seed,
            "procedure": name,
            "mean_score": float(scores[:, j].mean()),
            "friedman_statistic": friedman.statistic,
            "friedman_pvalue": friedman.pvalue,
            "friedman_method": friedman.method,
            "critical_difference": cd,
            "n_blocks": friedman.n_blocks,
            "higher_is_better": better,
        }
        for j, (name, rank) in enumerate(zip(names, friedman.average_ranks))
    ]
    return rows, {"wilcoxon": wilcoxon, "cd": cd, "ranks": friedman.average_ranks, "friedman": friedman}


# -------------------------------------------------------------------------------------------------- main


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
    procedures = [
        load_procedure(p, data_group, selection_metric=options.selection_metric, splits=splits) for p in inputs
    ]
    check_same_test_images(procedures)
    names = _names(procedures)
    paired = _check_pairing(procedures, names, options.unpaired)
    design = _design(procedures[0])
    if not paired:
        design = _Design(
            min(p.n_replicates for p in procedures),
            min(p.n_splits for p in procedures),
            design.split_varied,
            design.n_train,
            design.n_test,
        )
    why = _applicable(design, paired, len(procedures))
    chosen, notes = _selected_tests(options, why)
    for p in procedures:
        notes += list(p.notes)
    if "friedman" in chosen and design.shared_test:
        notes.append("Friedman's test, Nemenyi's critical difference and the Wilcoxon tests rank the replicates on "
                     "this test set: their conclusions are about this test set, not the participant population.")
    if not all(p.split_varied for p in procedures):
        notes.append(FIXHOPT_NOTE + " Conclusions then hold for this data split only.")
    if paired and design.n_splits >= 2 and not design.split_varied and design.n_replicates > 1:
        notes.append(
            "The replicates reuse the same folds: the repeated k-fold correction assumes re-drawn folds "
            "and the t-tests are then somewhat liberal."
        )
    if not paired:
        notes.append(
            "Unpaired comparison (--unpaired): P(A>B) over all pairs of runs (Mann-Whitney); the paired "
            "t-tests are not run."
        )
    metrics = options.metrics or _default_metrics(procedures[0])
    model_options = EvaluationOptions(
        metrics=tuple(metrics),
        n_resamples=options.n_resamples,
        confidence_level=options.confidence_level,
        seed=options.seed,
    )
    tables = [model_table(p, model_options) for p in procedures]
    grids = {m: [_grid(t, m, p) for t, p in zip(tables, procedures)] for m in metrics}
    alpha = 1 - options.confidence_level
    rows, rank_rows, warns, rank_info = [], [], [], {}
    crossed = {}
    if design.shared_test and "probability" in chosen:
        from clinicadl.evaluate.procedure_expected import crossed_inputs

        laid_out = [{} for _ in procedures]  # each procedure's predictions, built once for all metrics
        crossed = {m: [crossed_inputs(p, m, cache)[0] for p, cache in zip(procedures, laid_out)] for m in metrics}
    for metric in metrics:
        for i, j in combinations(range(len(procedures)), 2):
            base = _base(metric, tables[0], options, design, names[i], names[j])
            pair = (crossed[metric][i], crossed[metric][j]) if crossed else None
            pair_rows, pair_warns = _pair_tests(
                metric, grids[metric][i], grids[metric][j], chosen, options, design, paired, base, pair
            )
            rows += pair_rows
            warns += pair_warns
        if "friedman" in chosen:
            metric_rows, rank_info[metric] = _ranks(metric, grids[metric], names, tables[0], options, design, alpha)
            rank_rows += metric_rows
    tests = pd.DataFrame(rows)
    if len(tests):
        default_scope = SCOPE_TEST_SET if design.shared_test else SCOPE_FOLDS
        tests["scope"] = tests["scope"].fillna(default_scope) if "scope" in tests else default_scope
    if len(procedures) >= 3 and len(tests):
        tests = _adjust(tests, rank_info, names)
    scores = _score_table(tables, names, metrics)
    target = (
        Path(output)
        if output is not None
        else (evaluation_dir(procedures[0].path, data_group) / comparison_file_name([p.path for p in procedures]))
    )
    meta = provenance(
        [m.predictions.source for p in procedures for m in p.models],
        asdict(options) | {"tests_run": chosen, "paired": paired},
    )
    meta["designs"] = [design_record(p) for p in procedures]
    meta["notes"] = list(dict.fromkeys(notes))
    written = [write_table(target, tests, meta)]
    ranks = pd.DataFrame(rank_rows)
    if len(ranks):
        written.append(write_table(target.with_name(target.stem + "_ranks.tsv"), ranks, meta))
    if plots:
        from clinicadl.evaluate.procedure_plots import plot_critical_difference, plot_probability_better

        probability = tests[tests["test"] == "P(A>B)"] if len(tests) else tests
        if len(probability):
            written.append(
                plot_probability_better(
                    probability.reset_index(drop=True), target.with_name(target.stem + "_probability.png")
                )
            )
        for metric, info in rank_info.items():
            written.append(
                plot_critical_difference(
                    names,
                    info["ranks"],
                    info["cd"],
                    target.with_name(f"{target.stem}_cd_{metric}.png"),
                    title=f"{metric}: average ranks over {design.n_replicates} replicates (1 = best); "
                    f"Nemenyi CD at alpha = {alpha:g}",
                )
            )
    return ProcedureComparison(
        tests,
        scores,
        ranks,
        tuple(procedures),
        paired,
        tuple(written),
        tuple(dict.fromkeys(notes)),
        tuple(dict.fromkeys(warns)),
    )


def _adjust(tests: pd.DataFrame, rank_info: dict, names: Sequence[str]) -> pd.DataFrame:
    """Holm-adjust the pairwise p-values of each (metric, test); add the pairwise Wilcoxon-Holm rows."""
    from clinicadl.stats.rank_tests import holm

    tests = tests.copy()
    for _, index in tests[tests["pvalue"].notna()].groupby(["metric", "test"]).groups.items():
        tests.loc[index, "adjusted_pvalue"] = holm(tests.loc[index, "pvalue"].to_numpy(float))
    extra = []
    for metric, info in rank_info.items():
        w = info["wilcoxon"]
        for i, j in combinations(range(len(names)), 2):
            template = tests[(tests["metric"] == metric)].iloc[0].to_dict()
            extra.append(
                template
                | {
                    "procedure_a": names[i],
                    "procedure_b": names[j],
                    "test": "Wilcoxon signed-rank (Holm)",
                    "estimate": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "se": np.nan,
                    "method": w.method,
                    "n_resamples": 0,
                    "statistic": w.statistic[i, j],
                    "pvalue": w.pvalue[i, j],
                    "adjusted_pvalue": w.adjusted_pvalue[i, j],
                    "significant": np.nan,
                    "meaningful": np.nan,
                    "p_left": np.nan,
                    "p_rope": np.nan,
                    "p_right": np.nan,
                    "conclusion": "",
                    "verdict": np.nan,
                }
            )
    if extra:
        tests = pd.concat([tests, pd.DataFrame(extra)], ignore_index=True)
    adjusted = tests["adjusted_pvalue"].notna()
    alpha = 1 - float(tests["confidence"].iloc[0])
    tests.loc[adjusted, "significant"] = tests.loc[adjusted, "adjusted_pvalue"] < alpha
    return tests


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


# ------------------------------------------------------------------------------------------------ console


def format_procedure_comparison(result: ProcedureComparison) -> str:
    """Readable summary: the design, the scores, each test, and in words what may and may not be concluded."""
    names = _names(result.procedures)
    p0 = result.procedures[0]
    first = result.tests.iloc[0] if len(result.tests) else None
    lines = [
        f"Procedures compared on group {p0.data_group!r}"
        + (
            f" ({int(first['n_subjects'])} test participants, {int(first['n_images'])} images)"
            if first is not None
            else ""
        )
        + ":"
    ]
    for letter, (name, p) in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", zip(names, result.procedures)):
        lines.append(
            f"  {letter if len(names) == 2 else ' '} {name}: {p.n_replicates} replicate(s) x {p.n_splits} "
            f"split(s), varied: {', '.join(p.varied_sources) or 'none'} ({p.path})"
        )
    lines.append(
        "  paired replicate by replicate through their seeds" if result.paired else "  NOT paired (--unpaired)"
    )
    for metric, frame in result.tests.groupby("metric", sort=False):
        direction = "higher is better" if bool(frame["higher_is_better"].iloc[0]) else "lower is better"
        level = round(float(frame["confidence"].iloc[0]) * 100)
        lines += [
            "",
            f"{metric} ({direction}); mean over trained models: "
            + ", ".join(
                f"{r.procedure} {format_number(r.mean)} [{format_number(r.min)}-{format_number(r.max)}]"
                for r in result.scores[result.scores["metric"] == metric].itertuples()
            ),
        ]
        adjusted = frame["adjusted_pvalue"].notna().any()
        header = ["A", "B", "test", "estimate", f"{level}% interval", "p-value"] + (["Holm p"] if adjusted else [])
        rows = []
        for r in frame.itertuples():
            estimate = format_number(r.estimate)
            interval = "" if np.isnan(r.ci_low) else f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]"
            if r.test == "Bayesian correlated t":
                interval += f" P(A>,=,B>)={r.p_right:.2f},{r.p_rope:.2f},{r.p_left:.2f}"
            row = [
                r.procedure_a,
                r.procedure_b,
                r.test,
                estimate,
                interval,
                "" if np.isnan(r.pvalue) else format_pvalue(r.pvalue),
            ]
            if adjusted:
                row.append("" if np.isnan(r.adjusted_pvalue) else format_pvalue(r.adjusted_pvalue))
            rows.append(row)
        lines.append(render_table(header, rows))
        lines += _words(frame, result, metric, level)
    if len(result.ranks):
        for metric, frame in result.ranks.groupby("metric", sort=False):
            r0 = frame.iloc[0]
            lines += [
                "",
                f"{metric}: Friedman {r0.friedman_method} = {format_number(r0.friedman_statistic)}, "
                f"{_p_text(r0.friedman_pvalue)} over {int(r0.n_blocks)} replicates; Nemenyi critical "
                f"difference of average ranks = {format_number(r0.critical_difference, 2)}; average ranks (1 = best): "
                + ", ".join(f"{r.procedure} {r.estimate:.2f}" for r in frame.sort_values("estimate").itertuples()),
            ]
    return "\n".join(lines)


def _p_text(p: float) -> str:
    text = format_pvalue(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _words(frame: pd.DataFrame, result: ProcedureComparison, metric: str, level: int) -> list[str]:
    may, may_not = [], []
    for r in frame.itertuples():
        pair = f"A = {r.procedure_a}, B = {r.procedure_b}"
        scope = f" [about: {r.scope}]" if isinstance(getattr(r, "scope", None), str) else ""
        if r.test == "P(A>B)":
            may.append(f"{pair}: P(A>B) is {r.verdict} (gamma = {r.gamma:g}). {r.conclusion}{scope}")
        elif r.test == "expected difference":
            p = r.adjusted_pvalue if not np.isnan(r.adjusted_pvalue) else r.pvalue
            found = "a significant" if p < 1 - level / 100 else "no significant"
            may.append(f"{pair}: the crossed-design test finds {found} difference of the expected {metric} "
                       f"(A - B = {format_number(r.estimate)}, {_p_text(p)}){scope}.")
        elif r.test.startswith(("corrected", "5x2cv")):
            p = r.adjusted_pvalue if not np.isnan(r.adjusted_pvalue) else r.pvalue
            if p < 1 - level / 100:
                may.append(
                    f"{pair}: the {r.test} test finds a significant difference of the mean {metric} "
                    f"(A - B = {format_number(r.estimate)}, {_p_text(p)})."
                )
            else:
                may.append(
                    f"{pair}: the {r.test} test finds no significant difference of the mean {metric} "
                    f"({_p_text(p)}); not significant is not evidence of equivalence."
                )
        elif r.test == "Bayesian correlated t":
            may.append(f"{pair}: Bayesian correlated t-test: {r.conclusion}")
    may_not.append(
        "That the difference holds on another cohort, scanner or development sample: replicates re-split and "
        "re-seed the same development sample, and the population tests generalise over participants of the same "
        "population only."
    )
    if not all(p.split_varied for p in result.procedures):
        may_not.append("That the difference holds for other data splits: only seeds varied.")
    if any(t.startswith("UNCORRECTED") for t in frame["test"]):
        may_not.append("Anything from the uncorrected t-test: " + NAIVE_WARNING)
    return ["What may be concluded:", *(f"- {s}" for s in may), "What may not:", *(f"- {s}" for s in may_not)]
