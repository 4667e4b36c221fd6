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


def _unit_counts(plan: ResamplingPlan, b: int, rng: np.random.Generator) -> np.ndarray:
    m = plan.n_units
    if len(plan.strata) == 1:
        draws = rng.integers(0, m, size=(b, m))
    else:
        draws = np.concatenate(
            [stratum[rng.integers(0, stratum.size, size=(b, stratum.size))] for stratum in plan.strata], axis=1
        )
    draws += (np.arange(b) * m)[:, None]
    return np.bincount(draws.ravel(), minlength=b * m).reshape(b, m).astype(np.float64)


def bootstrap_counts(
    plan: ResamplingPlan, n_resamples: int, rng: np.random.Generator, *, batch: int | None = None
) -> Iterator[np.ndarray]:
    """Yield unit-count matrices of shape (b, n_units): how many times each unit is drawn."""
    step = batch or chunk_size(plan.n_rows, n_resamples)
    for start in range(0, n_resamples, step):
        yield _unit_counts(plan, min(step, n_resamples - start), rng)


def expand(counts: np.ndarray, units: np.ndarray | None) -> np.ndarray:
    """Row weights from unit counts: each row gets the count of its unit."""
    return counts if units is None else np.take(counts, units, axis=1)


def bootstrap_weights(
    plan: ResamplingPlan, n_resamples: int, rng: np.random.Generator, *, batch: int | None = None
) -> Iterator[np.ndarray]:
    """Yield row-weight matrices of shape (b, n) whose rows are bootstrap counts, chunk by chunk.

    A participant drawn k times gives weight k to each of its rows (cluster bootstrap).
    """
    for counts in bootstrap_counts(plan, n_resamples, rng, batch=batch):
        yield expand(counts, plan.units)


def leave_one_out(units: np.ndarray, left_out: np.ndarray) -> np.ndarray:
    """Row weights (len(left_out), n): 0 for the rows of the left-out unit, 1 elsewhere."""
    return (units[None, :] != left_out[:, None]).astype(np.float64)


def jackknife_weights(plan: ResamplingPlan, *, batch: int | None = None) -> Iterator[np.ndarray]:
    """Yield row-weight matrices leaving one unit out each (rows: units 0, 1, ..., in order)."""
    m, n = plan.n_units, plan.n_rows
    units = np.arange(n) if plan.units is None else plan.units
    step = batch or chunk_size(n, m)
    for start in range(0, m, step):
        yield leave_one_out(units, np.arange(start, min(start + step, m)))
