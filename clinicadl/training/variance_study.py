"""Training a variance study: ``clinicadl train ... --study sources --replicates R [--sources ...] [--nested S K]``.

The design (:func:`clinicadl.training.study_design.study_design`) is laid out as a MAPS with replicates: one
``replicate-<r>/`` per distinct training (the reference configuration, shared by every design, is trained once),
their seeds in ``replicates.tsv``, and ``study.tsv`` saying which replicate is which model of which design
(:mod:`clinicadl.maps.study`). The replicates then run like any others (local workers or SLURM, the same job
runner), and ``clinicadl train resume`` finishes an interrupted study: ``replicates.tsv`` holds every seed.

Studying ``hpo`` (a search space and a number of trials, as ``--vary ...,hpo``): the models of the ``hpo`` and
``all`` designs run their own random search, seeded by their ``hpo`` draw (IdealEst's hyper-parameters re-chosen
per model); every other model keeps the hyper-parameters chosen by the reference configuration's search
(Bouthillier et al.'s FixHOpt: chosen once, then fixed). The reference is therefore trained first, the other
trainings once it has chosen (:func:`study_phases`).

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps.locks import maps_lock
from clinicadl.maps.maps_json import read_maps_json, write_maps_json
from clinicadl.maps.replicates import HPO_JSON, ReplicateRecord, replicate_dir
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

__all__ = ["STUDY_KEY", "StudySearchTrainFn", "study_phases", "study_rows", "study_train_fn", "train_study"]

STUDY_KEY = "study"
"""Key of the root ``maps.json`` describing the study: ``{"kind", "sources", "n_replicates", "nested"}``."""


@dataclass(frozen=True)
class StudySearchTrainFn:
    """Train function of a study of ``hpo``: search where the ``hpo`` draw is re-drawn, else the reference's choice.

    Attributes
    ----------
    search : SearchTrainFn
        The random search of one model (:class:`clinicadl.training.hpo.SearchTrainFn`).
    reference_seeds : tuple of (str, int)
        Seeds of the reference configuration (it searches with the root ``hpo`` draw).
    reference : str
        Folder of the reference replicate, whose selected hyper-parameters the other models keep.
    """

    search: Any
    reference_seeds: tuple[tuple[str, int], ...]
    reference: str

    def searches(self, seeds: Mapping[str, int]) -> bool:
        """Whether the model with these seeds runs its own search."""
        reference = dict(self.reference_seeds)
        return {s: int(v) for s, v in seeds.items()} == reference or int(seeds["hpo"]) != reference["hpo"]

    def __call__(self, parameters: Mapping[str, Any], maps_dir: str | Path, seeds: Mapping[str, int],
                 **options) -> None:
        if self.searches(seeds):
            self.search(parameters, maps_dir, seeds, **options)
            return
        selected = Path(self.reference) / HPO_JSON
        if not selected.is_file():
            raise MAPSError(f"{selected} is missing: the reference configuration has not chosen its hyper-parameters "
                            "yet, and this model keeps them; run `clinicadl train resume` on the study.")
        choice = json.loads(selected.read_text(encoding="utf-8"))
        from clinicadl.training.trainer import train_replicate

        base = self.search.base or train_replicate
        base({**parameters, **self.search.space.training_values(choice["values"])}, maps_dir, dict(seeds), **options)
        content = read_maps_json(maps_dir)
        content["hpo"] = {"values": choice["values"], "fixed_from": str(self.reference), "trial": choice.get("trial")}
        write_maps_json(maps_dir, content)


def study_train_fn(search, maps: str | Path, seeds: Mapping[int, Mapping[str, int]]) -> StudySearchTrainFn:
    """The train function of a study of ``hpo`` laid out in ``maps`` (replicate 0 is the reference)."""
    if search is None or not hasattr(search, "space"):
        raise InputError("a study of 'hpo' re-runs a hyper-parameter search per model: give --hpo_space (a TOML "
                         "with a [Random_Search] section) and --hpo_trials.")
    reference = tuple((s, int(v)) for s, v in seeds[0].items())
    return StudySearchTrainFn(search, reference, str(replicate_dir(maps, 0)))


def study_phases(parameters: Mapping[str, Any], to_run: Sequence[int]) -> list[list[int]]:
    """Replicates to train, in order: the reference alone first when ``hpo`` is studied (the others keep its
    choice), else all at once."""
    study = parameters.get(STUDY_KEY) or {}
    if "hpo" not in (study.get("sources") or ()) or 0 not in to_run:
        return [list(to_run)]
    return [[0], [r for r in to_run if r != 0]]


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
    if "hpo" in design.sources:
        if not wait:
            raise InputError("a study of 'hpo' trains the reference configuration before the models that keep its "
                             "hyper-parameters: run it without --detach (in a job of its own on a cluster).")
        train_fn = study_train_fn(train_fn, output_maps, design.replicate_seeds())
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
        study = {STUDY_KEY: {"sources": list(design.sources)}}
        for number, phase in enumerate(study_phases(study, list(records))):
            if number and records[0].status != "done":
                break  # the reference failed: the models that keep its choice cannot train (resume retries)
            records = run_replicates(output, records, phase, shared=shared, root_seed=root_seed,
                                     varied=design.sources, n_jobs=n_jobs, train_fn=train_fn, progress=progress,
                                     executor=executor, wait=wait)
        return finish_procedure(output, records, root_seed=root_seed, varied=design.sources, trained=list(records),
                                submitted=not wait and bool(getattr(executor, "records_jobs", False)))
