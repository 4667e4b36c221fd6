"""Rows that every requested metric treats alike, collapsed into groups: the i.i.d. bootstrap of a binary
classifier's confusion-matrix metrics and AUC drawn as multinomial counts of a few groups instead of n rows.

The confusion matrix of a weighting of the rows is a sum of weights over the rows of each (true, predicted)
cell, and the weighted AUC (:func:`clinicadl.stats.weighted_statistics.weighted_auc`) a sum over runs of
positives with the same number of negatives below them, of their weight times the weight of the negatives
below. Both only see the sum of the weights over each block of consecutive rows (stored order: negatives then
positives, each by score) cut at every boundary of a cell, of a run of positives and of the negatives below
a run. With every row its own resampling unit, the drawn rows are counted by block (a table lookup, then
counts into a buffer of G per resample, :func:`clinicadl.stats.resampling.bootstrap_counts` with ``blocks``)
and the statistics are computed on a :class:`~clinicadl.stats.predictions.Predictions` of G rows, one per
block, by the same code as for rows: the same draws and the same integer sums as the row-level bootstrap,
so the same replicates bit for bit, at a cost in G rather than n per resample after the draws (typically
tens of blocks for a thousand predictions).

References
----------
Efron B., Tibshirani R. J. (1993). An Introduction to the Bootstrap, section 6.2 (a resample as counts of
the original rows). Davison A. C., Hinkley D. V. (1997). Bootstrap Methods and their Application, section
9.2.4 (the count representation of resampling).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clinicadl.stats.predictions import AucLayout, Predictions
from clinicadl.stats.resampling import ResamplingPlan

GROUPED_STATISTICS = frozenset({"confusion", "auc"})
"""Sufficient statistics that depend on the rows only through block sums of their weights."""

MAX_GROUP_SHARE = 0.25
"""Blocks are used when there are at most this share of rows (else counting rows costs less)."""


@dataclass(frozen=True)
class RowGroups:
    """Consecutive stored rows collapsed into blocks that every requested statistic treats alike.

    Attributes
    ----------
    predictions : Predictions
        One row per block (its true class, its predicted class, and the AUC layout counted in blocks).
    block_of_row : numpy.ndarray of shape (n,)
        Block of each stored row (non-decreasing).
    """

    predictions: Predictions
    block_of_row: np.ndarray

    @property
    def n_groups(self) -> int:
        return self.predictions.n_rows


def row_groups(predictions: Predictions, requests: Sequence, plan: ResamplingPlan) -> RowGroups | None:
    """The blocks of rows of a binary classification, or None when counting rows is needed or costs less.

    None unless: the task is binary, every requested metric is computed from the confusion matrix or the AUC,
    every row is its own resampling unit (no participant holds several rows), and the blocks are at most
    :data:`MAX_GROUP_SHARE` of the rows.
    """
    if predictions.task != "binary" or plan.units is not None or plan.n_units != predictions.n_rows:
        return None
    if any(r.metric.statistic not in GROUPED_STATISTICS for r in requests):
        return None
    n = predictions.n_rows
    cells = predictions.y_true * predictions.n_classes + predictions.y_pred
    cuts = [np.flatnonzero(cells[1:] != cells[:-1]) + 1]
    layout = predictions.auc[0] if any(r.metric.statistic == "auc" for r in requests) else None
    if layout is not None:
        n0 = layout.n_neg
        for below in (layout.below, layout.up_to):
            cuts.append(n0 + np.flatnonzero(below[1:] != below[:-1]) + 1)  # runs of positives
            cuts.append(below[(below > 0) & (below < n0)])  # negatives below each run
        cuts.append(np.array([n0]))
    starts = np.unique(np.concatenate([[0], *cuts]))
    if starts.size > MAX_GROUP_SHARE * n:
        return None
    grouped_layout = None
    if layout is not None:
        negative_starts = starts[starts < n0]
        grouped_layout = AucLayout(None, int(negative_starts.size),
                                   np.searchsorted(negative_starts, layout.below[starts[starts >= n0] - n0]),
                                   np.searchsorted(negative_starts, layout.up_to[starts[starts >= n0] - n0]))
    grouped = Predictions(
        "binary", predictions.y_true[starts], predictions.y_pred[starts], None, np.arange(starts.size),
        int(starts.size), predictions.n_classes, predictions.pos_label, starts, (grouped_layout,),
    )
    return RowGroups(grouped, np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n])))
