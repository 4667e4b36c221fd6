"""Training a variance study: ``clinicadl train ... --study sources --replicates R [--sources ...] [--nested S K]``.

The design (:func:`clinicadl.training.study_design.study_design`) is laid out as a MAPS with replicates: one
``replicate-<r>/`` per distinct training (the reference configuration, shared by every design, is trained once),
their seeds in ``replicates.tsv``, and ``study.tsv`` saying which replicate is which model of which design
(:mod:`clinicadl.maps.study`). The replicates then run like any others (local workers or SLURM, the same job
runner), and ``clinicadl train resume`` finishes an interrupted study: ``replicates.tsv`` holds every seed.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clinicadl.errors import InputError
from clinicadl.maps.locks import maps_lock
from clinicadl.maps.maps_json import write_maps_json
from clinicadl.maps.replicates import ReplicateRecord
from clinicadl.maps.study import StudyRow, write_study_tsv
from clinicadl.training.procedure_result import ProcedureResult, finish_procedure
from clinicadl.training.replicate_inputs import (
    TrainFn,
    check_int,
    prepare_output,
    resolve_train_fn,
    shared_parameters,
    slurm_options,
)
from clinicadl.training.replicate_jobs import replicate_executor, run_replicates
from clinicadl.training.replicate_table import write_replicates_tsv
from clinicadl.training.study_design import StudyDesign, study_design

__all__ = ["STUDY_KEY", "study_rows", "train_study"]

STUDY_KEY = "study"
"""Key of the root ``maps.json`` describing the study: ``{"kind", "sources", "n_replicates", "nested"}``."""


def study_rows(design: StudyDesign) -> list[StudyRow]:
    """The rows of ``study.tsv`` for a design."""
    return [StudyRow(m.design, m.member, m.replicate, m.varied, m.split_draw, m.seed_draw, m.draws)
            for m in design.members]


def _write_root(maps: Path, shared: Mapping[str, Any], design: StudyDesign) -> None:
    block = {"count": design.n_trainings, "root_seed": design.root_seed, "varied_sources": list(design.sources)}
    study = {"kind": "sources", "sources": list(design.sources), "n_replicates": design.n_replicates,
             "nested": list(design.nested) if design.nested else None}
    write_maps_json(maps, {**shared, "replicates": block, STUDY_KEY: study})


def train_study(parameters: Mapping[str, Any], output_maps: str | Path, *, sources: Sequence[str],
                n_replicates: int, root_seed: int, nested: tuple[int, int] | None = None, n_jobs: int = 1,
                overwrite: bool = False, train_fn: TrainFn | None = None, progress: bool = True, executor=None,
                launcher: str = "local", slurm: Mapping[str, Any] | None = None, wait: bool = True,
                after_split=None) -> ProcedureResult:
    """Lay out and train a variance study into ``output_maps``.

    Parameters
    ----------
    parameters : mapping
        Training parameters, as for :func:`clinicadl.training.replicates.train_procedure`.
    output_maps : str or Path
    sources : sequence of str
        Sources studied one at a time (``all``: the default ones; ``hpo`` needs a search space).
    n_replicates : int
        Models per design (R >= 2, the reference included).
    root_seed : int
    nested : (int, int), optional
        S splits x K seed draws: separates the split from the seeds.
    n_jobs, overwrite, train_fn, progress, executor, launcher, slurm, wait, after_split
        As in :func:`~clinicadl.training.replicates.train_procedure`.

    Returns
    -------
    ProcedureResult
        One entry per distinct training (replicate folder).
    """
    shared = shared_parameters(parameters)
    root_seed = check_int("The root seed", root_seed, 0)
    n_jobs = check_int("n_jobs", n_jobs, 1)
    design = study_design(root_seed, sources, n_replicates, nested=nested)
    if "hpo" in design.sources and train_fn is None:
        raise InputError("a study of 'hpo' re-runs a hyper-parameter search per model, which --study does not run "
                         "yet; study the other sources, or train 'train --replicates R --vary hpo' procedures.")
    train_fn = resolve_train_fn(train_fn, after_split)
    slurm = slurm_options(launcher, slurm, replicated=True, executor=executor)
    output = Path(output_maps)
    prepare_output(output, overwrite)
    output.mkdir(parents=True, exist_ok=True)
    with maps_lock(output):
        seeds = design.replicate_seeds()
        records = {r: ReplicateRecord(r, "pending", seeds[r]) for r in sorted(seeds)}
        _write_root(output, shared, design)  # first: resume needs it
        write_replicates_tsv(output, records)
        write_study_tsv(output, study_rows(design))
        executor = replicate_executor(output, executor, launcher, slurm, n_jobs)
        records = run_replicates(output, records, list(records), shared=shared, root_seed=root_seed,
                                 varied=design.sources, n_jobs=n_jobs, train_fn=train_fn, progress=progress,
                                 executor=executor, wait=wait)
        return finish_procedure(output, records, root_seed=root_seed, varied=design.sources, trained=list(records),
                                submitted=not wait and bool(getattr(executor, "records_jobs", False)))
