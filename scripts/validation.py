"""Validation study of every interval method and test of the package: writes ``docs/validation.md``.

One command (``make validation``) runs the scenarios of :mod:`clinicadl.stats.simulation` with
:func:`clinicadl.stats.simulation.harness.simulate` and writes the coverage, type I error and power tables, their
Monte-Carlo standard errors, the plots (``docs/validation/*.png``), the references it reproduces, the
defaults the tables support and the known failures they reproduce. Seeds are fixed: a rerun gives the same
numbers (finished chunks are cached in ``build/validation-cache``; deleting the cache changes nothing but the
time it takes).

``--reduced`` runs a smaller study (fewer simulated studies and sizes) with larger, stated tolerances; it is
what ``tests/stats/test_validation_reduced.py`` runs in CI. Every run also writes ``validation/results.json``
(all results and verdicts) next to the Markdown file.

Usage::

    python scripts/validation.py                    # full study -> docs/validation.md (+ docs/validation/)
    python scripts/validation.py --reduced --out /tmp/v/validation.md
    python scripts/validation.py --n_jobs 2

References
----------
Morris T. P., White I. R., Crowther M. J. (2019). Using simulation studies to evaluate statistical methods.
Statistics in Medicine 38(11), 2074-2102.
Bates S., Hastie T., Tibshirani R. (2023). Cross-validation: what does it estimate and how well does it do it?
JASA 119(546), 1434-1445.
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
El Jurdi R., Varoquaux G., Colliot O. (2023). Confidence intervals for performance estimates in 3D medical image
segmentation. arXiv:2307.10926.
Nadeau C., Bengio Y. (2003). Inference for the generalization error. Machine Learning 52(3), 239-281.
Wilson E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22, 209-212.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread per worker process
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

from scipy import stats  # noqa: E402

from clinicadl.stats import simulation as sc  # noqa: E402
from clinicadl.stats.simulation import DEPARTURE_SE, SimulationResult, mc_se, simulate, write_atomic  # noqa: E402
from clinicadl.stats.simulation import crossed as cs  # noqa: E402
from clinicadl.stats.simulation import sources as vs  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "validation.md"
CACHE = REPO / "build" / "validation-cache"
ROOT_SEED = 20_261_127
CHUNK = 250

# Tolerances of the reduced run, stated in the report: a claimed rate must lie within
# max(3 MC SE, TOLERANCE) of its nominal value, a reproduced failure beyond 3 MC SE on the stated side.
REDUCED_TOLERANCE = {"coverage": 0.03, "type I error": 0.03}


@dataclass(frozen=True)
class Cell:
    """One scenario at one size, the procedures run on it, and what the study expects of each."""

    section: str
    scenario: object
    procedures: tuple
    n_sim: int
    n_sim_reduced: int | None  # None: not in the reduced run
    label: str  # size column of the table
    claims: tuple[str, ...] = ()  # procedures that must hold their nominal rate (within the tolerance)
    conservative: tuple[str, ...] = ()  # by construction: coverage at least nominal, type I error at most alpha
    failures: dict = field(default_factory=dict)  # procedure -> "under" | "over" | "biased"
    exact: dict = field(default_factory=dict)  # procedure -> exact coverage (oracle of the simulation)

    def claim(self, procedure: str) -> str | None:
        """What the study expects of ``procedure`` in this cell (None: nothing, or a known failure)."""
        if procedure in self.claims:
            return "nominal"
        if procedure in self.conservative:
            return "conservative"
        if procedure in self.exact:
            return "exact"
        return None


def cells(nested: bool, full: bool = True) -> list[Cell]:
    """The study: every scenario, size and procedure, with R for the full and the reduced run."""
    out = []
    acc = tuple(sc.proportion_procedure(m) for m in ("wilson", "clopper-pearson", "jeffreys", "wald", "percentile"))
    closed = ("wilson", "clopper-pearson", "jeffreys", "wald")
    for spread in (0.0, 0.1):
        for n, reduced in ((30, None), (100, 2000), (1000, None if spread else 2000)):
            scenario = sc.BernoulliAccuracy(n=n, p=0.8, p_spread=spread)
            label = f"n={n}, p=0.8" if not spread else f"n={n}, p~U(0.7,0.9)"
            exact = {m: scenario.exact_coverage(m) for m in closed}
            out.append(Cell("accuracy", scenario, acc, 10_000, reduced, label, exact=exact,
                            claims=("wilson",) if spread else (), conservative=("clopper-pearson",) if spread else ()))
    auc = (sc.bootstrap_procedure("AUC", "percentile"), sc.bootstrap_procedure("AUC", "bca"),
           sc.bootstrap_procedure("AUC", "auto"), sc.delong_procedure())
    for n, reduced in ((30, None), (100, 1000), (300, None)):
        out.append(Cell("auc", sc.BinormalScores(n=n), auc, 2000, reduced, f"n={n}",
                        claims=("auto bootstrap",) if n >= 100 else (),
                        failures={"percentile bootstrap": "under", "delong": "under"} if n < 50 else {}))
    clustered = (sc.bootstrap_procedure("AUC", "percentile"), sc.bootstrap_procedure("AUC", "bca"),
                 sc.bootstrap_procedure("AUC", "auto"), sc.bootstrap_procedure("AUC", "bca", unit="image"))
    for n, reduced in ((50, 1000), (200, None)):
        out.append(Cell("clustered", sc.BinormalScores(n=n, clustered=True), clustered, 2000, reduced, f"n={n}",
                        claims=("auto bootstrap",), failures={"bca bootstrap (image)": "under"}))
    values = (sc.values_procedure("mean", "t"), sc.values_procedure("mean", "percentile"),
              sc.values_procedure("median", "order-statistic"), sc.values_procedure("median", "percentile"))
    for n, reduced in ((20, None), (100, 1000)):
        out.append(Cell("dice", sc.BetaValues(n=n), values, 4000, reduced, f"n={n}",
                        claims=("mean: t",) if n >= 100 else (), conservative=("median: order-statistic",)))
    for n, reduced in ((10, None), (20, 4000)):
        out.append(Cell("skewed", sc.LognormalValues(n=n), values, 8000, reduced, f"n={n}",
                        conservative=("median: order-statistic",),
                        failures={"median: percentile bootstrap": "under", "mean: t": "under",
                                  "mean: percentile bootstrap": "under"}))
    replicate = (sc.replicate_procedure("t"), sc.replicate_procedure("t + test variance"),
                 sc.replicate_procedure("variance"))
    for r, reduced in ((5, None), (10, 4000), (30, None)):
        out.append(Cell("replicates", sc.TwoStageReplicates(n_replicates=r), replicate, 10_000, reduced,
                        f"R={r} IdealEst",
                        claims=("replicate variance: chi-square",) + (("replicates: t + test variance",)
                                                                      if r >= 10 else ()),
                        failures={"replicates: t": "under"}))
        out.append(Cell("replicates", sc.TwoStageReplicates(n_replicates=r, fixed_split=True), replicate, 10_000,
                        reduced, f"R={r} FixHOptEst",
                        failures={"replicates: t": "under", "replicates: t + test variance": "under",
                                  "replicate variance: chi-square": "biased"}))
    tests = (sc.ttest_procedure("corrected"), sc.ttest_procedure("naive"))
    for j, n_train, n_test, reduced in ((15, 160, 40, 4000), (100, 180, 20, None)):
        out.append(Cell("resampled-t", sc.ResampledDifferences(j, n_train, n_test), tests, 10_000, reduced,
                        f"J={j} null", claims=("corrected resampled t",), failures={"naive resampled t": "over"}))
        out.append(Cell("resampled-t", sc.ResampledDifferences(j, n_train, n_test, delta=1.0), tests, 10_000,
                        None, f"J={j} delta=1"))
    out.append(Cell("centroid-cv", sc.CentroidCV(), tests, 2000, 500, "10x10-fold null",
                    claims=("corrected resampled t",), failures={"naive resampled t": "over"}))
    five = (sc.five_by_two_procedure("t"), sc.five_by_two_procedure("F"))
    out.append(Cell("five-by-two", sc.CentroidCV(n_folds=2, n_repeats=5), five, 10_000, 4000, "5x2-fold null",
                    conservative=("5x2cv t", "5x2cv F")))
    pair = tuple(sc.comparison_procedure(m) for m in ("mcnemar", "delong", "permutation", "paired bootstrap"))
    out.append(Cell("two-models", sc.TwoModels(n=100), pair, 4000, 1000, "n=100 null",
                    claims=("DeLong (AUC)", "permutation (AUC)"), conservative=("McNemar (accuracy)",)))
    out.append(Cell("two-models", sc.TwoModels(n=100, shift=0.5), pair, 2000, None, "n=100 AUC +0.084",
                    claims=("paired bootstrap (AUC difference)",)))
    out += crossed_cells(full)
    out += source_cells()
    # the naive interval is cheap (10 fits, vectorised over studies): more studies; nested CV costs 55 fits
    # x 50 repetitions per study
    bates = sc.LogisticCV(n=100, p=10)
    out.append(Cell("nested-cv", bates, (sc.cv_procedure("naive"),), 4000, 2000, "n=100, p=10",
                    failures={"naive CV": "under"}))
    if nested:
        out.append(Cell("nested-cv", bates, (sc.cv_procedure("nested", n_repeats=50),), 1000, 400, "n=100, p=10",
                        claims=("nested CV (R=50)",)))
    return out


def source_cells() -> list[Cell]:
    """The variance study: one source's SD from R models (R = 5, 10, 30), and split/seed from a nested design."""
    out = []
    procedure = (vs.SOURCE_SD_PROCEDURE,)
    for source in ("init", "split", "all"):
        for r in (5, 10, 30):
            reduced = 300 if (source, r) == ("init", 10) else None
            # R = 5: the kurtosis correction can only lower the 4 degrees of freedom: conservative by construction
            claim = {"conservative": (vs.SOURCE_SD_PROCEDURE.name,)} if r == 5 else {
                "claims": (vs.SOURCE_SD_PROCEDURE.name,)}
            out.append(Cell("sources", vs.SingleSourceStudy(source, r, 100), procedure, 1000, reduced,
                            f"{source}, R={r}", **claim))
    split_name, seed_name = (p.name for p in vs.NESTED_PROCEDURES)
    # with 3 splits the within-split variances differ from split to split more than 6 pooled degrees of freedom say
    out.append(Cell("sources", vs.NestedSourceStudy(3, 3, 100), vs.NESTED_PROCEDURES, 1000, None, "nested S=3 K=3",
                    claims=(split_name,), failures={seed_name: "under"}))
    out.append(Cell("sources", vs.NestedSourceStudy(5, 4, 100), vs.NESTED_PROCEDURES, 1000, None, "nested S=5 K=4",
                    claims=(split_name, seed_name)))
    return out


CROSSED_SD = {"small": 0.1, "dominant": 0.3}
"""Replicate SD on the margin scale: replicate SD of BA about 0.015 (small) and 0.045 (dominant: 2-4 times the
test-set SD at n = 200)."""


def crossed_cells(full: bool = True) -> list[Cell]:
    """The crossed design: R in {3, 10, 30} x n in {20, 50, 200} x replicate SD, and the procedure comparisons.

    With ``full``, the R = 10 cells also check the participant and interaction components of the BA, whose truth
    comes from a large fixed-seed simulation (a few seconds per cell).
    """
    out = []
    for level, sd in CROSSED_SD.items():
        for r in (3, 10, 30):
            for n in (20, 50, 200):
                components = full and r == 10
                scenario = cs.CrossedReplicates(n=n, n_replicates=r, sd_replicate=sd, component_truth=components)
                procedures = [cs.crossed_procedure(m) for m in cs.CROSSED_METRICS]
                procedures += [cs.crossed_procedure("BA", "previous"), cs.crossed_procedure("AUC", "previous")]
                procedures.append(cs.crossed_procedure("BA", "replicate variance"))
                if components:
                    procedures += [cs.crossed_procedure("BA", "participant variance"),
                                   cs.crossed_procedure("BA", "interaction variance")]
                reduced = 300 if (r, n) == (10, 50) or (level, r, n) == ("dominant", 3, 200) else None
                # n = 20: sensitivity rests on 8 positives, fewer than MIN_PARTICIPANTS: no interval is printed
                claimed = tuple(f"crossed: {m}" for m in cs.CROSSED_METRICS if not (n == 20 and m == "sensitivity"))
                nominal = r >= 10 and n >= 50  # R = 3 (2 df) and n = 20 (8 positives): conservative by design
                out.append(Cell("crossed", scenario, tuple(procedures), 1000, reduced, f"{level} R={r} n={n}",
                                claims=claimed if nominal else (), conservative=() if nominal else claimed))
    extreme = cs.CrossedReplicates(n=200, n_replicates=10, sd_replicate=0.6)
    out.append(Cell("crossed", extreme, tuple(cs.crossed_procedure(m) for m in cs.CROSSED_METRICS), 1000, None,
                    "extreme R=10 n=200"))
    tests = tuple(cs.crossed_comparison_procedure(rule) for rule in ("difference", "P(A>B)", "replicates only",
                                                            "t over replicate pairs"))
    for n, r, sd_procedure, reduced in ((50, 10, 0.6, 300), (50, 30, 0.6, None), (200, 10, 0.6, None),
                                        (50, 10, 0.0, None)):
        scenario = cs.CrossedComparison(n=n, n_replicates=r, sd_procedure=sd_procedure)
        failures = ({"P(A>B) significant (replicates only, previous)": "over", "paired t over replicates": "over"}
                    if sd_procedure else {})
        out.append(Cell("crossed-compare", scenario, tests, 1000, reduced,
                        f"null, n={n} R={r}, interaction {sd_procedure:g}",
                        conservative=("crossed difference test", "P(A>B) significant (population)"), failures=failures))
    for n, reduced in ((50, None), (200, None)):
        scenario = cs.CrossedComparison(n=n, n_replicates=10, shift=0.4)
        out.append(Cell("crossed-compare", scenario, tests, 1000, reduced, f"A better by 0.4, n={n} R=10"))
    return out


SECTIONS = {
    "accuracy": ("Accuracy: binomial intervals",
                 "Bernoulli predictions, each correct with probability 0.8, or with a probability drawn per study "
                 "uniformly in [0.7, 0.9]. The coverage of a binomial interval at one p oscillates with n and p "
                 "because k is discrete (Brown, Cai & DasGupta 2001): at p = 0.8 and n = 100 the exact coverage "
                 "of Wilson's interval is 0.9405, of Jeffreys' 0.9547. Each row is therefore checked against its "
                 "exact coverage (a binomial sum: the oracle of the simulation itself), and the default is judged "
                 "on the coverage averaged over p. Clopper-Pearson is conservative by construction."),
    "auc": ("AUC: bootstrap and DeLong intervals",
            "Binormal scores (mu0 = -0.5, mu1 = 0.69, prevalence 0.5), one image per participant; "
            "AUC = Phi(1.19 / sqrt 2) = 0.800. Bootstrap: 1000 participant resamples per interval."),
    "clustered": ("Clustered sessions: participant vs image bootstrap",
                  "Binormal scores with 1-4 sessions per participant and a participant random effect (ICC 0.6). "
                  "The same truth as without clusters."),
    "dice": ("Per-case Dice (El Jurdi et al. 2023)",
             "Dice per case from a Beta law of mean 0.897 and SD 0.0278 (the values of El Jurdi et al. 2023); "
             "bootstrap: 2000 resamples."),
    "skewed": ("Skewed per-case values: mean and median",
               "Log-normal per-case values (log SD 1, skewness 6.2): median 1, mean exp(1/2)."),
    "replicates": ("Replicates of a learning procedure (Bouthillier et al. 2021)",
                   "R replicates scored on one shared test set: R_j = mu + b_j + e_j + t, SD split/hpo 0.02, seed "
                   "0.01, test set 0.02 (t drawn once per study). IdealEst redraws the split per replicate, "
                   "FixHOptEst fixes it once. Target of the mean intervals: mu; of the variance interval: the "
                   "variance between replicates sd_split^2 + sd_seed^2 = 0.0005 (bias in the table: estimate - "
                   "0.0005). *replicates: t* is the t interval over replicates alone: it ignores the sampling "
                   "error of the test set that all replicates share, and under-covers more as R grows. "
                   "*t + test variance* is what `clinicadl evaluate procedure` reports (replicate variance plus "
                   "the bootstrap variance of the shared test set, normal quantile). Under FixHOptEst every "
                   "interval misses the split variance and the variance between replicates is biased low (it "
                   "sees only the seeds): `evaluate procedure` prints a note when the split was not varied."),
    "resampled-t": ("Comparing two procedures: resampled t-tests (Nadeau & Bengio 2003)",
                    "J differences over random train/test splits, equicorrelated with rho = n_test / n; null "
                    "(difference 0) and an alternative (difference 1 SD: power). Level 0.05, two-sided."),
    "centroid-cv": ("Comparing two real learners on 10 x 10-fold CV",
                    "Two nearest-centroid classifiers of equal expected accuracy (200 cases), 10 repeats of "
                    "10-fold CV: an exact null with real, overlapping training sets."),
    "five-by-two": ("Comparing two real learners on 5 x 2-fold CV (Dietterich 1998; Alpaydin 1999)",
                    "The same two nearest-centroid classifiers, 5 repetitions of 2-fold CV: Dietterich's 5x2cv "
                    "paired t-test and Alpaydin's combined F-test, both known to be conservative."),
    "two-models": ("Comparing two trained models on the same participants",
                   "Two binormal models scored on the same 100 participants, noise correlation 0.5: equal AUC "
                   "(null) or model A's positive mean shifted by 0.5 (AUC +0.084: power). McNemar on accuracy "
                   "(exact below 25 discordant cases, hence conservative), DeLong and a 1000-permutation test on "
                   "the AUC, and the 95 % paired BCa bootstrap interval of the AUC difference (1000 resamples), "
                   "whose coverage of the true difference is checked under both."),
    "crossed": ("Crossed design: expected performance of a procedure (R models x one shared test set)",
                "The design `train --replicates R` produces: every trained model scored on the same participants. "
                "Margin of replicate r on participant j: class mean (1.3 for positives, 1.6 for negatives) + "
                "replicate effect (SD 0.1 small, 0.3 dominant, 0.6 extreme) + participant difficulty (SD 0.8, "
                "shared by all models) + participant x replicate interaction (SD 0.5) + session noise (SD 0.3); 40 % "
                "positives, 1-3 sessions per participant; expected BA about 0.92, AUC about 0.97 (near the bound). "
                "Truth by quadrature. *crossed* is what `evaluate procedure` reports "
                "(clinicadl.stats.expected_performance); *previous* the interval it printed before (replicate "
                "bootstrap + each model's whole test variance, normal quantile); *replicate variance* the "
                "replicate component (bias against its exact value; its two-way bootstrap interval is "
                "approximate). At R = 3 the replicate variance has 2 degrees of freedom: a valid interval is "
                "wide and over-covers when the replicate effect is small; at n = 20 (8 positives) the participant "
                "part has few, kurtosis-corrected degrees of freedom: both are claimed conservative (coverage at "
                "least nominal), the other cells nominal. A metric that rests on fewer than 10 participants (the "
                "sensitivity on the 8 positives of n = 20) gets no interval: those rows say so (coverage "
                "undefined); before this rule it covered 0.915 at R = 30."),
    "crossed-compare": ("Crossed design: comparing two procedures on the same participants",
                        "Two procedures with paired replicates (replicate effects correlated 0.5) on the same "
                        "participants, each participant with its own effect per procedure (participant x procedure "
                        "interaction SD 0.6, or 0): equal expected BA (null) or A's margin + 0.4 (power). *crossed "
                        "difference test*: `evaluate compare`'s test of the expected difference (two-sided 0.05); "
                        "*P(A>B) significant (population)*: the lower bound of its interval (replicate pairs and "
                        "participants resampled jointly) above 0.5, a one-sided 0.025 decision; the *previous* P(A>B) "
                        "resampled replicate pairs only and the *paired t over replicates* ignores the participants: "
                        "both are about this test set and over-reject when the procedures suit different "
                        "participants."),
    "sources": ("Variance study: the standard deviation due to each source (evaluate sources)",
                "The design `train --study sources` produces: R models re-drawing one source (or all) on a shared "
                "test set of 100 participants (40 % positives, 1-3 sessions, difficulty SD 0.8 shared by every "
                "model); each source adds an effect and a participant x model interaction to the margin (SDs: split "
                "0.25/0.35, init 0.12/0.3, order 0.08/0.25, augmentation 0.06/0.2, dropout 0.05/0.2, hpo 0.3/0.3); "
                "the score is the balanced accuracy. Truth of each study: the SD of the score over re-draws of the "
                "source in that world (4000 more models; its Monte-Carlo error is a few per cent of the variance). "
                "The nested design (S splits x K seed draws) separates the split (Graybill-Wang interval) from every "
                "seeded source (chi-square, kurtosis-corrected). At R = 5 the interval is conservative (the "
                "kurtosis correction only lowers 4 degrees of freedom); with 3 splits the seed interval under-covers "
                "(the within-split variance differs between splits): use 5 splits or more."),
    "nested-cv": ("Cross-validation intervals of the prediction error (Bates et al. 2023)",
                  "Logistic regression (L2 penalty 0.01, 0/1 loss), n = 100, p = 10 Gaussian features, 4 with "
                  "coefficient 1. Target: Err_XY, the exact error of the model fitted on the data at hand "
                  "(Gauss-Hermite quadrature). Nominal level 0.90 as in the paper; 10 folds."),
}


# ------------------------------------------------------------------------------------------------ verdicts


def verdict(result: SimulationResult, cell: Cell, tolerance: dict | None) -> tuple[str, bool | None]:
    """(text, passed) of one row: passed is None when the study expects nothing of it."""
    name = result.procedure
    if result.n_undefined == result.n_sim:
        return "no interval printed (declined, see the section)", None
    if result.n_undefined > result.n_sim / 2:
        return (f"printed in {result.n_sim - result.n_undefined} of {result.n_sim} studies only (declined in the "
                "others)"), None
    claim = cell.claim(name)
    slack = max(DEPARTURE_SE * result.rate_se, (tolerance or {}).get(result.measure, 0.0))
    exact = cell.exact.get(name)
    agrees = "" if exact is None else f"; exact {exact:.4f}" + (
        "" if abs(result.rate - exact) <= DEPARTURE_SE * mc_se(exact, result.n_sim) else " **differs**")
    if claim == "nominal":
        ok = abs(result.rate - result.nominal_rate) <= slack and "differs" not in agrees
        return ("nominal" if ok else "**misses nominal**") + agrees, ok
    if claim == "conservative":
        if result.kind == "interval":
            ok = result.rate >= result.nominal_rate - slack and "differs" not in agrees
            return ("at least nominal (conservative)" if ok else "**below nominal**") + agrees, ok
        ok = result.rate <= result.nominal_rate + slack
        return ("at most nominal (conservative)" if ok else "**above nominal**"), ok
    if claim == "exact":
        ok = "differs" not in agrees
        return agrees.removeprefix("; "), ok
    expected = cell.failures.get(name)
    if expected == "biased":
        relative = result.bias / result.truth if result.truth else math.nan
        ok = result.bias < -DEPARTURE_SE * result.bias_se
        return (f"biased ({relative:+.0%})" if ok else "**bias not reproduced**"), ok
    if expected in ("under", "over"):
        ok = result.departure < -DEPARTURE_SE if expected == "under" else result.departure > DEPARTURE_SE
        word = {"under": "under-covers" if result.kind == "interval" else "conservative",
                "over": "over-rejects" if result.kind == "test" else "over-covers"}[expected]
        return (f"{word} (known)" if ok else f"**{word}: not reproduced**"), ok
    if math.isnan(result.nominal_rate):
        return "power", None
    if result.misses_nominal:
        side = "below" if result.rate < result.nominal_rate else "above"
        return f"{side} nominal", None
    return "nominal", None


# --------------------------------------------------------------------------------------------------- run


def run(reduced: bool, n_jobs: int = 1, cache: Path | None = None, progress: bool = False,
        sections: tuple[str, ...] | None = None) -> list[dict]:
    """Every cell of the study (or of ``sections``): one row per (cell, procedure) with its verdict."""
    rows = []
    nested = sc.nested_cv_available()
    for cell in cells(nested, full=not reduced):
        n_sim = cell.n_sim_reduced if reduced else cell.n_sim
        if n_sim is None or (sections is not None and cell.section not in sections):
            continue
        started = time.perf_counter()
        results = simulate(cell.scenario, cell.procedures, n_sim=n_sim, rng=ROOT_SEED, chunk_size=CHUNK,
                           n_jobs=n_jobs, cache_dir=cache, progress=progress)
        seconds = time.perf_counter() - started
        for result in results:
            text, passed = verdict(result, cell, REDUCED_TOLERANCE if reduced else None)
            rows.append({"section": cell.section, "label": cell.label, "scenario": cell.scenario.key,
                         "description": cell.scenario.description, "verdict": text, "passed": passed,
                         "claim": cell.claim(result.procedure),
                         "expected_failure": cell.failures.get(result.procedure), **asdict(result)})
        print(f"{cell.section:12s} {cell.label:18s} R={n_sim:<6d} {seconds:6.1f} s", flush=True)
    return rows


def reference_reproductions(rows: list[dict]) -> list[str]:
    """Wilson intervals for an accuracy of 0.8, and El Jurdi et al.'s Dice half-width."""
    from clinicadl.stats.proportion import proportion_ci

    lines = ["## References reproduced", "",
             "| reference | setting | published | clinicadl |", "|---|---|---|---|"]
    for n in (100, 1000):
        ci = proportion_ci(round(0.8 * n), n).confidence_interval
        lines.append(f"| Wilson (1927) interval of an accuracy | 0.8 at n = {n} | "
                     f"{'[71.1, 86.7]' if n == 100 else '[77.4, 82.4]'} | [{100 * ci.low:.1f}, {100 * ci.high:.1f}] |")
    closed = stats.t.ppf(0.975, 99) * 2.78 / 10
    lines.append(f"| El Jurdi et al. (2023) Dice half-width | mean 89.7, SD 2.78, n = 100 | about 0.55 points | "
                 f"t closed form {closed:.4f} |")
    for row in rows:
        if row["section"] == "dice" and row["label"] == "n=100" and row["target"] == "mean":
            lines.append(f"| | simulated ({row['procedure']}, R = {row['n_sim']}) | | mean half-width "
                         f"{50 * row['mean_width']:.4f} (MC SE {50 * row['width_se']:.4f}) |")
    nested = [r for r in rows if r["section"] == "nested-cv"]
    for row in nested:
        lines.append(f"| Bates et al. (2023) {row['procedure']} | logistic, n = 100, p = 10, 90 % | "
                     f"{'about 0.90' if 'nested' in row['procedure'] else 'under-covers'} | coverage "
                     f"{row['rate']:.3f} (MC SE {row['rate_se']:.3f}) |")
    return [*lines, ""]


def defaults_table(rows: list[dict]) -> list[str]:
    """Each default of the package, read from the code, and the rows of this study that support it."""
    from clinicadl.stats.bootstrap import bootstrap
    from clinicadl.stats.paired import paired_bootstrap
    from clinicadl.stats.proportion import proportion_ci

    def default(function, name):
        return inspect.signature(function).parameters[name].default

    def support(section, procedure):
        found = [r for r in rows if r["section"] == section and r["procedure"] == procedure
                 and r["claim"] in ("nominal", "conservative")]
        if not found:
            return "-", None
        ok = all(r["passed"] for r in found)
        return ", ".join(f"{r['label']}: {r['rate']:.3f} ({r['rate_se']:.3f})" for r in found), ok

    entries = [
        ("`proportion_ci(method=...)`", default(proportion_ci, "method"), "accuracy", "wilson"),
        ("`bootstrap(method=...)`", default(bootstrap, "method"), "auc", "auto bootstrap"),
        ("`bootstrap(unit=...)`", default(bootstrap, "unit"), "clustered", "auto bootstrap"),
        ("`median_ci` (order statistics)", "order-statistic", "skewed", "median: order-statistic"),
        ("`mean_ci` (Student t) for Dice", "t", "dice", "mean: t"),
        ("procedure comparison test", "corrected resampled t", "resampled-t", "corrected resampled t"),
        ("procedure comparison test, real learner", "corrected resampled t", "centroid-cv", "corrected resampled t"),
        ("`paired_bootstrap` of a difference (BCa)", default(paired_bootstrap, "method"), "two-models",
         "paired bootstrap (AUC difference)"),
    ]
    if sc.nested_cv_available():
        from clinicadl.stats.nested_cv import nested_cv

        entries.append(("`nested_cv(confidence=...)`", default(nested_cv, "confidence"), "nested-cv",
                        "nested CV (R=50)"))
    def misses(section, procedure):
        found = [r for r in rows if r["section"] == section and r["procedure"] == procedure and not r["claim"]
                 and not r["expected_failure"] and r["verdict"] in ("below nominal", "above nominal")]
        return ", ".join(f"{r['label']}: {r['rate']:.3f} ({r['rate_se']:.3f}) {r['verdict']}" for r in found) or "-"

    lines = ["## Defaults and the evidence for them", "",
             "| default | value | rows that support it (coverage or type I error, MC SE) | supported | "
             "regimes where it misses nominal |", "|---|---|---|---|---|"]
    for what, value, section, procedure in entries:
        evidence, ok = support(section, procedure)
        mark = "-" if ok is None else ("yes" if ok else "**no**")
        lines.append(f"| {what} | `{value}` | {evidence} | {mark} | {misses(section, procedure)} |")
    return [*lines, ""]


def render(rows: list[dict], *, reduced: bool, figures: dict[str, str], timing: str) -> str:
    r_note = ("reduced run: fewer simulated studies and sizes; claimed rates must lie within max(3 MC SE, "
              + ", ".join(f"{k} {v}" for k, v in REDUCED_TOLERANCE.items()) + ") of nominal"
              if reduced else "full run: a claimed rate must lie within 3 Monte-Carlo SE of nominal")
    lines = [
        "# Validation by simulation",
        "",
        "<!-- generated by `make validation` (scripts/validation.py); do not edit by hand -->",
        "",
        "Every interval method and test that clinicadl offers is checked here against a known truth: R simulated "
        "studies per cell, the proportion of intervals containing the truth (coverage) or of rejections "
        "(type I error under the null, power otherwise), the mean interval width, the bias of the point "
        "estimate, each with its Monte-Carlo standard error (MC SE, `sqrt(p (1 - p) / R)` for a rate). "
        f"Root seed {ROOT_SEED}; chunks of {CHUNK} studies, each seeded from (seed, scenario, chunk), so the "
        "numbers do not depend on the number of workers and regenerate identically. "
        f"This is a {r_note}.",
        "",
        "Reproduce: `make validation` (or `python scripts/validation.py`); check one regime of your own: "
        "`clinicadl evaluate simulate --scenario NAME --n N` (with `--from_maps MAPS --data_group G` the "
        "variances of a real MAPS become the truth of the `replicates` scenario). The bootstrap methods chosen "
        "by `method=\"auto\"` come from the finer study of [coverage.md](coverage.md).",
        "",
        "Verdicts: *nominal* within 3 MC SE of the nominal rate; *conservative*: at least the nominal coverage, "
        "or at most the nominal type I error, for methods that are conservative by construction "
        "(Clopper-Pearson, order statistics, McNemar's exact test, 5x2cv); *exact* the exact coverage where a "
        "closed form exists, which the simulated rate must match within 3 MC SE; *(known)* a failure that the "
        "literature reports and that this study reproduces; **bold** a claim not met.",
        "",
    ]
    lines += reference_reproductions(rows)
    lines += defaults_table(rows)
    failures = [r for r in rows if r["expected_failure"]]
    lines += ["## Known failures reproduced", ""]
    for r in failures:
        lines.append(f"- {r['section']} ({r['label']}): **{r['procedure']}** {r['verdict']}: {r['measure']} "
                     f"{r['rate']:.3f} (MC SE {r['rate_se']:.3f}) for a nominal "
                     + ("-" if math.isnan(r["nominal_rate"]) else f"{r['nominal_rate']:.2f}")
                     + (f", bias {r['bias']:+.3g} (MC SE {r['bias_se']:.2g})" if r["expected_failure"] == "biased"
                        else "") + ".")
    lines.append("")
    departures = [r for r in rows if not r["claim"] and not r["expected_failure"]
                  and r["verdict"] in ("below nominal", "above nominal")]
    lines += ["## Other regimes where a procedure misses its nominal rate", "",
              "Not claimed and not a known failure of the literature, but further than 3 MC SE from nominal "
              "(`clinicadl evaluate simulate` prints the same warning in these regimes):", ""]
    for r in departures:
        lines.append(f"- {r['section']} ({r['label']}): {r['procedure']} {r['verdict']}: {r['measure']} "
                     f"{r['rate']:.3f} (MC SE {r['rate_se']:.3f}) for a nominal {r['nominal_rate']:.2f}.")
    lines.append("")
    for section, (title, text) in SECTIONS.items():
        block = [r for r in rows if r["section"] == section]
        if not block:
            continue
        lines += [f"## {title}", "", text, ""]
        if section == "nested-cv" and not any("nested" in r["procedure"] for r in block):
            lines += ["Nested CV (`clinicadl.stats.nested_cv`) is not available in this version: the scenario is "
                      "wired and skipped.", ""]
        lines += ["| setting | procedure | measure | rate (MC SE) | nominal | mean width (MC SE) | bias (MC SE) | R "
                  "| verdict |", "|---|---|---|---|---|---|---|---|---|"]
        for r in block:
            nominal = "-" if math.isnan(r["nominal_rate"]) else f"{r['nominal_rate']:.2f}"
            width = "-" if math.isnan(r["mean_width"]) else f"{r['mean_width']:.4g} ({r['width_se']:.2g})"
            bias = "-" if math.isnan(r["bias"]) else f"{r['bias']:+.3g} ({r['bias_se']:.2g})"
            lines.append(f"| {r['label']} | {r['procedure']} | {r['measure']} | {r['rate']:.3f} ({r['rate_se']:.3f}) "
                         f"| {nominal} | {width} | {bias} | {r['n_sim']} | {r['verdict']} |")
        lines.append("")
        if section == "crossed":
            lines += component_bias_lines(block)
        if section in figures:
            lines += [f"![{title}]({figures[section]})", ""]
    claims = [r for r in rows if r["claim"]]
    expected = [r for r in rows if r["expected_failure"]]
    lines += ["## Summary", "",
              f"- Claims met: {sum(bool(r['passed']) for r in claims)} / {len(claims)}.",
              f"- Known failures reproduced: {sum(bool(r['passed']) for r in expected)} / {len(expected)}.",
              f"- {timing}", ""]
    return "\n".join(lines)


def component_bias_lines(block: list[dict]) -> list[str]:
    """Relative bias of each variance component of the crossed design (estimate - truth) / truth, with MC SE."""
    found = [r for r in block if r["procedure"].endswith("variance: BA") and r["truth"]]
    if not found:
        return []
    lines = ["Variance components of the BA (metric scale, this test size): relative bias of the estimator "
             "(mean of estimate - truth, over truth) and coverage of its modified large-sample interval (Graybill "
             "& Wang 1980): it misses nominal widely for the participant and interaction components (and for the "
             "replicate component when it dominates), so `evaluate procedure` prints the components without "
             "intervals. The replicate truth is exact (quadrature); the participant "
             "and interaction truths come from a fixed-seed simulation of 2,000 test sets x 100 models (about 3 % "
             "Monte-Carlo error of their own).", "",
             "| setting | component | truth | relative bias (MC SE) | interval coverage (MC SE) |",
             "|---|---|---|---|---|"]
    for r in found:
        lines.append(f"| {r['label']} | {r['procedure'].split(':')[0]} | {r['truth']:.3g} | "
                     f"{r['bias'] / r['truth']:+.1%} ({r['bias_se'] / abs(r['truth']):.1%}) | "
                     f"{r['rate']:.3f} ({r['rate_se']:.3f}) |")
    return [*lines, ""]


def plot(rows: list[dict], folder: Path, relative: str) -> dict[str, str]:
    """One PNG per section: rate of each procedure per setting with 95 % MC error bars and the nominal line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {}
    folder.mkdir(parents=True, exist_ok=True)
    for section in SECTIONS:
        block = [r for r in rows if r["section"] == section and not math.isnan(r["nominal_rate"])]
        if not block:
            continue
        labels = list(dict.fromkeys(r["label"] for r in block))
        procedures = list(dict.fromkeys(r["procedure"] for r in block))
        fig, ax = plt.subplots(figsize=(7, 3.2 + 0.15 * len(procedures)))
        width = 0.8 / len(procedures)
        for j, name in enumerate(procedures):
            xs, ys, es = [], [], []
            for i, label in enumerate(labels):
                for r in block:
                    if r["label"] == label and r["procedure"] == name:
                        xs.append(i + (j - (len(procedures) - 1) / 2) * width)
                        ys.append(r["rate"])
                        es.append(1.96 * r["rate_se"])
            ax.errorbar(xs, ys, yerr=es, fmt="o", ms=4, capsize=2, label=name)
        for nominal in sorted({r["nominal_rate"] for r in block}):
            ax.axhline(nominal, color="grey", lw=0.8, ls="--")
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        measure = block[0]["measure"]
        ax.set_ylabel(measure)
        ax.set_title(SECTIONS[section][0], fontsize=9)
        ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        name = f"{section}.png"
        fig.savefig(folder / name, dpi=110, metadata={"Software": None})
        plt.close(fig)
        figures[section] = f"{relative}/{name}"
    return figures


def _chunk_files(cache: Path | None) -> int:
    return sum(1 for _ in cache.rglob("chunk-*.json")) if cache is not None and cache.is_dir() else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reduced", action="store_true", help="smaller study with stated tolerances (CI)")
    parser.add_argument("--out", type=Path, default=DOCS, help="Markdown report (figures in <stem>/ next to it)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="chunk cache ('none' to disable)")
    parser.add_argument("--n_jobs", type=int, default=1)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    cache = None if str(args.cache) == "none" else args.cache
    cached_before = _chunk_files(cache)
    started = time.perf_counter()
    rows = run(args.reduced, args.n_jobs, cache, args.progress)
    wall = time.perf_counter() - started
    total = sum(math.ceil(r["n_sim"] / CHUNK) for r in rows)
    reused = total - max(_chunk_files(cache) - cached_before, 0) if cache is not None else 0
    figures = plot(rows, args.out.parent / args.out.stem, args.out.stem)
    timing = (f"Wall time of this run: {wall / 60:.1f} min with {args.n_jobs} process(es) on "
              f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}; "
              f"{total - reused} of {total} (procedure, chunk) results computed, {reused} read from the cache.")
    write_atomic(args.out, render(rows, reduced=args.reduced, figures=figures, timing=timing))
    clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]
    write_atomic(args.out.parent / args.out.stem / "results.json",
                 json.dumps({"reduced": args.reduced, "seed": ROOT_SEED, "rows": clean}, indent=1) + "\n")
    bad = [r for r in rows if r["passed"] is False]
    for r in bad:
        print(f"NOT MET: {r['section']} {r['label']} {r['procedure']}: {r['verdict']} ({r['rate']:.3f})")
    print(f"wrote {args.out} in {wall:.1f} s; {len(bad)} claim(s) or known failure(s) not met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
