"""Methods paragraph and LaTeX table of a report: the design and the headline numbers, in words, with references.

Metric names in sentences and the headline metrics come from the metric registry
(:mod:`clinicadl.stats.metrics`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from clinicadl.evaluate.display import format_number, format_pvalue
from clinicadl.evaluate.report.contents import Comparison, MapsReport, Report
from clinicadl.evaluate.report.tables import COMPONENT_NAMES, TOTAL_COMPONENTS, format_ci, level_percent
from clinicadl.stats.metrics import display_name
from clinicadl.stats.metrics import headline_metrics as registry_headline

__all__ = ["REFERENCES", "SOURCE_NAMES", "headline_metrics", "latex_escape", "latex_table", "methods_paragraph"]

SOURCE_NAMES = {"split": "the training/validation split", "init": "the initial weights", "order": "the batch order",
                "augmentation": "the random augmentation", "dropout": "the dropout masks",
                "hpo": "the hyper-parameter search"}
"""Sources of variance (FORMATS.md section 4) in words."""

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
    return (f"{display_name(row['metric'])} {format_number(row['estimate'])} ({level} % CI "
            f"{format_number(row['ci_low'])}-{format_number(row['ci_high'])}")


def headline_metrics(frame: pd.DataFrame) -> list[str]:
    """Metrics of the methods paragraph and the LaTeX table: the headline metrics of the registry
    (:func:`clinicadl.stats.metrics.headline_metrics`) present in ``frame`` (in that order), else its first two."""
    present = list(dict.fromkeys(frame["metric"]))
    chosen = [m for m in registry_headline() if m in present]
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
    level = level_percent(frame)
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
    level = level_percent(expected)
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
            declined.append(f"{display_name(row['metric'])} {format_number(row['estimate'])}{spread}")
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
        per_metric = ", ".join(f"{display_name(r['metric'])}: {_method_words(str(r['method']))} interval"
                               f" ({_cite(str(r['method'])).removeprefix('; ')})"
                               for r in headline.to_dict(orient="records"))
        per_model = (f"Each trained model's intervals are closed forms that keep their coverage with few "
                     f"participants and near the bound of the metric ({per_metric}).")
    return " ".join(s for s in (design, performance, _variance_sentence(report), _study_sentence(report), per_model)
                    if s)


def _study_sentence(report: MapsReport) -> str:
    """The variance study (``evaluate sources``), when the MAPS is one: which source moves the result most."""
    frame = report.variance_sources
    if frame is None or not len(frame):
        return ""
    study = report.parameters.get("study") or {}
    single = frame[~frame["source"].isin(["all", "test sampling"])]
    parts = []
    for metric, rows in single.groupby("metric", sort=False):
        top = rows.sort_values("estimate", ascending=False).iloc[0]
        sampling = frame[(frame["metric"] == metric) & (frame["source"] == "test sampling")]["estimate"]
        yardstick = (f" (test-set sampling SD {format_number(float(sampling.iloc[0]), 4)})" if len(sampling) else "")
        parts.append(f"{display_name(metric)}: {top['source']}, SD {format_number(top['estimate'], 4)} "
                     f"[{format_number(top['ci_low'], 4)}, {format_number(top['ci_high'], 4)}]{yardstick}")
    return (f"In a variance study (Bouthillier et al. 2021), {study.get('n_replicates', '')} models re-drew "
            "each source of variance alone, the others at a shared reference draw; the standard deviation of one "
            "model's score due to each source has a chi-square interval corrected for the kurtosis of the scores. "
            "The largest source was " + "; ".join(parts) + ".")


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
    parts = [f"{r['metric']} A - B = {format_number(r['estimate'])} ({format_ci(r['ci_low'], r['ci_high'])}, "
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
            level = level_percent(frame)
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
            level = level_percent(maps.models)
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

