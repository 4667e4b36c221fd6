"""Figures of results: intervals per metric (forest plots), written as PNG beside the results TSV.

Metrics on the same scale share a panel (and so an axis), so that intervals can be compared by eye:
classification rates and scores in [-1, 1] together, likelihood ratios on a log axis, every other metric in its
own panel (ranges and tasks from the metric registry).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.evaluate.figures import margins_for_labels, save_png, subplots
from clinicadl.stats.metrics import metric_entry


def _panel(metric: str) -> str:
    """Classification metrics with a range (the registry's ``bounds``) share a panel, likelihood ratios
    (unbounded) another; every other metric has its own."""
    entry = metric_entry(metric, per_image=False)
    if entry is None or "binary" not in entry.tasks:
        return metric
    return "rates and scores" if entry.bounds else "likelihood ratios"


def _forest(table: pd.DataFrame, labels: pd.Series, path: Path, title: str, zero_line: bool) -> Path:
    panels = table.groupby(table["metric"].map(_panel), sort=False)
    all_ticks: list[str] = []
    heights = [len(rows) + 1 for _, rows in panels]
    fig, axes = subplots(len(heights), 1, figsize=(7, 0.28 * sum(heights) + 1.2), squeeze=False,
                         gridspec_kw={"height_ratios": heights})
    for ax, (name, rows) in zip(axes[:, 0], panels):
        y = np.arange(len(rows))[::-1]
        est = rows["estimate"].to_numpy(float)
        low, high = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
        ax.errorbar(est, y, xerr=[np.abs(est - low), np.abs(high - est)], fmt="o", color="tab:blue", capsize=3,
                    markersize=4)
        if zero_line:
            ax.axvline(0, color="grey", lw=0.8, ls="--")
        if name == "likelihood ratios" and not zero_line and np.all(rows["ci_low"] > 0):
            ax.set_xscale("log")
            ax.axvline(1, color="grey", lw=0.8, ls="--")
        ticks = [f"{m} ({label})" if label else m for m, label in zip(rows["metric"], labels[rows.index])]
        ax.set_yticks(y, ticks)
        all_ticks += ticks
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_title(name, fontsize=8, loc="left")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title, fontsize=9)
    margins_for_labels(fig, all_ticks)
    return save_png(fig, path, dpi=120, tight=False)


def plot_model_intervals(table: pd.DataFrame, path: str | Path) -> Path:
    """Forest plot of each metric's estimate and interval, one line per model (split / selection)."""
    several = table[["split", "selection_metric"]].drop_duplicates().shape[0] > 1
    labels = table.apply(
        lambda r: f"split {int(r['split'])}, {r['selection_metric']}" if several else "", axis=1
    )
    first = table.iloc[0]
    title = (f"{round(first['confidence'] * 100)}% intervals, {first['n_subjects']} participants "
             f"({first['unit']}-level bootstrap, {first['n_resamples']} resamples)")
    return _forest(table, labels, Path(path), title, zero_line=False)


def plot_comparison(table: pd.DataFrame, path: str | Path) -> Path:
    """Differences A - B with their paired intervals; the dashed line is no difference."""
    labels = pd.Series("", index=table.index)
    first = table.iloc[0]
    title = f"A - B: {round(first['confidence'] * 100)}% paired intervals, {first['n_subjects']} participants"
    return _forest(table, labels, Path(path), title, zero_line=True)
