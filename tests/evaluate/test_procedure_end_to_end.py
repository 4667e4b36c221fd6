"""Procedures trained with ``train --replicates`` on a generated cohort, compared from the command line.

A setting that cannot matter (``--evaluation_steps``, which only adds evaluations in deterministic mode) must be
judged "not significant"; a network that learns the effect (Conv4_FC3) against one that cannot (a tiny CNN with
global pooling) must be judged "significant and meaningful"; the procedure assessment writes its results.
"""

from __future__ import annotations

import pytest
from generated_cohort import prepared_cohort, run_clinicadl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def procedures(tmp_path_factory):
    cohort = prepared_cohort(tmp_path_factory.mktemp("procedures"), n_participants=60, effect_size=5, n_test=20,
                             seed=1, n_proc=2)
    root, caps = cohort["root"], cohort["caps"]
    common = ["--n_splits", 2, "--epochs", 15, "-lr", "0.0001", "-b", 4, "--no-gpu", "-np", 0, "-sm", "loss",
              "--replicates", 3, "--root_seed", 0, "--vary", "split,init,order", "--deterministic"]
    paths = {}
    for name, options in {"conv": ["-a", "Conv4_FC3"], "conv_same": ["-a", "Conv4_FC3", "--evaluation_steps", 3],
                          "tiny": ["-a", "TinyCNN"]}.items():
        paths[name] = root / name
        run_clinicadl("train", "classification", caps, "image.json", cohort["tsv"], paths[name], *options,
                  *common)
        run_clinicadl("predict", paths[name], "test", "--participants_tsv", cohort["test"],
                  "--no-gpu", "-np", 0, "--n_resamples", 500)
    return paths


def test_a_setting_that_cannot_matter_is_not_significant(procedures):
    out = run_clinicadl("evaluate", "compare", procedures["conv"], procedures["conv_same"], "test", "--n_resamples",
                    2000).stdout
    assert "paired replicate by replicate" in out
    assert "P(A>B) is not significant" in out


def test_a_large_effect_is_significant_and_meaningful(procedures):
    out = run_clinicadl("evaluate", "compare", procedures["conv"], procedures["tiny"], "test",
                        "--n_resamples", 2000).stdout
    assert "significant and meaningful" in out, out


def test_procedure_assessment_writes_its_results(procedures):
    out = run_clinicadl("evaluate", "procedure", procedures["conv"], "test", "--n_resamples", 500).stdout
    folder = procedures["conv"] / "evaluation" / "test"
    for name in ("procedure_models.tsv", "procedure_expected.tsv", "procedure_variance.tsv", "procedure_models.png"):
        assert (folder / name).is_file(), name
    assert "What may be concluded" in out
