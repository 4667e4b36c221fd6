"""Simulation harness: the proof, by simulation, that an interval covers and a test keeps its size.

A simulation study (Morris et al. 2019) has four parts:

1. a **scenario**, a data-generating process with a known truth, drawing a *batch* of ``n_sim`` simulated
   data sets at once as arrays (:class:`~clinicadl.stats.simulation.protocols.Scenario`; the families are the
   other modules of :mod:`clinicadl.stats.simulation`);
2. a **procedure under test**, an interval method or a test applied to the whole batch, vectorised across the
   simulated data sets where it can be, else looping over them inside the chunk
   (:class:`~clinicadl.stats.simulation.protocols.ProcedureUnderTest`);
3. the **unit of work**, :func:`run_chunk` (this module): a pure function of (scenario, procedures, seed, chunk
   index) that returns counts (:class:`~clinicadl.stats.simulation.summary.ChunkCounts`). The data of a chunk
   come from ``SeedSequence([seed, crc32(scenario.key)], spawn_key=(chunk, 0))`` and are the same for every
   procedure (procedures are compared on the same data sets); each procedure's resamples come from its own
   stream, ``SeedSequence([seed, crc32(scenario.key), crc32(procedure.name)], spawn_key=(chunk, 1))``. The
   result does not depend on how many workers ran the chunks, nor in which order, nor on which other
   procedures ran with it (a chunk is also the natural task of a job array);
4. the **summary**, :class:`~clinicadl.stats.simulation.summary.SimulationResult`: coverage, type I error or
   power, mean interval width and the bias of the point estimate, each with its Monte-Carlo standard error.

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
import os
import tempfile
import warnings
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from clinicadl.errors import InputError
from clinicadl.stats.simulation.protocols import ProcedureUnderTest, Scenario
from clinicadl.stats.simulation.summary import ChunkCounts, SimulationResult, count_outcome, summarise

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


def run_chunk(scenario: Scenario, procedures: Sequence[ProcedureUnderTest], seed: int, chunk: int,
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


def cache_path(cache_dir: str | Path, scenario: Scenario, procedure: ProcedureUnderTest, seed: int, chunk: int,
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


def run_and_store_chunk(scenario: Scenario, procedures: Sequence[ProcedureUnderTest], seed: int, chunk: int, size: int,
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
    procedures: Iterable[ProcedureUnderTest],
    *,
    n_sim: int = 1000,
    rng: int | np.random.Generator = 0,
    chunk_size: int = 250,
    n_jobs: int = 1,
    cache_dir: str | Path | None = None,
    progress: bool = False,
    map_fn: Callable[[Callable, list], Iterable] | None = None,
    seed: int | None = None,
) -> tuple[SimulationResult, ...]:
    """Coverage, type I error or power of several procedures on ``n_sim`` data sets of one scenario.

    Parameters
    ----------
    scenario : Scenario
        Data-generating process with its truth (see :mod:`clinicadl.stats.simulation`).
    procedures : iterable of ProcedureUnderTest
        Applied to the same simulated data sets (paired comparison of procedures).
    n_sim : int, default 1000
        Number of simulated data sets ``R``; the Monte-Carlo SE of a coverage near 0.95 is
        ``sqrt(0.95 * 0.05 / R)`` (0.0069 for R = 1000).
    rng : int or numpy.random.Generator, default 0
        Root seed: with ``chunk_size``, it fixes every number of the result (and keys the cache). A Generator
        gives one root seed drawn from it; the results record the root seed used.
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
    seed : int, optional
        Deprecated alias of ``rng`` (DeprecationWarning); removed in the next release.

    Returns
    -------
    tuple of SimulationResult
        One per procedure, in the order given.

    Examples
    --------
    >>> from clinicadl.stats.simulation import BernoulliAccuracy, proportion_procedure
    >>> result, = simulate(BernoulliAccuracy(n=100, p=0.8), [proportion_procedure("wilson")], n_sim=2000, rng=1)
    >>> abs(result.rate - 0.95) < 3 * result.rate_se
    True
    """
    procedures = tuple(procedures)
    names = [p.name for p in procedures]
    if len(set(names)) != len(names):
        raise InputError(f"Procedure names must be unique, got {names}.")
    if not isinstance(scenario, Scenario):
        raise InputError(f"{scenario!r} is not a Scenario (it needs key, truth, description and draw).")
    root = root_seed(rng, seed)
    sizes = chunk_sizes(int(n_sim), int(chunk_size))
    totals, todo = _cached_totals(scenario, procedures, root, sizes, cache_dir)
    tasks = [(scenario, tuple(procedures[j] for j in missing), root, chunk, sizes[chunk])
             for chunk, missing in todo]
    bar = _progress(len(tasks), scenario.key) if progress and tasks else None
    results = map_fn(_work, tasks) if map_fn is not None and tasks else _execute(tasks, n_jobs)
    for chunk, counts in results:
        missing = dict(todo)[chunk]
        for j, c in zip(missing, counts, strict=True):
            totals[j] = totals[j] + c
            if cache_dir is not None:
                write_atomic(cache_path(cache_dir, scenario, procedures[j], root, chunk, sizes[chunk]),
                             json.dumps(asdict(c)))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return tuple(summarise(t, scenario, p, seed=root, chunk_size=chunk_size) for t, p in zip(totals, procedures,
                                                                                               strict=True))


def root_seed(rng: int | np.random.Generator, seed: int | None = None) -> int:
    """The root seed of a study: ``rng`` itself (an int), or one drawn from a Generator.

    ``seed`` is the deprecated name of ``rng`` (DeprecationWarning).
    """
    if seed is not None:
        warnings.warn("simulate(seed=...) is deprecated: pass rng=... (an int root seed or a numpy Generator).",
                      DeprecationWarning, stacklevel=3)
        rng = seed
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63 - 1))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return int(rng)
    raise InputError(f"rng must be a non-negative integer root seed or a numpy Generator, got {rng!r}.")


def _cached_totals(scenario: Scenario, procedures: Sequence[ProcedureUnderTest], seed: int, sizes: list[int],
                   cache_dir: str | Path | None) -> tuple[list[ChunkCounts], list[tuple[int, list[int]]]]:
    """Counts already in the cache, summed per procedure, and the (chunk, procedure indices) still to run."""
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
    return totals, todo


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
