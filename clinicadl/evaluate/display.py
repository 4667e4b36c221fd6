"""Plain-text tables of results for the terminal."""

from __future__ import annotations

import math

import pandas as pd


def format_number(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NaN"
    return f"{x:.{digits}f}"


def format_pvalue(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "NaN"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def render_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join([line, "-" * len(line), *body])


def format_model_table(table: pd.DataFrame) -> str:
    """One block per model: metric, estimate, interval, method, dropped resamples."""
    blocks = []
    keys = ["split", "selection_metric"]
    for key, frame in table.groupby(keys, dropna=False, sort=False):
        first = frame.iloc[0]
        level = round(first["confidence"] * 100)
        title = []
        if not pd.isna(key[0]):
            title.append(f"split {int(key[0])}, selection {key[1]}")
        title.append(f"{first['n_subjects']} participants, {first['n_images']} images")
        title.append(f"{first['n_resamples']} resamples of {first['unit']}s, seed {first['seed']}")
        if first["positive_class"]:
            title.append(f"positive class: {first['positive_class']}")
        rows = [
            [
                r.metric,
                format_number(r.estimate),
                f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]",
                r.method,
                str(r.n_dropped),
            ]
            for r in frame.itertuples()
        ]
        blocks.append(
            "; ".join(title) + "\n" + render_table(["metric", "estimate", f"{level}% CI", "method", "dropped"], rows)
        )
    return "\n\n".join(blocks)


def format_comparison_table(table: pd.DataFrame, tests: pd.DataFrame) -> str:
    """Differences A - B per metric, then the other tests."""
    first = table.iloc[0]
    level = round(first["confidence"] * 100)
    head = (
        f"A: {first['model_a']}\nB: {first['model_b']}\n{first['n_subjects']} participants, "
        f"{first['n_images']} images; {first['n_resamples']} paired resamples of {first['unit']}s, "
        f"seed {first['seed']}"
    )
    rows = [
        [
            r.metric,
            format_number(r.estimate_a),
            format_number(r.estimate_b),
            format_number(r.estimate),
            f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]",
            format_pvalue(r.pvalue_bootstrap),
            format_pvalue(r.pvalue_permutation),
            format_number(r.p_a_better, 2),
        ]
        for r in table.itertuples()
    ]
    text = (
        head
        + "\n"
        + render_table(["metric", "A", "B", "A - B", f"{level}% CI", "p (boot)", "p (perm)", "P(A>B)"], rows)
    )
    if len(tests):
        text += "\n\n" + render_table(
            ["test", "statistic", "p-value"],
            [[t.test, format_number(t.statistic), format_pvalue(t.pvalue)] for t in tests.itertuples()],
        )
    return text
