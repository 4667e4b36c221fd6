"""Expected performance of a learning procedure: a two-level (pigeonhole) bootstrap over replicates and
participants.

``R`` replicates of a procedure (each with its own split of the training data and seeds) are evaluated
on the SAME ``m`` test participants. The mean metric over replicates then varies with two crossed
random factors: the replicates (the procedure's randomness) and the participants (the test sample).
Resampling only participants ignores the first; resampling only replicates ignores the second. The
pigeonhole bootstrap of Owen (2007) resamples rows and columns independently.

References
----------
Owen A. B. (2007). The pigeonhole bootstrap. Annals of Applied Statistics 1(2), 386-411.
McCullagh P. (2000). Resampling and exchangeable arrays. Bernoulli 6(2), 285-301.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clinicadl.errors import InputError, plain
from clinicadl.stats.bootstrap import make_rng
from clinicadl.stats.intervals import percentile_interval, standard_error
from clinicadl.stats.resampling import CHUNK_ELEMENTS, bootstrap_counts, make_plan
from clinicadl.stats.results import ConfidenceInterval

RESAMPLE = ("both", "replicates", "participants")


@dataclass(frozen=True)
class ProcedureBootstrapResult:
    """Interval of the expected performance of a procedure from replicates on a shared test set.

    Attributes
    ----------
    estimate : float
        Grand mean: ``values.mean()``, or ``values.sum() / denominators.sum()`` with denominators.
    confidence_interval : ConfidenceInterval
        Percentile interval at ``confidence_level``.
    standard_error : float
        Standard deviation of the bootstrap replicates.
    bootstrap_distribution : numpy.ndarray
        The ``n_resamples`` replicates of the grand mean.
    resample : str
        ``"both"`` (replicates and participants, the pigeonhole bootstrap), ``"replicates"`` or
        ``"participants"``.
    confidence_level : float
    n_resamples : int
    n_replicates, n_participants : int
    seed : int or None
    """

    estimate: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    bootstrap_distribution: np.ndarray = field(repr=False)
    resample: str
    confidence_level: float
    n_resamples: int
    n_replicates: int
    n_participants: int
    seed: int | None


def _as_matrix(values, name):
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name} must be a numeric matrix: {error}") from None
    if array.ndim != 2 or min(array.shape) < 1:
        raise InputError(f"{name} must be a (replicates x participants) matrix, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} holds NaN or infinite values; every replicate must be evaluated on every "
                         "participant of the shared test set.")
    return array


def _validate(values, denominators, n_resamples, confidence_level, resample):
    v = _as_matrix(values, "values")
    if denominators is not None:
        d = _as_matrix(denominators, "denominators")
        if d.shape != v.shape:
            raise InputError(f"denominators must have the shape of values {v.shape}, got {d.shape}.")
        if np.any(d < 0) or d.sum() <= 0:
            raise InputError("denominators must be >= 0 with a positive total (e.g. images per participant).")
    else:
        d = None
    if resample not in RESAMPLE:
        raise InputError(f"Unknown resample {resample!r}; choose one of {', '.join(RESAMPLE)}.")
    if resample != "participants" and v.shape[0] < 2:
        raise InputError("Resampling replicates needs at least 2 replicates (rows of values).")
    if resample != "replicates" and v.shape[1] < 2:
        raise InputError("Resampling participants needs at least 2 participants (columns of values).")
    if not isinstance(n_resamples, (int, np.integer)) or isinstance(n_resamples, bool) or n_resamples < 2:
        raise InputError(f"n_resamples must be an integer >= 2, got {plain(n_resamples)}.")
    if not 0 < confidence_level < 1:
        raise InputError(f"confidence_level must lie strictly between 0 and 1, got {plain(confidence_level)}.")
    return v, d


def _counts(size, n_resamples, rng, step, resampled):
    """Count matrices of one level, or a row of ones repeated when that level is not resampled."""
    if resampled:
        yield from bootstrap_counts(make_plan(None, size), n_resamples, rng, batch=step)
        return
    for start in range(0, n_resamples, step):
        yield np.ones((min(step, n_resamples - start), size))


def _bilinear(rows, matrix, columns):
    """``rows[b] @ matrix @ columns[b]`` for each resample ``b``."""
    return np.einsum("bj,bj->b", rows @ matrix, columns)


def two_level_bootstrap(
    values,
    *,
    denominators=None,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    resample: str = "both",
    rng=None,
) -> ProcedureBootstrapResult:
    """Bootstrap interval of a procedure's expected performance over replicates and shared test participants.

    Parameters
    ----------
    values : array_like of shape (R, m)
        Contribution of each of ``m`` test participants to the metric of each of ``R`` replicates:
        correctness (0/1) for accuracy, a per-participant loss or absolute error, or, with
        ``denominators``, the number of correct images of each participant.
    denominators : array_like of shape (R, m), optional
        Weight of each entry; the statistic is then the ratio ``sum(values) / sum(denominators)``
        (e.g. images per participant for an image-level accuracy). Without it, the grand mean.
    n_resamples : int, default 2000
    confidence_level : float, default 0.95
    resample : {"both", "replicates", "participants"}, default "both"
        ``"both"`` resamples replicates and participants independently (the pigeonhole bootstrap). The
        other two resample one level only; ``"participants"`` is the usual test-set bootstrap, whose
        interval is too short when replicates vary.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ProcedureBootstrapResult
        ``estimate``, ``confidence_interval``, ``standard_error``, ``bootstrap_distribution``, ...

    Notes
    -----
    A resample is a pair of count vectors, ``w_r`` over replicates and ``w_c`` over participants; the
    replicate of the grand mean is ``(w_r' V w_c) / (sum(w_r) sum(w_c))`` (or ``w_r' V w_c / w_r' D w_c``
    with denominators), so a chunk of resamples is two matrix products and no Python loop runs over
    resamples.

    For the crossed random-effects model ``v_rj = mu + a_r + b_j + e_rj``, the variance of the grand mean
    is ``s_a/R + s_b/m + s_e/(R m)``; the pigeonhole bootstrap estimates about
    ``s_a/R + s_b/m + 3 s_e/(R m)`` (Owen 2007, section 3), so it is mildly conservative, the more so
    when the interaction/noise term dominates. The percentile interval over ``R`` replicates also
    inherits the ``(R - 1)/R`` shrinkage of the bootstrap with few replicates, and the replicate part of
    its variance is estimated from ``R`` values only, so with few replicates it covers like a z interval
    whose variance has few degrees of freedom. In our simulation (``tests/stats/test_procedure_bootstrap.py``,
    R = 20, m = 100, replicate sd 0.04, participant sd 0.1, noise sd 0.1, 2000 studies) the two-level
    interval covers 0.935 (Satterthwaite t prediction 0.946) and the participants-only interval 0.83
    (predicted 0.857); with noise sd 0.3 the two-level interval is conservative (0.967).

    References
    ----------
    Owen A. B. (2007). The pigeonhole bootstrap. Ann. Appl. Stat. 1(2), 386-411.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.procedure_bootstrap import two_level_bootstrap
    >>> rng = np.random.default_rng(0)
    >>> ability = rng.normal(1.5, 1.0, size=80)                    # per-participant difficulty
    >>> skill = rng.normal(0.0, 0.3, size=(10, 1))                  # per-replicate quality
    >>> correct = rng.random((10, 80)) < 1 / (1 + np.exp(-(ability + skill)))
    >>> res = two_level_bootstrap(correct, n_resamples=2000, rng=0)
    >>> round(res.estimate, 3), res.n_replicates, res.n_participants
    (0.782, 10, 80)
    >>> naive = two_level_bootstrap(correct, resample="participants", n_resamples=2000, rng=0)
    >>> bool(naive.standard_error < res.standard_error)
    True
    """
    v, d = _validate(values, denominators, n_resamples, confidence_level, resample)
    generator, seed = make_rng(rng)
    n_rows, n_cols = v.shape
    step = max(1, min(int(n_resamples), CHUNK_ELEMENTS // max(n_rows, n_cols)))
    rows = _counts(n_rows, int(n_resamples), generator, step, resample != "participants")
    cols = _counts(n_cols, int(n_resamples), generator, step, resample != "replicates")
    chunks = []
    for wr, wc in zip(rows, cols):
        numerator = _bilinear(wr, v, wc)
        denominator = _bilinear(wr, d, wc) if d is not None else wr.sum(axis=1) * wc.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            chunks.append(numerator / denominator)
    replicates = np.concatenate(chunks)
    estimate = float(v.sum() / d.sum()) if d is not None else float(v.mean())
    low, high = (float(x[0]) for x in percentile_interval(replicates[:, None], confidence_level))
    return ProcedureBootstrapResult(
        estimate=estimate,
        confidence_interval=ConfidenceInterval(low, high),
        standard_error=float(standard_error(replicates[:, None])[0]),
        bootstrap_distribution=replicates,
        resample=resample,
        confidence_level=float(confidence_level),
        n_resamples=int(n_resamples),
        n_replicates=int(n_rows),
        n_participants=int(n_cols),
        seed=seed,
    )
