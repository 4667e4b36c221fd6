"""An upstream (ClinicaDL 1.6.1) random_search.toml runs unchanged: its plain-value grammar is read with
upstream's sampling rules, and its random network is built, trained and predicted."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import toml
import torch
from click.testing import CliRunner
from scipy import stats

from clinicadl.cli.main import cli
from clinicadl.errors import InputError
from clinicadl.models.registry import build_model
from clinicadl.training.hpo import search_space_from
from tests.tiny_caps import make_dataset

UPSTREAM = Path(__file__).resolve().parent / "upstream" / "random_search.toml"


def space(**changes):
    content = toml.loads(UPSTREAM.read_text())
    content["Random_Search"].update(changes)
    return search_space_from(content, "classification", "random_search.toml")


def test_upstreams_keys_become_our_dimensions_and_fixed_values():
    searched, fixed = space()
    kinds = {d.name: (d.distribution, d.values) for d in searched.dimensions}
    low, high = kinds["learning_rate"][1]
    assert kinds["learning_rate"][0] == "log_uniform" and math.isclose(low, 1e-4) and math.isclose(high, 1e-2)
    assert kinds["n_convblocks"] == ("int_uniform", (1, 2)) and kinds["n_fcblocks"] == ("int_uniform", (1, 2))
    assert kinds["first_conv_width"] == ("choice", (4, 8)) and kinds["dropout"] == ("uniform", (0.0, 0.5))
    assert kinds["wd_bool"] == ("choice", (True, False))
    assert fixed["epochs"] == 1 and fixed["tsv_path"] == "labels/split" and fixed["gpu"] is False
    assert "channels_limit" not in fixed and "n_conv" not in fixed


def test_exponent_sampling_is_ten_to_minus_uniform():
    # upstream: x ~ U(2, 4), learning_rate = 10^-x; ours: log-uniform on [1e-4, 1e-2], the same law
    searched, _ = space()
    draws = np.array([v["learning_rate"] for v in searched.sample(2000, seed=3)])
    exponents = -np.log10(draws)
    assert exponents.min() >= 2 and exponents.max() <= 4
    assert stats.kstest(exponents, stats.uniform(loc=2, scale=2).cdf).pvalue > 1e-3


def test_trials_become_random_architectures_with_upstreams_design():
    searched, _ = space()
    for values in searched.sample(12, seed=0):
        trial = searched.training_values(values)
        design = trial["convolutions_dict"]
        assert trial["architecture"] == "RandomArchitecture" and len(design) == values["n_convblocks"]
        assert [b["n_conv"] for b in design.values()] == values["n_conv"]
        widths = [b["out_channels"] for b in design.values()]
        assert widths[0] == values["first_conv_width"] and all(w <= max(8, widths[0]) for w in widths)
        assert trial["weight_decay"] == (0.0 if not values["wd_bool"] else values["weight_decay"])
        assert "wd_bool" not in trial and "n_convblocks" not in trial
        network = build_model("RandomArchitecture", input_size=[1, 16, 20, 16], output_size=2, options=trial)
        assert network(torch.zeros(2, 1, 16, 20, 16)).shape == (2, 2)
        linears = [m for m in network.fc if isinstance(m, torch.nn.Linear)]
        assert len(linears) == trial["n_fcblocks"] and linears[-1].out_features == 2


def test_fixed_values_follow_upstreams_rules():
    searched, fixed = space(learning_rate=3, wd_bool=False, weight_decay=[2, 4], n_conv=2, first_conv_width=16)
    assert math.isclose(fixed["learning_rate"], 1e-3) and fixed["weight_decay"] == 0.0
    names = {d.name for d in searched.dimensions}
    assert "learning_rate" not in names and "weight_decay" not in names and "wd_bool" not in names
    assert all(v["n_conv"] == [2] * v["n_convblocks"] for v in searched.sample(5, seed=1))
    with pytest.raises(InputError, match="n_fcblocks"):
        content = toml.loads(UPSTREAM.read_text())
        del content["Random_Search"]["n_fcblocks"]
        search_space_from(content, "classification", "random_search.toml")
    with pytest.raises(InputError, match="d_reduction"):
        space(d_reduction=["AvgPooling"])
    with pytest.raises(InputError, match=r"\[a, b\]"):
        space(learning_rate=[4, 2])


def test_random_search_command_runs_an_upstream_file(tmp_path):
    paths = make_dataset(tmp_path)
    shutil.copy(UPSTREAM, tmp_path / "random_search.toml")
    runner = CliRunner()
    for name in ("job_a", "job_b"):  # upstream: one sampled network per call
        result = runner.invoke(cli, ["random-search", str(tmp_path), name, "--no-progress"])
        assert result.exit_code == 0, result.output
        assert "1 trials" in result.output
    maps = {name: json.loads((tmp_path / name / "trial-0" / "maps.json").read_text()) for name in ("job_a", "job_b")}
    assert maps["job_a"]["architecture"] == "RandomArchitecture" and "convolutions_dict" in maps["job_a"]
    assert maps["job_a"]["learning_rate"] != maps["job_b"]["learning_rate"]  # each NAME draws its own network
    result = runner.invoke(cli, ["predict", str(tmp_path / "job_a" / "trial-0"), "test", "--participants_tsv",
                                 str(paths["test"]), "--no-gpu", "-np", "0", "--n_resamples", "50"])
    assert result.exit_code == 0, result.output  # the network is rebuilt from maps.json
