"""Seeds per source of variance: independence, pairing, determinism."""

import pytest

from clinicadl.errors import InputError
from clinicadl.training.seeds import SOURCES, check_sources, replicate_seeds, source_seed


def test_seeds_are_deterministic_and_distinct_across_sources_and_replicates():
    seeds = [source_seed(7, r, s) for r in range(20) for s in SOURCES]
    assert len(set(seeds)) == len(seeds)
    assert source_seed(7, 3, "init") == source_seed(7, 3, "init")
    assert source_seed(7, 3, "init") != source_seed(8, 3, "init")


def test_unvaried_sources_keep_the_seed_of_replicate_zero():
    reps = [replicate_seeds(0, r, varied=["init", "order"]) for r in range(4)]
    for source in ("split", "augmentation", "dropout", "hpo"):
        assert len({r[source] for r in reps}) == 1
    for source in ("init", "order"):
        assert len({r[source] for r in reps}) == 4


def test_varying_one_source_leaves_the_others_untouched():
    all_varied = replicate_seeds(3, 5, varied=SOURCES)
    only_init = replicate_seeds(3, 5, varied=["init"])
    assert all_varied["init"] == only_init["init"]
    assert all_varied["split"] != only_init["split"]


def test_bad_sources():
    assert check_sources(["Order", "split", "order"]) == ("split", "order")
    with pytest.raises(InputError, match="Unknown source"):
        check_sources(["seed"])
