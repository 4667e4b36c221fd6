"""Sufficient statistics of weighted rows, from which every metric of the registry is computed.

A metric (:mod:`clinicadl.stats.metrics`) is a function of one of these statistics: confusion matrices, a
weighted Mann-Whitney AUC, weighted moments, weighted sums of values or a weighted median. Each is linear or a
cumulative sum in the row weights, so a (B, n) matrix of bootstrap counts gives B statistics at once, and
leave-one-unit-out weights (:class:`~clinicadl.stats.resampling.LeaveOneOut`) the jackknife.
"""

from __future__ import annotations

import numpy as np

from clinicadl.stats.predictions import AucLayout, Predictions
from clinicadl.stats.resampling import LeaveOneOut

__all__ = ["STATISTICS", "auc_statistic", "confusion_matrices", "safe_divide", "value_sums", "weighted_auc",
           "weighted_median", "weighted_moments"]


def safe_divide(a, b):
    """``a / b``, NaN where ``b`` is 0 (no warning)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.true_divide(a, b)
    return np.where(b == 0, np.nan, out)


def confusion_matrices(p: Predictions, w: np.ndarray | LeaveOneOut) -> np.ndarray:
    """Confusion matrices (B, K, K): the sum of the weights of the rows of each (true, predicted) cell.

    Rows are stored by true class and score, so the rows of a cell usually form a few runs of
    consecutive rows: the weights are then summed run by run (``np.add.reduceat``, one pass over
    ``w``) rather than multiplied by a one-hot matrix. This also keeps BLAS threads out of the
    bootstrap loop, whose spinning slows everything else down on a loaded machine. With many runs
    (an arbitrary ``y_pred``), the matrix product is used. Leave-one-out weights: all-row counts
    minus the counts of the left-out unit.
    """
    k = p.n_classes
    cells = p.y_true * k + p.y_pred
    if isinstance(w, LeaveOneOut):
        per_unit = np.bincount(w.row_units() * (k * k) + cells, minlength=w.n_units * k * k)
        total = np.bincount(cells, minlength=k * k)
        return (total - per_unit.reshape(w.n_units, k * k)[w.left_out]).astype(np.float64).reshape(-1, k, k)
    starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    if starts.size * 8 > p.n_rows:
        onehot = np.zeros((p.n_rows, k * k))
        onehot[np.arange(p.n_rows), cells] = 1.0
        return (w @ onehot).reshape(-1, k, k)
    runs = np.add.reduceat(w, starts, axis=1)
    run_cells = cells[starts]
    out = np.zeros((w.shape[0], k * k))
    for cell in np.unique(run_cells):  # a loop over cells, not over resamples
        out[:, cell] = runs[:, run_cells == cell].sum(axis=1)
    return out.reshape(-1, k, k)


def weighted_auc(layout: AucLayout | None, w: np.ndarray | LeaveOneOut) -> np.ndarray:
    """Weighted Mann-Whitney AUC (ties count one half) for each row of weights ``w`` (B, n).

    The numerator is, for each positive, its weight times the weight of the negatives below it: one
    cumulative sum over the negatives (sorted by score) and a gather at ``below`` (and ``up_to``
    when there are ties). Leave-one-unit-out weights are done in closed form, O(n log n) for all
    units: twice the numerator is the total pair count minus the pairs of the left-out unit's rows,
    plus the pairs inside that unit (subtracted twice). All counts are integers, so the result is
    the same as with the dense weights.
    """
    if layout is None:
        return np.full(w.shape[0], np.nan)
    n0 = layout.n_neg
    below, up_to = layout.below, layout.up_to
    if isinstance(w, LeaveOneOut):
        units = w.row_units() if layout.order is None else w.row_units()[layout.order]
        neg_units, pos_units = units[:n0], units[n0:]
        n1, m = pos_units.size, w.n_units
        twice_pos = below + up_to  # twice the (tie-halved) count of negatives below each positive
        rank = np.arange(n0)
        twice_neg = 2 * n1 - np.searchsorted(below, rank, side="right") - np.searchsorted(up_to, rank, side="right")
        # negatives of the same unit below each positive: search (unit, rank) keys
        keys = np.sort(neg_units * (n0 + 1) + rank)
        base = pos_units * (n0 + 1)
        twice_within = (np.searchsorted(keys, base + below) + np.searchsorted(keys, base + up_to)
                        - 2 * np.searchsorted(keys, base))
        lost = (np.bincount(neg_units, twice_neg, m) + np.bincount(pos_units, twice_pos, m)
                - np.bincount(pos_units, twice_within, m))
        left = w.left_out
        numerator = (twice_pos.sum() - lost[left]) / 2
        n_pos = n1 - np.bincount(pos_units, minlength=m)[left]
        n_neg = n0 - np.bincount(neg_units, minlength=m)[left]
        return safe_divide(numerator, (n_pos * n_neg).astype(np.float64))
    ws = w if layout.order is None else w[:, layout.order]
    w_neg, w_pos = ws[:, :n0], ws[:, n0:]
    numerator, total_neg, total_pos = _pairs_below(w_neg, w_pos, below)
    if not np.array_equal(below, up_to):  # tied scores across classes count one half
        numerator = (numerator + _pairs_below(w_neg, w_pos, up_to)[0]) / 2
    return safe_divide(numerator, total_pos * total_neg)


def _pairs_below(w_neg: np.ndarray, w_pos: np.ndarray, below: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sum_i w_pos[:, i] * sum_{j < below[i]} w_neg[:, j]`` for each row, with the negative and positive totals.

    ``below`` is non-decreasing (positives sorted by score), so it takes few distinct values: the positives
    are summed by run of equal ``below`` and the negatives by segment between consecutive values (two
    ``np.add.reduceat`` passes), and only these few sums are accumulated and multiplied. Integer weights give
    integer sums, hence the same result as a cumulative sum over every negative.
    """
    n0 = w_neg.shape[1]
    starts = np.flatnonzero(np.r_[True, below[1:] != below[:-1]])
    values = below[starts]  # distinct numbers of negatives below, increasing
    inner = values[(values > 0) & (values < n0)]
    by_run = np.add.reduceat(w_pos, starts, axis=1)
    cumulative = np.zeros((w_neg.shape[0], inner.size + 2), dtype=np.result_type(w_neg.dtype, np.int64))
    np.cumsum(np.add.reduceat(w_neg, np.r_[0, inner], axis=1), axis=1, out=cumulative[:, 1:])
    # cumulative[:, t]: weight of the negatives below the t-th boundary of (0, inner..., n0)
    at = np.searchsorted(np.r_[0, inner, n0], values)
    numerator = np.einsum("bi,bi->b", by_run, np.take(cumulative, at, axis=1))
    return numerator, cumulative[:, -1], by_run.sum(axis=1)


def auc_statistic(p: Predictions, w: np.ndarray) -> np.ndarray:
    if p.task == "binary":
        out = np.full((w.shape[0], 2), np.nan)
        out[:, p.pos_label] = weighted_auc(p.auc[0], w)
        out[:, 1 - p.pos_label] = out[:, p.pos_label]
        return out
    per_class = np.column_stack([weighted_auc(layout, w) for layout in p.auc])
    with np.errstate(invalid="ignore"):
        return np.column_stack([per_class, per_class.mean(axis=1)])  # last column: macro average


def weighted_moments(p: Predictions, w: np.ndarray | LeaveOneOut) -> np.ndarray:
    """Weighted sums of 1, |e|, e^2, y, y^2, q, q^2, yq (e = q - y).

    Leave-one-out weights are densified chunk by chunk rather than done as total minus unit sums:
    R2 and r take differences of these sums, which would amplify the rounding of the subtraction.
    """
    if isinstance(w, LeaveOneOut):
        return np.concatenate([weighted_moments(p, chunk.dense()) for chunk in w.chunks()], axis=0)
    y, q = p.y_true, p.y_pred
    e = q - y
    columns = np.column_stack([np.ones_like(y), np.abs(e), e * e, y, y * y, q, q * q, y * q])
    return w @ columns


def value_sums(p: Predictions, w: np.ndarray | LeaveOneOut) -> np.ndarray:
    """Weighted sums of 1 and the values; leave-one-out: total minus unit sums."""
    columns = np.column_stack([np.ones(p.n_rows), p.y_pred])
    return w.linear(columns) if isinstance(w, LeaveOneOut) else w @ columns


def weighted_median(p: Predictions, w: np.ndarray | LeaveOneOut) -> np.ndarray:
    """Weighted median (mean of the lower and upper weighted medians; rows are sorted by value)."""
    if isinstance(w, LeaveOneOut):  # not linear in the weights: dense weights, chunk by chunk
        return np.concatenate([weighted_median(p, chunk.dense()) for chunk in w.chunks()], axis=0)
    cum = np.cumsum(w, axis=1)
    half = cum[:, -1:] / 2
    low = np.argmax(cum >= half, axis=1)
    high = np.argmax(cum > half, axis=1)
    out = (p.y_pred[low] + p.y_pred[high]) / 2
    return np.where(cum[:, -1] > 0, out, np.nan)[:, None]


STATISTICS = {"confusion": confusion_matrices, "auc": auc_statistic, "moments": weighted_moments,
              "values": value_sums, "median": weighted_median}
"""Sufficient statistic of each kind (the ``statistic`` field of a registry entry) from predictions and weights."""
