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

from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.evaluate.procedure_plots import _pyplot, _save

REFERENCE_CAPTION = ("Bouthillier et al. (2021, Fig. 1), 5 benchmarks: data sampling and hyper-parameter choice "
                     "largest; init and data order smaller but not negligible.")


def plot_sources(sources: pd.DataFrame, path: str | Path) -> Path:
    """One panel per metric: standard deviation due to each source with its interval, largest first."""
    plt = _pyplot()
    metrics = list(dict.fromkeys(sources["metric"]))
    n_rows = sources.groupby("metric").size().max()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 0.42 * n_rows + 1.8), squeeze=False)
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
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].legend(loc="lower right", fontsize=8)
    fig.suptitle("Variance of one trained model's score, by source (models per design in brackets)", fontsize=10)
    fig.text(0.01, 0.005, REFERENCE_CAPTION, fontsize=7, color="dimgray")
    fig.subplots_adjust(bottom=0.2)
    return _save(fig, Path(path))
