"""Readable console summary of a comparison of procedures: the design, the scores, each test, and in words what
may and may not be concluded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clinicadl.evaluate.display import format_number, format_pvalue, render_table
from clinicadl.evaluate.naming import distinguishing_names
from clinicadl.evaluate.procedure_tests import NAIVE_WARNING

if TYPE_CHECKING:
    from clinicadl.evaluate.compare_procedures import ProcedureComparison

__all__ = ["format_procedure_comparison"]


def format_procedure_comparison(result: ProcedureComparison) -> str:
    """Readable summary: the design, the scores, each test, and in words what may and may not be concluded."""
    names = distinguishing_names([p.path for p in result.procedures])
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
