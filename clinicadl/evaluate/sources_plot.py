"""The figure of a variance study: one row per source of variance, in the style of Bouthillier et al. (2021, Fig. 1).

Each row is the standard deviation of one trained model's score due to that source, with its interval; the
test-set sampling row (no interval) is the yardstick: a source far below it is noise next to the choice of test
participants, one near it matters as much. Bouthillier et al. found, on five deep-learning benchmarks (vision, NLP,
a biomedical MLP), data sampling and the hyper-parameter choice the largest sources and weight initialisation and
data order smaller but not negligible; the caption says so for reference.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3, Figure 1.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.evaluate.figures import save_png, subplots

REFERENCE_CAPTION = ("Bouthillier et al. (2021, Fig. 1), 5 benchmarks: data sampling and hyper-parameter choice "
                     "largest; init and data order smaller but not negligible.")


def plot_sources(sources: pd.DataFrame, path: str | Path) -> Path:
    """One panel per metric: standard deviation due to each source with its interval, largest first."""
    metrics = list(dict.fromkeys(sources["metric"]))
    n_rows = sources.groupby("metric").size().max()
    width = max(5.6, 4.6 * len(metrics))
    title = textwrap.fill("Variance of one trained model's score, by source (models per design in brackets)",
                          int(width * 12))
    caption = textwrap.fill(REFERENCE_CAPTION, int(width * 17))
    extra = 0.2 * (title.count("\n") + caption.count("\n"))
    fig, axes = subplots(1, len(metrics), figsize=(width, 0.42 * n_rows + 2.0 + extra), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        table = sources[sources["metric"] == metric].sort_values("estimate")
        y = np.arange(len(table))
        sampling = table["source"].eq("test sampling").to_numpy()
        low = (table["estimate"] - table["ci_low"]).clip(lower=0).fillna(0).to_numpy()
        high = (table["ci_high"] - table["estimate"]).clip(lower=0).fillna(0).to_numpy()
        ax.errorbar(table["estimate"][~sampling], y[~sampling], xerr=[low[~sampling], high[~sampling]], fmt="o",
                    color="tab:blue", capsize=3, label="one source re-drawn (95 % CI)")
        ax.plot(table["estimate"][sampling], y[sampling], "s", color="tab:grey", label="test-set sampling")
        ax.set_yticks(y, [f"{s} ({n})" for s, n in zip(table["source"], table["n_models"])])
        ax.set_xlabel(f"standard deviation of {metric}")
        ax.set_xlim(left=0)
        ax.set_ylim(-0.6, len(table) - 0.4)
        ax.grid(axis="x", alpha=0.3)
    inches = fig.get_size_inches()[1]
    caption_height = 0.08 + 0.13 * (caption.count("\n") + 1)  # inches
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, caption_height / inches), fontsize=8,
               ncols=2, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.02 / inches, caption, fontsize=7, color="dimgray", va="bottom")
    fig.tight_layout(rect=(0, (caption_height + 0.3) / inches, 1, 1))
    return save_png(fig, Path(path), dpi=110, tight=False)
