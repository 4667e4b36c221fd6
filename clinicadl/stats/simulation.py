"""Simulation harness: the proof, by simulation, that an interval covers and a test keeps its size.

A simulation study (Morris et al. 2019) has four parts, and so has this module:

1. a **scenario**, a data-generating process with a known truth, drawing a *batch* of ``n_sim`` simulated
   data sets at once as arrays (:class:`Scenario`);
2. a **procedure**, an interval method or a test applied to the whole batch, vectorised across the
   simulated data sets where it can be, else looping over them inside the chunk (:class:`Procedure`);
3. the **unit of work**, :func:`run_chunk`: a pure function of (scenario, procedures, seed, chunk index)
   that returns counts (:class:`ChunkCounts`). The data of a chunk come from
   ``SeedSequence([seed, crc32(scenario.key)], spawn_key=(chunk, 0))`` and are the same for every procedure
   (procedures are compared on the same data sets); each procedure's resamples come from its own stream,
   ``SeedSequence([seed, crc32(scenario.key), crc32(procedure.name)], spawn_key=(chunk, 1))``. The result
   does not depend on how many workers ran the chunks, nor in which order, nor on which other procedures
   ran with it (a chunk is also the natural task of a job array);
4. the **summary**, :class:`SimulationResult`: coverage, type I error or power, mean interval width and the
   bias of the point estimate, each with its Monte-Carlo standard error.

:func:`simulate` runs the chunks, optionally in worker processes, with a progress bar, and caches each
finished chunk in ``cache_dir`` (one JSON file per chunk, written atomically) so that an interrupted run
resumes where it stopped and a report regenerates from the cache with the same numbers.

References
----------
Morris T. P., White I. R., Crowther M. J. (2019). Using simulation studies to evaluate statistical methods.
Statistics in Medicine 38(11), 2074-2102.
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, astuple, dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from clinicadl.errors import InputError

KINDS = ("interval", "test")
DEPARTURE_SE = 3.0  # a rate further than 3 Monte-Carlo SE from its nominal value is reported as a departure


# ------------------------------------------------------------------------------------------- protocols


@runtime_checkable
class Scenario(Protocol):
    """A data-generating process with a known truth.

    Attributes
    ----------
    key : str
        Unique name of the scenario *with its parameters* (e.g. ``"bernoulli-accuracy(n=100,p=0.8)"``): it
        enters the seed and the cache key, so two scenarios with different parameters never share data.
    truth : Mapping[str, float]
        Known value of each target (e.g. ``{"accuracy": 0.8}``); a test scenario also has ``"null"``
        (1.0 when the null hypothesis holds, 0.0 when it does not).
    description : str
        One sentence for reports.
    """

    key: str
    truth: Mapping[str, float]
    description: str

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        """``n_sim`` simulated data sets as arrays whose first axis is the simulation.

        A key ``"truth:<target>"`` holding an array of shape ``(n_sim,)`` gives a truth that varies with
        the data set (e.g. the conditional error ``Err_XY`` of a model fitted on it).
        """


@dataclass(frozen=True)
class IntervalOutcome:
    """Intervals (and point estimates) of one procedure on a batch of simulated data sets.

    Attributes
    ----------
    estimate, low, high : numpy.ndarray of shape (n_sim,)
        NaN where the procedure returned no interval (counted as ``undefined``, never as covering).
    """

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class TestOutcome:
    """p-values of one test on a batch of simulated data sets (``pvalue`` of shape (n_sim,); NaN: undefined)."""

    __test__ = False  # not a pytest class
    pvalue: np.ndarray


@dataclass(frozen=True)
class Procedure:
    """A named interval method or test, applied to a whole batch of simulated data sets.

    Attributes
    ----------
    name : str
        Unique within a study (cache key), e.g. ``"wilson"``.
    kind : {"interval", "test"}
    target : str
        Key of the scenario's ``truth`` that the interval should cover (intervals), or that the test is
        about (tests: reported only).
    function : callable
        ``function(batch, rng) -> IntervalOutcome | TestOutcome``; ``rng`` is the procedure's own stream
        (bootstrap resamples). A module-level function or a :func:`functools.partial` of one, so that it
        can be sent to worker processes.
    nominal : float
        Confidence level (intervals) or significance level alpha (tests).
    reference : str
        The paper that defines the procedure.
    """

    name: str
    kind: str
    target: str
    function: Callable[[dict[str, np.ndarray], np.random.Generator], IntervalOutcome | TestOutcome] = field(
        repr=False)
    nominal: float = 0.95
    reference: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(f"Procedure {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}.")
        if not 0 < self.nominal < 1:
            raise InputError(f"Procedure {self.name!r}: nominal must be in (0, 1), got {self.nominal!r}.")


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ChunkCounts:
    """Sums over the simulated data sets of one chunk (what the cache stores).

    ``hits`` counts covering intervals (intervals) or rejections at ``nominal`` (tests); ``miss_low`` intervals
    entirely above the truth, ``miss_high`` entirely below; sums of widths and of estimate errors (and their
    squares) give the means and their Monte-Carlo standard errors.
    """

    n: int
    undefined: int
    hits: int
    miss_low: int = 0
    miss_high: int = 0
    width_sum: float = 0.0
    width_sq_sum: float = 0.0
    error_sum: float = 0.0
    error_sq_sum: float = 0.0

    def __add__(self, other: ChunkCounts) -> ChunkCounts:
        return ChunkCounts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def mc_se(rate: float, n_sim: int) -> float:
    """Monte-Carlo standard error ``sqrt(p (1 - p) / R)`` of a rate ``p`` estimated from ``R`` simulations.

    Examples
    --------
    >>> round(mc_se(0.95, 2000), 4)
    0.0049
    """
    if n_sim <= 0:
        return math.nan
    return math.sqrt(max(rate * (1 - rate), 0.0) / n_sim)


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics of one procedure in one scenario.

    Attributes
    ----------
    scenario, procedure : str
        Scenario key and procedure name.
    kind : {"interval", "test"}
    measure : {"coverage", "type I error", "power"}
        What ``rate`` is: the proportion of intervals containing the truth, or of rejections at level
        ``nominal`` when the null holds (type I error) or does not (power).
    rate, rate_se : float
        The rate over the defined outcomes and its Monte-Carlo SE ``sqrt(rate (1 - rate) / n_defined)``.
    nominal_rate : float
        What ``rate`` should be: the confidence level, alpha, or NaN for power.
    mean_width, width_se : float
        Mean interval width and its MC SE (NaN for tests).
    bias, bias_se : float
        Mean of ``estimate - truth`` and its MC SE (NaN for tests).
    miss_low, miss_high : int
        Intervals entirely above / below the truth.
    truth : float
        Truth of the target (NaN when it varies with the data set).
    n_sim, n_undefined : int
        Simulated data sets, and those where the procedure gave no result (not counted in ``rate``).
    seed, chunk_size : int
    target, reference : str
    """

    scenario: str
    procedure: str
    kind: str
    measure: str
    rate: float
    rate_se: float
    nominal_rate: float
    mean_width: float
    width_se: float
    bias: float
    bias_se: float
    miss_low: int
    miss_high: int
    truth: float
    n_sim: int
    n_undefined: int
    seed: int
    chunk_size: int
    target: str
    reference: str

    @property
    def departure(self) -> float:
        """``(rate - nominal_rate) / rate_se``: NaN for power; infinite when the SE is 0 and rates differ."""
        if math.isnan(self.nominal_rate):
            return math.nan
        gap = self.rate - self.nominal_rate
        se = self.rate_se if self.rate_se > 0 else mc_se(self.nominal_rate, self.n_sim - self.n_undefined)
        return gap / se if se > 0 else math.copysign(math.inf, gap) if gap else 0.0

    @property
    def misses_nominal(self) -> bool:
        """True when the rate is more than 3 Monte-Carlo SE from its nominal value."""
        return abs(self.departure) > DEPARTURE_SE

    def warning(self) -> str | None:
        """A sentence when the procedure misses its nominal rate (None otherwise)."""
        if not self.misses_nominal:
            return None
        if self.kind == "interval":
            side = "under-covers" if self.rate < self.nominal_rate else "over-covers (wider than needed)"
            return (f"{self.procedure} {side} in {self.scenario}: coverage {self.rate:.3f} (MC SE "
                    f"{self.rate_se:.3f}) for a nominal {self.nominal_rate:.2f}.")
        side = "over-rejects" if self.rate > self.nominal_rate else "is conservative"
        return (f"{self.procedure} {side} in {self.scenario}: type I error {self.rate:.3f} (MC SE "
                f"{self.rate_se:.3f}) for a nominal {self.nominal_rate:.2f}.")


def summarise(counts: ChunkCounts, scenario: Scenario, procedure: Procedure, *, seed: int,
              chunk_size: int) -> SimulationResult:
    """Turn summed chunk counts into a :class:`SimulationResult`."""
    defined = counts.n - counts.undefined
    rate = counts.hits / defined if defined else math.nan
    truth = float(scenario.truth.get(procedure.target, math.nan))
    if procedure.kind == "interval":
        measure, nominal = "coverage", procedure.nominal
        width, width_se = _mean_and_se(counts.width_sum, counts.width_sq_sum, defined)
        bias, bias_se = _mean_and_se(counts.error_sum, counts.error_sq_sum, defined)
    else:
        null = bool(scenario.truth.get("null", 1.0))
        measure, nominal = ("type I error", procedure.nominal) if null else ("power", math.nan)
        width = width_se = bias = bias_se = math.nan
    return SimulationResult(
        scenario=scenario.key, procedure=procedure.name, kind=procedure.kind, measure=measure, rate=rate,
        rate_se=mc_se(rate, defined) if defined else math.nan, nominal_rate=nominal, mean_width=width,
        width_se=width_se, bias=bias, bias_se=bias_se, miss_low=counts.miss_low, miss_high=counts.miss_high,
        truth=truth, n_sim=counts.n, n_undefined=counts.undefined, seed=seed, chunk_size=chunk_size,
        target=procedure.target, reference=procedure.reference)


def _mean_and_se(total: float, total_sq: float, n: int) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    mean = total / n
    variance = max(total_sq / n - mean**2, 0.0) * n / max(n - 1, 1)
    return mean, math.sqrt(variance / n)


# ------------------------------------------------------------------------------------------ unit of work


def chunk_streams(scenario_key: str, seed: int, chunk: int) -> np.random.Generator:
    """Generator of the data of one chunk: a function of (scenario key, seed, chunk) only."""
    entropy = [int(seed), zlib.crc32(scenario_key.encode())]
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(int(chunk), 0)))


def procedure_stream(scenario_key: str, procedure_name: str, seed: int, chunk: int) -> np.random.Generator:
    """Generator of one procedure's resamples on one chunk: independent of the other procedures run with it."""
    entropy = [int(seed), zlib.crc32(scenario_key.encode()), zlib.crc32(procedure_name.encode())]
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(int(chunk), 1)))


def chunk_sizes(n_sim: int, chunk_size: int) -> list[int]:
    """Sizes of the chunks: all ``chunk_size`` but the last."""
    if n_sim < 1 or chunk_size < 1:
        raise InputError(f"n_sim and chunk_size must be positive integers, got {n_sim} and {chunk_size}.")
    return [min(chunk_size, n_sim - start) for start in range(0, n_sim, chunk_size)]


def count_outcome(outcome: IntervalOutcome | TestOutcome, batch: dict[str, np.ndarray], scenario: Scenario,
                  procedure: Procedure) -> ChunkCounts:
    """Sum one procedure's outcome on one batch into :class:`ChunkCounts`."""
    if procedure.kind == "test":
        if not isinstance(outcome, TestOutcome):
            raise TypeError(f"Procedure {procedure.name!r} is a test and must return a TestOutcome.")
        p = np.asarray(outcome.pvalue, dtype=float)
        defined = np.isfinite(p)
        return ChunkCounts(n=p.size, undefined=int((~defined).sum()),
                           hits=int((defined & (p <= procedure.nominal)).sum()))
    if not isinstance(outcome, IntervalOutcome):
        raise TypeError(f"Procedure {procedure.name!r} is an interval and must return an IntervalOutcome.")
    low, high = np.asarray(outcome.low, dtype=float), np.asarray(outcome.high, dtype=float)
    estimate = np.asarray(outcome.estimate, dtype=float)
    truth = batch.get(f"truth:{procedure.target}")
    if truth is None:
        truth = np.full(low.shape, float(scenario.truth[procedure.target]))
    defined = np.isfinite(low) & np.isfinite(high)
    width = np.where(defined, high - low, 0.0)
    error = np.where(defined & np.isfinite(estimate), estimate - truth, 0.0)
    return ChunkCounts(
        n=low.size, undefined=int((~defined).sum()), hits=int((defined & (low <= truth) & (truth <= high)).sum()),
        miss_low=int((defined & (truth < low)).sum()), miss_high=int((defined & (truth > high)).sum()),
        width_sum=float(width.sum()), width_sq_sum=float((width**2).sum()), error_sum=float(error.sum()),
        error_sq_sum=float((error**2).sum()))


def run_chunk(scenario: Scenario, procedures: Sequence[Procedure], seed: int, chunk: int,
              size: int) -> list[ChunkCounts]:
    """The unit of work: draw chunk ``chunk`` of ``size`` data sets and apply every procedure to it.

    A pure function of its arguments (the data of a chunk do not depend on the procedures, and each
    procedure gets its own generator spawned from the chunk's), so chunks may run in any order, in any
    process, or as the tasks of a job array.
    """
    batch = scenario.draw(chunk_streams(scenario.key, seed, chunk), size)
    out = []
    for procedure in procedures:
        rng = procedure_stream(scenario.key, procedure.name, seed, chunk)
        out.append(count_outcome(procedure.function(batch, rng), batch, scenario, procedure))
    return out


# -------------------------------------------------------------------------------------------------- cache


def cache_path(cache_dir: str | Path, scenario: Scenario, procedure: Procedure, seed: int, chunk: int,
               size: int) -> Path:
    """``<cache_dir>/<scenario>/<procedure>/seed-<seed>/chunk-<i>-size-<size>.json`` (names made file-safe)."""
    def safe(text: str) -> str:
        return "".join(c if c.isalnum() or c in "-_.=," else "_" for c in text)

    return (Path(cache_dir) / safe(scenario.key) / safe(procedure.name) / f"seed-{seed}"
            / f"chunk-{chunk:05d}-size-{size}.json")


def _read_cached(path: Path) -> ChunkCounts | None:
    try:
        return ChunkCounts(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None  # missing or corrupt: recomputed


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file in the same folder, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_and_store_chunk(scenario: Scenario, procedures: Sequence[Procedure], seed: int, chunk: int, size: int,
                        cache_dir: str | Path) -> list[ChunkCounts]:
    """:func:`run_chunk`, then store each procedure's counts at :func:`cache_path` (atomic writes).

    What one task of a job array runs (one chunk index per task): :func:`simulate` with the same
    ``cache_dir``, seed and chunk size then only reads the results.
    """
    counts = run_chunk(scenario, procedures, seed, chunk, size)
    for procedure, c in zip(procedures, counts, strict=True):
        write_atomic(cache_path(cache_dir, scenario, procedure, seed, chunk, size), json.dumps(asdict(c)))
    return counts


def _work(args) -> tuple[int, list[ChunkCounts]]:
    scenario, procedures, seed, chunk, size = args
    return chunk, run_chunk(scenario, procedures, seed, chunk, size)


# ----------------------------------------------------------------------------------------------- simulate


def simulate(
    scenario: Scenario,
    procedures: Iterable[Procedure],
    *,
    n_sim: int = 1000,
    seed: int = 0,
    chunk_size: int = 250,
    n_jobs: int = 1,
    cache_dir: str | Path | None = None,
    progress: bool = False,
    map_fn: Callable[[Callable, list], Iterable] | None = None,
) -> tuple[SimulationResult, ...]:
    """Coverage, type I error or power of several procedures on ``n_sim`` data sets of one scenario.

    Parameters
    ----------
    scenario : Scenario
        Data-generating process with its truth (see :mod:`clinicadl.stats.scenarios`).
    procedures : iterable of Procedure
        Applied to the same simulated data sets (paired comparison of procedures).
    n_sim : int, default 1000
        Number of simulated data sets ``R``; the Monte-Carlo SE of a coverage near 0.95 is
        ``sqrt(0.95 * 0.05 / R)`` (0.0069 for R = 1000).
    seed : int, default 0
        Root seed: with ``chunk_size``, it fixes every number of the result.
    chunk_size : int, default 250
        Simulated data sets per chunk (unit of work, of caching and of memory).
    n_jobs : int, default 1
        Worker processes; the result does not depend on it.
    cache_dir : str or Path, optional
        Folder where each finished chunk is stored (atomic writes), keyed by scenario, procedure, seed,
        chunk index and size; a later call with the same arguments reads them instead of recomputing
        (resume after an interruption; regeneration of a report).
    progress : bool, default False
        Show a progress bar over chunks (tqdm).
    map_fn : callable, optional
        ``map_fn(work, tasks) -> results in task order``: runs the chunks elsewhere (e.g. as a SLURM job array,
        :func:`clinicadl.evaluate.simulate.run_simulation` with ``launcher="slurm"``); ``work`` is a module-level
        function of one task, so it can be sent to another process. Default: ``n_jobs`` local processes.

    Returns
    -------
    tuple of SimulationResult
        One per procedure, in the order given.

    Examples
    --------
    >>> from clinicadl.stats.scenarios import BernoulliAccuracy, proportion_procedure
    >>> result, = simulate(BernoulliAccuracy(n=100, p=0.8), [proportion_procedure("wilson")], n_sim=2000, seed=1)
    >>> abs(result.rate - 0.95) < 3 * result.rate_se
    True
    """
    procedures = tuple(procedures)
    names = [p.name for p in procedures]
    if len(set(names)) != len(names):
        raise InputError(f"Procedure names must be unique, got {names}.")
    if not isinstance(scenario, Scenario):
        raise InputError(f"{scenario!r} is not a Scenario (it needs key, truth, description and draw).")
    sizes = chunk_sizes(int(n_sim), int(chunk_size))
    totals = [ChunkCounts(0, 0, 0)] * len(procedures)
    todo: list[tuple[int, list[int]]] = []  # chunk -> indices of procedures still to run
    for chunk, size in enumerate(sizes):
        missing = []
        for j, procedure in enumerate(procedures):
            cached = (_read_cached(cache_path(cache_dir, scenario, procedure, seed, chunk, size))
                      if cache_dir is not None else None)
            if cached is None:
                missing.append(j)
            else:
                totals[j] = totals[j] + cached
        if missing:
            todo.append((chunk, missing))
    tasks = [(scenario, tuple(procedures[j] for j in missing), seed, chunk, sizes[chunk])
             for chunk, missing in todo]
    bar = _progress(len(tasks), scenario.key) if progress and tasks else None
    results = map_fn(_work, tasks) if map_fn is not None and tasks else _execute(tasks, n_jobs)
    for chunk, counts in results:
        missing = dict(todo)[chunk]
        for j, c in zip(missing, counts, strict=True):
            totals[j] = totals[j] + c
            if cache_dir is not None:
                write_atomic(cache_path(cache_dir, scenario, procedures[j], seed, chunk, sizes[chunk]),
                             json.dumps(asdict(c)))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return tuple(summarise(t, scenario, p, seed=seed, chunk_size=chunk_size) for t, p in zip(totals, procedures,
                                                                                               strict=True))


def _progress(total: int, label: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="chunk", leave=False)


def _execute(tasks: list, n_jobs: int):
    if n_jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield _work(task)
        return
    import multiprocessing
    import os

    with ProcessPoolExecutor(max_workers=n_jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_one_blas_thread, initargs=(os.getpid(),)) as pool:
        yield from pool.map(_work, tasks)


def _one_blas_thread(parent_pid: int | None = None) -> None:
    """Workers are the parallelism: one BLAS thread each (when threadpoolctl is installed); they die with the
    parent process (:func:`clinicadl.worker_process.die_with_parent`)."""
    from clinicadl.worker_process import die_with_parent

    die_with_parent(parent_pid)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return
    threadpool_limits(1)
