"""The design of a variance study: which trainings vary which source, with which seeds.

``clinicadl train ... --study sources --replicates R --sources split,init,...`` trains, for each source ``s``, R
models that differ only by ``s`` (Bouthillier et al. 2021, section 2): model ``m`` of design ``s`` takes the seed
of draw ``m`` for ``s`` and the reference draw (draw 0) for every other source, so model 0 of every design is the
same training, the *reference configuration*, trained once. A design ``all`` re-draws every studied source together.
With ``nested=(S, K)``, S draws of the split with K draws of every other seeded source within each separate the
split and seed components (:func:`clinicadl.stats.variance_sources.split_seed_sd`).

Draw indices are disjoint between designs (design ``d`` uses ``d * R + m``), so no two designs share a draw except
the reference, and seeds come from :func:`clinicadl.training.seeds.source_seed` as for any replicate: the same root
seed gives the same study, and a study's reference is replicate 0 of ``train --replicates`` with the same root seed.
Trainings with identical seeds are one replicate folder.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

from dataclasses import dataclass

from clinicadl.errors import InputError
from clinicadl.training.seeds import SOURCES, check_sources, source_seed

ALL_DESIGN = "all"
NESTED_DESIGN = "nested"


@dataclass(frozen=True)
class StudyMember:
    """One model of a study design.

    Attributes
    ----------
    design : str
        A source name, ``"all"`` or ``"nested"``.
    member : int
        Index of the model in its design (0: the reference configuration).
    replicate : int
        Replicate folder that holds its training (shared by identical trainings).
    varied : tuple of str
        Sources re-drawn between the models of this design.
    draws : tuple of (str, int)
        Draw index of every source (0: the reference draw).
    seeds : tuple of (str, int)
        Seed of every source, in :data:`SOURCES` order.
    split_draw, seed_draw : int
        Position in the nested design's (S, K) table (-1 outside it).
    """

    design: str
    member: int
    replicate: int
    varied: tuple[str, ...]
    draws: tuple[tuple[str, int], ...]
    seeds: tuple[tuple[str, int], ...]
    split_draw: int = -1
    seed_draw: int = -1


@dataclass(frozen=True)
class StudyDesign:
    """Every model of a variance study and the replicate folders that train them.

    Attributes
    ----------
    root_seed : int
    sources : tuple of str
        Sources studied one at a time.
    n_replicates : int
        Models per single-source design and in ``all``.
    nested : tuple of (int, int) or None
        ``(S, K)`` of the nested split x seed design.
    members : tuple of StudyMember
    """

    root_seed: int
    sources: tuple[str, ...]
    n_replicates: int
    nested: tuple[int, int] | None
    members: tuple[StudyMember, ...]

    @property
    def designs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.design for m in self.members))

    @property
    def n_trainings(self) -> int:
        """Distinct trainings (replicate folders) the study needs."""
        return len({m.replicate for m in self.members})

    def replicate_seeds(self) -> dict[int, dict[str, int]]:
        """Seeds of every source by replicate folder."""
        return {m.replicate: dict(m.seeds) for m in self.members}

    def design_members(self, design: str) -> tuple[StudyMember, ...]:
        return tuple(m for m in self.members if m.design == design)


def _member(root_seed, design, member, varied, draws, registry, split_draw=-1, seed_draw=-1) -> StudyMember:
    seeds = tuple((s, source_seed(root_seed, draws[s], s)) for s in SOURCES)
    replicate = registry.setdefault(seeds, len(registry))
    return StudyMember(design, member, replicate, varied, tuple((s, draws[s]) for s in SOURCES), seeds,
                       split_draw, seed_draw)


def _nested_members(root_seed, sources, shape, offset, registry) -> list[StudyMember]:
    n_splits, n_seeds = shape
    seeded = tuple(s for s in sources if s not in ("split", "hpo"))
    if "split" not in sources or not seeded:
        raise InputError("a nested design separates the split from the seeds: study 'split' and at least one of "
                         f"{', '.join(s for s in SOURCES if s not in ('split', 'hpo'))}.")
    varied = ("split", *seeded)
    members = []
    for i in range(n_splits):
        for k in range(n_seeds):
            index = i * n_seeds + k
            draws = dict.fromkeys(SOURCES, 0)
            draws["split"] = offset + i if i else 0
            for s in seeded:
                draws[s] = offset + index if index else 0
            members.append(_member(root_seed, NESTED_DESIGN, index, varied, draws, registry, i, k))
    return members


def study_design(root_seed: int, sources, n_replicates: int, *, nested: tuple[int, int] | None = None) -> StudyDesign:
    """Lay out a variance study.

    Parameters
    ----------
    root_seed : int
    sources : iterable of str
        Sources studied (``all``: the default ones; add ``hpo`` for the hyper-parameter search).
    n_replicates : int
        Models per design, at least 2 (the reference counts as one).
    nested : (int, int), optional
        ``(S, K)``: S splits with K seed draws each (S, K >= 2).

    Returns
    -------
    StudyDesign

    Examples
    --------
    >>> design = study_design(0, ["init", "order"], 3)
    >>> design.designs, design.n_trainings
    (('init', 'order', 'all'), 7)
    """
    sources = check_sources(sources)
    if n_replicates < 2:
        raise InputError(f"--replicates {n_replicates}: a variance study needs at least 2 models per source.")
    if nested is not None and (len(nested) != 2 or min(nested) < 2):
        raise InputError(f"nested design {nested}: give S >= 2 splits and K >= 2 seed draws per split.")
    registry: dict[tuple, int] = {}
    members: list[StudyMember] = []
    designs = (*sources, ALL_DESIGN) if len(sources) > 1 else sources
    for position, design in enumerate(designs):
        varied = sources if design == ALL_DESIGN else (design,)
        for m in range(n_replicates):
            draws = dict.fromkeys(SOURCES, 0)
            for s in varied:
                draws[s] = position * n_replicates + m if m else 0
            members.append(_member(root_seed, design, m, varied, draws, registry))
    if nested is not None:
        offset = len(designs) * n_replicates
        members.extend(_nested_members(root_seed, sources, nested, offset, registry))
    return StudyDesign(int(root_seed), sources, int(n_replicates), tuple(nested) if nested else None, tuple(members))
