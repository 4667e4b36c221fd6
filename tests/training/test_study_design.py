"""The variance study's design: one source varies per design, the reference is trained once, seeds reproducible."""

from __future__ import annotations

import pytest

from clinicadl.errors import InputError
from clinicadl.training.seeds import SOURCES, source_seed
from clinicadl.training.study_design import study_design


def _varying(members):
    """Sources whose seed differs between the models of one design."""
    return {s for s in SOURCES if len({dict(m.seeds)[s] for m in members}) > 1}


def test_exactly_one_source_varies_within_each_source_design():
    design = study_design(3, ["split", "init", "order", "augmentation", "dropout"], 4)
    for source in design.sources:
        members = design.design_members(source)
        assert len(members) == 4
        assert _varying(members) == {source}
    assert _varying(design.design_members("all")) == set(design.sources)


def test_the_reference_configuration_is_trained_once():
    design = study_design(3, ["init", "order", "dropout"], 5)
    references = [m for m in design.members if m.member == 0]
    assert len(references) == len(design.designs) and len({m.replicate for m in references}) == 1
    assert references[0].replicate == 0
    assert design.n_trainings == len(design.members) - (len(design.designs) - 1)
    # the reference is replicate 0 of `train --replicates` with the same root seed
    assert dict(references[0].seeds) == {s: source_seed(3, 0, s) for s in SOURCES}


def test_no_draw_is_shared_between_designs_except_the_reference():
    design = study_design(1, ["init", "order"], 4, nested=None)
    seeds = [(m.design, dict(m.seeds)["init"]) for m in design.members if m.member > 0]
    init_draws = [s for d, s in seeds if d in ("init", "all")]
    assert len(init_draws) == len(set(init_draws))


def test_the_same_root_seed_gives_the_same_design_and_another_one_another():
    a = study_design(7, ["split", "init"], 3, nested=(3, 2))
    assert a == study_design(7, ["split", "init"], 3, nested=(3, 2))
    b = study_design(8, ["split", "init"], 3, nested=(3, 2))
    assert [m.seeds for m in a.members] != [m.seeds for m in b.members]


def test_nested_design_separates_split_from_seeds():
    design = study_design(0, ["split", "init", "order"], 2, nested=(3, 4))
    nested = design.design_members("nested")
    assert len(nested) == 12
    by_split = {}
    for m in nested:
        by_split.setdefault(m.split_draw, []).append(m)
    assert sorted(by_split) == [0, 1, 2]
    for members in by_split.values():
        assert len({dict(m.seeds)["split"] for m in members}) == 1  # one split per row
        assert _varying(members) == {"init", "order"}  # seeds vary within a split
    assert len({dict(m.seeds)["split"] for m in nested}) == 3
    assert nested[0].replicate == 0  # its first model is the reference too


@pytest.mark.parametrize(("args", "message"), [
    ((["init"], 1), "at least 2"),
    ((["init"], 3, (1, 4)), "S >= 2"),
    ((["init", "order"], 3, (2, 2)), "separates the split"),
    ((["weights"], 3), "Unknown source"),
])
def test_bad_designs_say_what_to_change(args, message):
    sources, n, *nested = args
    with pytest.raises(InputError, match=message):
        study_design(0, sources, n, nested=nested[0] if nested else None)
