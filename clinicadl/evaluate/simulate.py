"""``clinicadl evaluate simulate``: check the package's intervals and tests by simulation, in the user's regime.

A scenario of :mod:`clinicadl.stats.simulation` is run with :func:`clinicadl.stats.simulation.simulate`; the
result is a table of coverage / type I error / power with Monte-Carlo standard errors, and a warning for every
procedure whose rate departs from its nominal value by more than 3 MC SE. With ``from_maps`` the truth of the
``replicates`` scenario (Bouthillier et al.'s two-stage model) is taken from a real MAPS trained with
replicates: its mean performance and its split, seed and test-set variance components, as
``clinicadl evaluate procedure`` estimates them, so that the user sees how the procedure-level intervals
behave with their own number of replicates and variances.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Morris T. P., White I. R., Crowther M. J. (2019). Using simulation studies to evaluate statistical methods.
Statistics in Medicine 38(11), 2074-2102.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from clinicadl.errors import InputError
from clinicadl.stats.simulation import (
    SCENARIOS,
    SimulationResult,
    default_procedures,
    make_scenario,
    nested_cv_available,
    simulate,
)

__all__ = ["SimulationReport", "format_simulation_table", "run_simulation", "truth_from_maps"]


@dataclass(frozen=True)
class SimulationReport:
    """What ``evaluate simulate`` found.

    Attributes
    ----------
    scenario : str
        Family name (``--scenario``).
    key, description : str
        The scenario with its parameters, and in words.
    results : tuple of SimulationResult
        One per procedure.
    warnings : tuple of str
        One sentence per procedure missing its nominal rate by more than 3 Monte-Carlo SE.
    notes : tuple of str
        Where the truth came from (``--from_maps``), procedures skipped.
    seconds : float
        Wall time of the simulation.
    """

    scenario: str
    key: str
    description: str
    results: tuple[SimulationResult, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    seconds: float


def truth_from_maps(maps_path: str | Path, data_group: str, *, metric: str = "BA", selection_metric: str = "loss",
                    n_resamples: int = 1000, seed: int = 0) -> tuple[dict[str, float], str]:
    """Parameters of :class:`~clinicadl.stats.simulation.TwoStageReplicates` estimated on a MAPS with replicates.

    Returns
    -------
    parameters : dict
        ``n_replicates``, ``mu`` (mean of the metric over the trained models), ``sd_split``, ``sd_seed`` and
        ``sd_test`` (square roots of the variance components of ``evaluate procedure``; where split and seed
        are confounded, one replicate per split, their sum is given to the split and the seed gets 0; a
        component that is not estimable counts as 0), and ``fixed_split`` (True when only seeds varied).
    note : str
        The values, in words.
    """
    from clinicadl.evaluate.model import EvaluationOptions
    from clinicadl.evaluate.procedure import expected_table, model_table
    from clinicadl.evaluate.procedure_inputs import load_procedure

    procedure = load_procedure(maps_path, data_group, selection_metric=selection_metric)
    if len(procedure.models) < 2:
        raise InputError(f"{maps_path}: one trained model only on {data_group!r}; --from_maps needs a MAPS trained "
                         "with --replicates R (R >= 2).")
    options = EvaluationOptions(metrics=(metric,), n_resamples=n_resamples, seed=seed)
    table = model_table(procedure, options)
    _, variance, _ = expected_table(procedure, table, options)
    if not len(variance) or metric not in set(variance["metric"]):
        raise InputError(f"{maps_path}: no variance components for {metric!r} on {data_group!r}; choose a metric "
                         "that every model has (e.g. --metric BA).")
    rows = variance[variance["metric"] == metric].set_index("component")["estimate"]

    def component(name):
        value = float(rows.get(name, math.nan))
        return value if math.isfinite(value) and value > 0 else 0.0

    if "replicate" in rows.index:  # a test group shared by every model: crossed components
        replicate, test = component("replicate"), component("participant") + component("interaction")
        split, seed_var = (replicate, 0.0) if procedure.split_varied else (0.0, replicate)
    else:  # validation folds: one-way components
        split, seed_var, test = component("split"), component("seed"), component("test_sampling")
        if not math.isfinite(float(rows.get("split", math.nan))) or not math.isfinite(float(rows.get("seed",
                                                                                                      math.nan))):
            split, seed_var = component("split_and_seed"), 0.0  # confounded: all given to the split
    values = table.loc[table["metric"] == metric, "estimate"].astype(float)
    parameters = {"n_replicates": len(procedure.models), "mu": float(values.mean()), "sd_split": math.sqrt(split),
                  "sd_seed": math.sqrt(seed_var), "sd_test": math.sqrt(test),
                  "fixed_split": not procedure.split_varied}
    note = (f"Truth from {maps_path} ({data_group}, {metric}): {parameters['n_replicates']} trained models, mean "
            f"{parameters['mu']:.4f}, SD split {parameters['sd_split']:.4f}, seed {parameters['sd_seed']:.4f}, "
            f"test set {parameters['sd_test']:.4f}"
            + (" (only seeds varied: FixHOptEst design)." if parameters["fixed_split"] else "."))
    return parameters, note


def run_simulation(
    scenario: str,
    *,
    n: int | None = None,
    n_sim: int = 1000,
    procedures: Sequence[str] | None = None,
    seed: int = 0,
    from_maps: str | Path | None = None,
    data_group: str | None = None,
    metric: str = "BA",
    selection_metric: str = "loss",
    chunk_size: int = 250,
    n_jobs: int = 1,
    cache_dir: str | Path | None = None,
    progress: bool = False,
    parameters: dict | None = None,
    launcher: str = "local",
    slurm: Mapping[str, Any] | None = None,
) -> SimulationReport:
    """Run one scenario of :data:`clinicadl.stats.simulation.SCENARIOS` with its procedures.

    Parameters
    ----------
    scenario : str
        Family name, e.g. ``"accuracy"``, ``"auc"``, ``"clustered"``, ``"dice"``, ``"replicates"``.
    n : int, optional
        Size of the study: participants, or replicates for ``replicates``, splits for ``resampled-t``.
    n_sim : int, default 1000
        Simulated studies ``R``.
    procedures : sequence of str, optional
        Names of the procedures to run (default: all of the family); see the printed table for names.
    seed : int, default 0
    from_maps, data_group, metric, selection_metric
        Take the truth of the ``replicates`` scenario from a MAPS (see :func:`truth_from_maps`); ``n`` then
        defaults to the MAPS's number of trained models.
    chunk_size, n_jobs, cache_dir, progress
        See :func:`clinicadl.stats.simulation.simulate`.
    parameters : dict, optional
        Further parameters of the scenario (e.g. ``{"p": 0.9}`` for ``accuracy``).
    launcher : {"local", "slurm"}, default "local"
        ``slurm``: every chunk of simulations is one job of a SLURM job array (``n_jobs`` at once), with the
        resources of ``slurm`` (:class:`clinicadl.training.slurm.SlurmOptions`); the numbers do not change.
    slurm : mapping, optional
        SLURM options (partition, account, qos, time, cpus_per_task, mem_gb, sbatch, setup).

    Returns
    -------
    SimulationReport
    """
    if scenario not in SCENARIOS:
        raise InputError(f"Unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}.")
    map_fn = _launcher_map(launcher, slurm, n_jobs, cache_dir)
    parameters = dict(parameters or {})
    notes = []
    if from_maps is not None:
        if scenario != "replicates":
            raise InputError("--from_maps gives the variances of a learning procedure: use it with --scenario "
                             "replicates.")
        if not data_group:
            raise InputError("--from_maps needs --data_group, the test group predicted by every replicate.")
        estimated, note = truth_from_maps(from_maps, data_group, metric=metric, selection_metric=selection_metric,
                                          seed=seed)
        notes.append(note)
        if n is None:
            n = estimated["n_replicates"]
        estimated.pop("n_replicates")
        parameters = {**estimated, **parameters}
    built = make_scenario(scenario, n, **parameters)
    available = default_procedures(scenario, built)
    if scenario == "nested-cv" and not nested_cv_available():
        notes.append("Nested CV (clinicadl.stats.nested_cv) is not available in this version: only the naive CV "
                     "interval is checked.")
    chosen = available
    if procedures:
        by_name = {p.name: p for p in available}
        unknown = [name for name in procedures if name not in by_name]
        if unknown:
            raise InputError(f"Unknown procedure(s) {unknown} for scenario {scenario!r}; choose among "
                             f"{list(by_name)}.")
        chosen = [by_name[name] for name in procedures]
    started = time.perf_counter()
    results = simulate(built, chosen, n_sim=n_sim, rng=seed, chunk_size=chunk_size, n_jobs=n_jobs,
                       cache_dir=cache_dir, progress=progress, map_fn=map_fn)
    warnings = tuple(w for w in (r.warning() for r in results) if w)
    return SimulationReport(scenario, built.key, built.description, results, warnings, tuple(notes),
                            time.perf_counter() - started)


def _launcher_map(launcher: str, slurm: Mapping[str, Any] | None, n_jobs: int, cache_dir: str | Path | None):
    """``map_fn`` running the chunks as a job array of ``launcher`` (None: the harness's own local workers)."""
    from clinicadl.training.launcher import check_launcher

    options = check_launcher(launcher, slurm)  # before anything runs
    if launcher in ("local", "debug"):
        return None
    if cache_dir is None:
        raise InputError("--launcher slurm writes the jobs' files beside the chunks: give --output_dir (a folder "
                         "the cluster's nodes can read).")

    def map_fn(work, tasks):
        from clinicadl.training.launcher import gather, make_executor, map_array

        at_once = n_jobs if n_jobs > 1 else len(tasks)  # SLURM: the whole array at once unless limited
        with make_executor(launcher, Path(cache_dir) / ".jobs", options, n_jobs=at_once) as executor:
            return gather(map_array(executor, work, tasks))

    return map_fn


MEASURE_WORDS = MappingProxyType({"coverage": "coverage", "type I error": "type I error", "power": "power"})


def format_simulation_table(report: SimulationReport) -> str:
    """Plain-text table: one row per procedure with its rate, MC SE, nominal rate, width and bias."""
    header = f"{'procedure':<36} {'measure':<13} {'rate':>6} {'MC SE':>6} {'nominal':>7} {'width':>8} {'bias':>9}"
    lines = [f"Scenario {report.scenario}: {report.description}", f"  {report.key}",
             f"  R = {report.results[0].n_sim} simulated studies, seed {report.results[0].seed}, "
             f"{report.seconds:.1f} s" if report.results else "", header, "-" * len(header)]
    for r in report.results:
        nominal = "-" if math.isnan(r.nominal_rate) else f"{r.nominal_rate:.3f}"
        width = "-" if math.isnan(r.mean_width) else f"{r.mean_width:.4f}"
        bias = "-" if math.isnan(r.bias) else f"{r.bias:+.4f}"
        flag = " !" if r.misses_nominal else ""
        lines.append(f"{r.procedure:<36} {MEASURE_WORDS[r.measure]:<13} {r.rate:>6.3f} {r.rate_se:>6.3f} "
                     f"{nominal:>7} {width:>8} {bias:>9}{flag}")
    lines.append("! : more than 3 Monte-Carlo SE from the nominal rate.")
    return "\n".join(lines)
