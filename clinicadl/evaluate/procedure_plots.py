"""Figures of procedure-level results, written as PNG beside the results TSVs.

- :func:`plot_replicate_forest`: every trained model's value with its test-set interval, and the expected
  performance of the procedure with its interval, one panel per metric;
- :func:`plot_variance_components`: shares of the variance between trained models, per metric;
- :func:`plot_probability_better`: P(A>B) with its interval against 0.5 and gamma;
- :func:`plot_critical_difference`: average ranks of three or more procedures with Nemenyi's critical
  difference (Demsar 2006).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.evaluate.figures import save_png

COLORS = {"test_sampling": "tab:grey", "split": "tab:blue", "seed": "tab:orange", "split_and_seed": "tab:purple",
          "replicate": "tab:purple", "participant": "tab:grey", "interaction": "tab:olive"}
LABELS = {"test_sampling": "test-set sampling", "split": "data split", "seed": "seeds (init, order, ...)",
          "split_and_seed": "split + seeds (not separable)", "replicate": "replicate (split + seeds)",
          "participant": "participant (test set shared by all models)",
          "interaction": "participant x replicate interaction"}


def _pyplot():
    """What the plots of this room ask pyplot for (``subplots``), without pyplot (:mod:`.figures`)."""
    from clinicadl.evaluate import figures

    return figures


def _save(fig, path: Path) -> Path:
    return save_png(fig, path, dpi=110)


def plot_replicate_forest(models: pd.DataFrame, expected: pd.DataFrame, path: str | Path,
                          max_metrics: int = 12) -> Path:
    """One panel per metric: each model (replicate r, split s) with its interval, then the procedure's."""
    plt = _pyplot()
    metrics = list(dict.fromkeys(expected["metric"]))[:max_metrics]
    ncols = min(3, len(metrics))
    nrows = int(np.ceil(len(metrics) / ncols))
    n_models = models[["replicate", "split"]].drop_duplicates().shape[0]
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, nrows * (0.2 * n_models + 1.6)), squeeze=False)
    for ax in axes.ravel()[len(metrics):]:
        ax.axis("off")
    for ax, metric in zip(axes.ravel(), metrics):
        rows = models[models["metric"] == metric].sort_values(["replicate", "split"])
        y = np.arange(len(rows))[::-1] + 2
        est = rows["estimate"].to_numpy(float)
        low, high = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
        ax.errorbar(est, y, xerr=[np.abs(est - low), np.abs(high - est)], fmt="o", color="tab:blue", capsize=2,
                    markersize=3, lw=0.8)
        summary = expected[expected["metric"] == metric].iloc[0]
        e, lo, hi = (float(summary[c]) for c in ("estimate", "ci_low", "ci_high"))
        ax.errorbar([e], [0], xerr=[[abs(e - lo)], [abs(hi - e)]], fmt="D", color="tab:red", capsize=4,
                    markersize=5)
        ax.axvline(e, color="tab:red", lw=0.6, ls="--")
        labels = [f"r{int(r)} s{int(s)}" for r, s in zip(rows["replicate"], rows["split"])]
        ax.set_yticks([*y, 0], [*labels, "procedure"], fontsize=7)
        ax.set_ylim(-0.8, len(rows) + 2.5)
        ax.set_title(metric, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    level = round(float(expected["confidence"].iloc[0]) * 100)
    fig.suptitle(f"Trained models (test-set {level}% intervals) and the procedure's expected performance",
                 fontsize=9)
    return _save(fig, Path(path))


def plot_variance_components(variance: pd.DataFrame, path: str | Path) -> Path:
    """Stacked bars of the shares of the variance of one trained model's value, one bar per metric.

    On a shared test group the bars are the crossed-design components (replicate, participant, interaction); on
    the validation folds, test sampling and the split / seed parts.
    """
    plt = _pyplot()
    metrics = list(dict.fromkeys(variance["metric"]))
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(metrics) + 1.4))
    for i, metric in enumerate(metrics):
        by = variance[variance["metric"] == metric].set_index("component")["fraction"]
        if "replicate" in by.index:  # crossed design: a test group shared by every model
            parts = ["replicate", "participant", "interaction"]
        elif np.isfinite(by.get("split", np.nan)) and np.isfinite(by.get("seed", np.nan)):
            parts = ["test_sampling", "split", "seed"]
        else:
            parts = ["test_sampling", "split_and_seed"]
        left = 0.0
        for part in parts:
            share = float(by.get(part, np.nan))
            if np.isfinite(share) and share > 0:
                ax.barh(i, share, left=left, color=COLORS[part], label=LABELS[part])
                left += share
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower right")
    ax.set_yticks(range(len(metrics)), metrics, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the variance of one trained model's metric")
    ax.set_title("Where the variability of the procedure comes from", fontsize=9)
    return _save(fig, Path(path))


def plot_probability_better(table: pd.DataFrame, path: str | Path) -> Path:
    """P(A>B) with its interval for each pair (and metric); lines at 0.5 (no difference) and at gamma."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(table) + 1.4))
    y = np.arange(len(table))[::-1]
    est = table["estimate"].to_numpy(float)
    low, high = table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float)
    colors = ["tab:green" if m else ("tab:blue" if s else "tab:grey")
              for m, s in zip(table["meaningful"], table["significant"])]
    for yi, e, lo, hi, c in zip(y, est, low, high, colors):
        ax.errorbar([e], [yi], xerr=[[e - lo], [hi - e]], fmt="o", color=c, capsize=3)
    ax.axvline(0.5, color="grey", ls="--", lw=0.8)
    gamma = float(table["gamma"].iloc[0])
    ax.axvline(gamma, color="tab:green", ls=":", lw=1.0)
    ax.text(gamma, len(table) - 0.4, f" gamma = {gamma:g}", fontsize=7, color="tab:green")
    ax.set_yticks(y, [f"{a} > {b} ({m})" for a, b, m in zip(table["procedure_a"], table["procedure_b"],
                                                              table["metric"])], fontsize=7)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.8, len(table) - 0.1)
    ax.set_xlabel("P(A > B): probability that a run of A beats the paired run of B")
    level = round(float(table["confidence"].iloc[0]) * 100)
    ax.set_title(f"{level}% percentile bootstrap intervals; green: meaningful, blue: significant", fontsize=9)
    return _save(fig, Path(path))


def plot_critical_difference(names: Sequence[str], ranks: Sequence[float], critical_difference: float,
                             path: str | Path, title: str = "") -> Path:
    """Critical-difference diagram: average ranks on an axis, groups not significantly different joined."""
    plt = _pyplot()
    ranks = np.asarray(ranks, float)
    k = len(ranks)
    order = np.argsort(ranks)
    fig, ax = plt.subplots(figsize=(7, 0.3 * k + 1.8))
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(-(k + 1), 2.2)
    ax.axhline(0, color="black", lw=1)
    for r in range(1, k + 1):
        ax.plot([r, r], [0, 0.15], color="black", lw=1)
        ax.text(r, 0.3, str(r), ha="center", fontsize=8)
    ax.plot([1, 1 + critical_difference], [1.4, 1.4], color="tab:red", lw=2)
    ax.text(1 + critical_difference / 2, 1.6, f"CD = {critical_difference:.2f}", ha="center", fontsize=8,
            color="tab:red")
    for i, j in enumerate(order):
        ax.plot([ranks[j], ranks[j]], [0, -(i + 1)], color="tab:blue", lw=0.8)
        ax.text(ranks[j], -(i + 1), f" {names[j]} ({ranks[j]:.2f})", va="center", fontsize=8)
    # cliques: maximal runs of procedures (in rank order) within the critical difference
    level = 0
    for start in range(k):
        end = start
        while end + 1 < k and ranks[order[end + 1]] - ranks[order[start]] <= critical_difference:
            end += 1
        if end > start and not (start > 0 and ranks[order[end]] - ranks[order[start - 1]] <= critical_difference):
            ax.plot([ranks[order[start]], ranks[order[end]]], [-0.4 - 0.25 * level] * 2, color="black", lw=3)
            level += 1
    ax.axis("off")
    ax.set_title(title or "Average ranks (1 = best); bars join procedures not significantly different", fontsize=9)
    return _save(fig, Path(path))
