"""Weight matrices for the bootstrap and the jackknife, at the row or participant level.

A bootstrap resample is represented by how many times each unit (participant, or row) is drawn;
all metrics are then functions of these counts (:mod:`clinicadl.stats.metrics`). Counts are produced
in chunks of resamples so that memory stays bounded whatever the number of resamples and rows.

References
----------
Efron B., Tibshirani R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.
Field C. A., Welsh A. H. (2007). Bootstrapping clustered data. JRSS B 69(3), 369-390.
Davison A. C., Hinkley D. V. (1997). Bootstrap Methods and their Application, section 3.8
(resampling clusters, the first stage, with replacement).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

CHUNK_ELEMENTS = 1 << 18
"""Target size (resamples x rows) of one chunk of weights: about 2 MB in float64."""


@dataclass(frozen=True)
class ResamplingPlan:
    """How rows are grouped into resampling units and units into strata.

    Attributes
    ----------
    units : numpy.ndarray of shape (n,)
        Unit code (0 .. n_units-1) of each row; None means that each row is its own unit, in order.
    n_units : int
    strata : tuple of numpy.ndarray
        The unit codes of each stratum; units are resampled within their stratum, so each resample
        keeps the stratum sizes (one stratum: plain bootstrap).
    """

    units: np.ndarray | None
    n_units: int
    strata: tuple[np.ndarray, ...]

    @property
    def n_rows(self) -> int:
        return self.n_units if self.units is None else int(self.units.size)


def make_plan(units: np.ndarray | None, n_units: int, unit_strata: np.ndarray | None = None) -> ResamplingPlan:
    """Build a plan; ``unit_strata`` gives the stratum of each unit (None: no stratification)."""
    if unit_strata is None:
        strata = (np.arange(n_units),)
    else:
        strata = tuple(np.flatnonzero(unit_strata == s) for s in np.unique(unit_strata))
    return ResamplingPlan(units, n_units, strata)


def chunk_size(n_rows: int, n_resamples: int) -> int:
    """Number of resamples per chunk for ``n_rows`` rows."""
    return int(max(1, min(n_resamples, CHUNK_ELEMENTS // max(n_rows, 1))))


def _draw_counts(plan: ResamplingPlan, b: int, rng: np.random.Generator, out: np.ndarray,
                 offsets: np.ndarray, blocks: np.ndarray | None) -> np.ndarray:
    """Counts of ``b`` resamples, written into ``out`` (a reused buffer of b * width integers).

    The unit indices are drawn as ``rng.integers(0, m, (b, m))`` (per stratum, concatenated), mapped to their
    block when ``blocks`` (the block of each unit) is given, offset by the width per resample and counted with
    ``np.add.at`` into the zeroed buffer: the same counts as ``np.bincount`` of the offset indices, without
    allocating (and faulting in) a new count matrix for every chunk.
    """
    m = plan.n_units
    if len(plan.strata) == 1:
        draws = rng.integers(0, m, size=(b, m))
    else:
        draws = np.concatenate(
            [stratum[rng.integers(0, stratum.size, size=(b, stratum.size))] for stratum in plan.strata], axis=1
        )
    if blocks is not None:
        np.take(blocks, draws, out=draws, mode="wrap")  # in place: no new matrix (indices are in range)
    draws += offsets[:b]
    out.fill(0)
    np.add.at(out, draws.ravel(), 1)
    return out.reshape(b, -1)


def bootstrap_counts(
    plan: ResamplingPlan, n_resamples: int, rng: np.random.Generator, *, batch: int | None = None,
    dtype=np.float64, blocks: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """Yield unit-count matrices of shape (b, n_units): how many times each unit is drawn.

    ``blocks`` (the block of each unit, ``0 .. G-1``) gives instead the counts summed over each block, shape
    (b, G), from the same draws: for the same seed, the block sums of the unit counts.

    With ``dtype=np.int64`` the matrices are views of one buffer reused from chunk to chunk: use each
    before asking for the next. Other dtypes give new arrays.
    """
    step = batch or chunk_size(plan.n_rows, n_resamples)
    width = plan.n_units if blocks is None else int(blocks.max()) + 1
    buffer = np.empty(step * width, dtype=np.int64)
    offsets = (np.arange(step, dtype=np.int64) * width)[:, None]
    for start in range(0, n_resamples, step):
        b = min(step, n_resamples - start)
        counts = _draw_counts(plan, b, rng, buffer[: b * width], offsets, blocks)
        yield counts if np.dtype(dtype) == np.int64 else counts.astype(dtype)


def expand(counts: np.ndarray, units: np.ndarray | None) -> np.ndarray:
    """Row weights from unit counts: each row gets the count of its unit."""
    return counts if units is None else np.take(counts, units, axis=1)


def bootstrap_weights(
    plan: ResamplingPlan, n_resamples: int, rng: np.random.Generator, *, batch: int | None = None,
    dtype=np.float64,
) -> Iterator[np.ndarray]:
    """Yield row-weight matrices of shape (b, n) whose rows are bootstrap counts, chunk by chunk.

    A participant drawn k times gives weight k to each of its rows (cluster bootstrap). ``dtype``: as in
    :func:`bootstrap_counts` (integer weights give the same metrics, exactly, and skip a conversion; they are
    views of reused buffers: use each before asking for the next).
    """
    if plan.units is None or np.dtype(dtype) != np.int64:
        for counts in bootstrap_counts(plan, n_resamples, rng, batch=batch, dtype=dtype):
            yield expand(counts, plan.units)
        return
    buffer = None  # integer weights of the cluster bootstrap: one reused (b, n) buffer
    for counts in bootstrap_counts(plan, n_resamples, rng, batch=batch, dtype=dtype):
        if buffer is None:
            buffer = np.empty((counts.shape[0], plan.units.size), dtype=np.int64)
        yield np.take(counts, plan.units, axis=1, out=buffer[: counts.shape[0]], mode="wrap")


def leave_one_out(units: np.ndarray, left_out: np.ndarray) -> np.ndarray:
    """Row weights (len(left_out), n): 0 for the rows of the left-out unit, 1 elsewhere."""
    return (units[None, :] != left_out[:, None]).astype(np.float64)


@dataclass(frozen=True)
class LeaveOneOut:
    """Leave-one-unit-out row weights, kept implicit: the weight matrix is never built.

    Row ``i`` of the (virtual) matrix gives weight 0 to the rows of unit ``left_out[i]`` and 1 to
    all others, as :func:`leave_one_out` does. A statistic that is linear in the weights (confusion
    counts, moments) is then the total over all rows minus the left-out unit's contribution:
    :meth:`linear` costs O(n + len(left_out)) instead of O(n * len(left_out)). The weighted AUC uses
    the same idea (:func:`clinicadl.stats.metrics.weighted_auc`). Anything else can ask for the dense
    matrix with :meth:`dense` (or ``numpy.asarray``), best in chunks of :meth:`chunks`.

    Attributes
    ----------
    units : numpy.ndarray of shape (n,) or None
        Unit code of each row (None: each row is its own unit).
    n_units : int
    left_out : numpy.ndarray of shape (b,)
        The unit left out by each row of weights.
    """

    units: np.ndarray | None
    n_units: int
    left_out: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.n_units if self.units is None else int(self.units.size)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.left_out.size), self.n_rows)

    def row_units(self) -> np.ndarray:
        """Unit code of each row."""
        return np.arange(self.n_units) if self.units is None else self.units

    def dense(self) -> np.ndarray:
        """The weight matrix, shape (b, n)."""
        return leave_one_out(self.row_units(), self.left_out)

    def __array__(self, dtype=None, copy=None):
        out = self.dense()
        return out if dtype is None else out.astype(dtype)

    def chunks(self) -> Iterator[LeaveOneOut]:
        """The same weights split into chunks whose dense matrices hold about CHUNK_ELEMENTS entries."""
        step = chunk_size(self.n_rows, self.left_out.size)
        for start in range(0, self.left_out.size, step):
            yield LeaveOneOut(self.units, self.n_units, self.left_out[start:start + step])

    def unit_sums(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (n,) or (n, k) over the rows of each unit, shape (n_units,) or (n_units, k)."""
        if self.units is None:
            return values
        if values.ndim == 1:
            return np.bincount(self.units, weights=values, minlength=self.n_units)
        return np.column_stack([np.bincount(self.units, weights=v, minlength=self.n_units) for v in values.T])

    def linear(self, values: np.ndarray) -> np.ndarray:
        """``dense() @ values`` for ``values`` of shape (n, k): the total minus each left-out unit's sum."""
        return values.sum(axis=0) - self.unit_sums(values)[self.left_out]


def jackknife_weights(plan: ResamplingPlan, *, batch: int | None = None) -> Iterator[LeaveOneOut]:
    """Yield implicit row weights leaving one unit out each (rows: units 0, 1, ..., in order).

    Without ``batch``, all units come in one :class:`LeaveOneOut`: the metrics compute the jackknife
    in closed form from it (O(n)), and densify it in bounded chunks only where they must.
    """
    m = plan.n_units
    step = batch or m
    for start in range(0, m, step):
        yield LeaveOneOut(plan.units, m, np.arange(start, min(start + step, m)))
