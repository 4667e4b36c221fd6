"""Random search of hyper-parameters (clinicadl.training.hpo) and ``clinicadl random-search``."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import tiny_caps
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.errors import InputError
from clinicadl.training.hpo import Dimension, SearchSpace, read_search_space, run_search

SPACE = """
[Random_Search]
network_task = "classification"
learning_rate = {log_uniform = [1e-4, 1e-2]}
dropout = {uniform = [0.0, 0.5]}
batch_size = {choice = [2, 4]}
epochs = {int_uniform = [1, 2]}

[Optimization]
weight_decay = 0.0
"""


def write(tmp_path, text, name="space.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_space_and_fixed_settings(tmp_path):
    space, fixed = read_search_space(write(tmp_path, SPACE), "classification")
    assert space.names == ("learning_rate", "dropout", "batch_size", "epochs")
    assert fixed == {"network_task": "classification", "weight_decay": 0.0}
    assert space.dimensions[2] == Dimension("batch_size", "choice", (2, 4))


def test_draws_are_seeded_in_range_and_of_the_right_type():
    space = SearchSpace((Dimension("learning_rate", "log_uniform", (1e-4, 1e-2)),
                         Dimension("epochs", "int_uniform", (1, 3)), Dimension("optimizer", "choice", ("Adam", "SGD"))))
    draws = space.sample(400, seed=5)
    assert draws == space.sample(400, seed=5) and draws != space.sample(400, seed=6)
    rates = np.array([d["learning_rate"] for d in draws])
    assert rates.min() >= 1e-4 and rates.max() <= 1e-2
    # log-uniform: the log10 of the rate is uniform on [-4, -2], mean -3 (SE 0.029 for 400 draws)
    assert abs(np.log10(rates).mean() + 3) < 3 * (2 / math.sqrt(12)) / math.sqrt(400)
    assert {d["epochs"] for d in draws} == {1, 2, 3} and all(isinstance(d["epochs"], int) for d in draws)
    assert {d["optimizer"] for d in draws} == {"Adam", "SGD"}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[Random_Search]\nnetwork_task = 'classification'\n", "empty"),
        ("[Random_Search]\nlearning_rate = {uniform = [0.1, 0.01]}\n", "above high"),
        ("[Random_Search]\nlerning_rate = {uniform = [0.01, 0.1]}\n", "unknown hyper-parameter.*lerning_rate"),
        ("[Random_Search]\nlearning_rate = {normal = [0.01, 0.1]}\n", "inline table"),
        ("[Random_Search]\nbatch_size = {uniform = [2, 8]}\n", "int_uniform or choice"),
        ("[Random_Search]\nlearning_rate = {log_uniform = [0.0, 0.1]}\n", "low > 0"),
        ("[Random_Search]\narchitecture = {choice = ['NoSuchNet']}\n", "not models of"),
        ("[Model]\narchitecture = 'Conv5_FC3'\n", r"no \[Random_Search\] section"),
        ("[Random_Search\n", "not valid TOML"),
    ],
)
def test_bad_search_spaces_are_refused(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        read_search_space(write(tmp_path, text), "classification")


def test_run_search_keeps_the_best_trial_and_lists_all(tmp_path):
    space = SearchSpace((Dimension("learning_rate", "choice", (0.1, 0.2, 0.3, 0.4)),))

    def fake_train(parameters, folder):  # validation loss = |learning rate - 0.25|, two splits
        for split in range(2):
            log = folder / f"split-{split}" / "training_logs"
            log.mkdir(parents=True)
            loss = abs(parameters["learning_rate"] - 0.25) + 0.01 * split
            pd.DataFrame({"epoch": [0, 1], "loss_valid": [loss + 1, loss]}).to_csv(log / "training.tsv", sep="\t")

    parameters = {"network_task": "classification", "selection_metrics": ["loss"], "learning_rate": 1.0}
    result = run_search(parameters, space, n_trials=6, seed=3, output=tmp_path / "search", train=fake_train)
    scores = [t.score for t in result.trials]
    assert result.best.score == min(scores) and not result.higher_is_better
    drawn = [t.values["learning_rate"] for t in result.trials]
    assert result.best.values["learning_rate"] == min(drawn, key=lambda rate: abs(rate - 0.25))
    assert drawn == [c["learning_rate"] for c in space.sample(6, seed=3)]
    table = pd.read_csv(tmp_path / "search" / "trials.tsv", sep="\t")
    assert len(table) == 6 and table["selected"].sum() == 1
    assert table.loc[table["selected"], "trial"].item() == result.best.index
    assert np.allclose(table["score"], scores)


@pytest.mark.slow
def test_random_search_command_trains_and_selects(tmp_path):
    paths = tiny_caps.make_dataset(tmp_path)
    launch = tmp_path / "launch"
    launch.mkdir()
    (launch / "random_search.toml").write_text(f"""
[Random_Search]
network_task = "classification"
caps_directory = "{paths['caps']}"
preprocessing_json = "image.json"
tsv_directory = "{paths['split']}"
n_trials = 2
learning_rate = {{log_uniform = [1e-3, 1e-1]}}
batch_size = {{choice = [2, 4]}}

[Model]
architecture = "TinyCNN"

[Computational]
gpu = false
n_proc = 0

[Optimization]
epochs = 1

[Reproducibility]
deterministic = true
seed = 4
""")
    out = CliRunner().invoke(cli, ["random-search", str(launch), "rs", "--no-progress"])
    assert out.exit_code == 0, out.output
    assert "<- selected" in out.output
    table = pd.read_csv(launch / "rs" / "trials.tsv", sep="\t")
    assert len(table) == 2 and table["selected"].sum() == 1
    record = json.loads((launch / "rs" / "random_search.json").read_text())
    for trial in range(2):
        stored = json.loads((launch / "rs" / f"trial-{trial}" / "maps.json").read_text())
        assert stored["learning_rate"] == pytest.approx(table.loc[trial, "learning_rate"])
        assert stored["batch_size"] == table.loc[trial, "batch_size"]
    # the same file gives the same configurations (hpo seed of [Reproducibility] seed); a rerun resumes
    again = CliRunner().invoke(cli, ["random-search", str(launch), "rs", "--no-progress"])
    assert again.exit_code == 0, again.output
    assert pd.read_csv(launch / "rs" / "trials.tsv", sep="\t").equals(table)
    assert json.loads((launch / "rs" / "random_search.json").read_text()) == record
    missing = CliRunner().invoke(cli, ["random-search", str(tmp_path / "labels"), "rs"])
    assert missing.exit_code == 1 and "random_search.toml does not exist" in missing.output


@pytest.mark.slow
def test_replicates_with_hpo_record_their_configurations_and_reproduce_them(tmp_path):
    from clinicadl.training.hpo import SearchTrainFn
    from clinicadl.training.replicates import train_procedure

    paths = tiny_caps.make_dataset(tmp_path)
    parameters = tiny_caps.resolved_parameters(paths, kfold=False, epochs=1)
    space = SearchSpace((Dimension("learning_rate", "log_uniform", (1e-3, 1e-1)),
                         Dimension("batch_size", "choice", (2, 4))))
    chosen = {}
    for name in ("first", "again"):
        train_procedure(parameters, tmp_path / name, replicates=4, root_seed=7, vary="all,hpo",
                        train_fn=SearchTrainFn(space, 3), progress=False)
        chosen[name] = [json.loads((tmp_path / name / f"replicate-{r}" / "hpo.json").read_text()) for r in range(4)]
    assert chosen["first"] == chosen["again"]  # same root seed: same searches, same choices
    values = [json.dumps(c["values"], sort_keys=True) for c in chosen["first"]]
    table = pd.read_csv(tmp_path / "first" / "replicates.tsv", sep="\t")
    assert table["hpo_learning_rate"].tolist() == pytest.approx([c["values"]["learning_rate"] for c in chosen["first"]])
    assert table["hpo_batch_size"].tolist() == [c["values"]["batch_size"] for c in chosen["first"]]
    assert len(set(values)) == 4  # every replicate searched with its own hpo seed
    for r, record in enumerate(chosen["first"]):
        folder = tmp_path / "first" / f"replicate-{r}"
        stored = json.loads((folder / "maps.json").read_text())
        assert stored["hpo"]["values"] == record["values"]
        assert stored["learning_rate"] == record["values"]["learning_rate"]
        trials = pd.read_csv(folder / "hpo" / "trials.tsv", sep="\t")
        assert len(trials) == 3 and trials.loc[trials["selected"], "trial"].item() == record["trial"]
        assert (folder / "split-0" / "best-loss" / "model.pth.tar").is_file()
        drawn = space.sample(3, seed=stored["seeds"]["hpo"])
        assert trials["learning_rate"].tolist() == pytest.approx([d["learning_rate"] for d in drawn])


@pytest.mark.slow
def test_train_command_with_hpo_and_its_bad_inputs(tmp_path):
    paths = tiny_caps.make_dataset(tmp_path)
    space = write(tmp_path, "[Random_Search]\nlearning_rate = {log_uniform = [1e-3, 1e-1]}\n")
    base = [*tiny_caps.train_arguments(paths, tmp_path / "maps", kfold=False), "--replicates", "2"]
    base[base.index("--epochs") + 1] = "1"

    def run(*extra):
        return CliRunner().invoke(cli, ["train", "classification", *base, *extra])

    out = run("--vary", "init,hpo", "--hpo_space", space)
    assert out.exit_code == 1 and "--hpo_trials" in out.output
    out = run("--vary", "init", "--hpo_space", space, "--hpo_trials", "2")
    assert out.exit_code == 1 and "need 'hpo' among the sources" in out.output
    out = run("--vary", "all,hpo", "--hpo_space", write(tmp_path, "[Random_Search]\n", "empty.toml"),
              "--hpo_trials", "2")
    assert out.exit_code == 1 and "empty" in out.output
    assert not (tmp_path / "maps").exists()  # nothing written on bad input
    out = run("--vary", "init,hpo", "--hpo_space", space, "--hpo_trials", "2")
    assert out.exit_code == 0, out.output
    table = pd.read_csv(tmp_path / "maps" / "replicates.tsv", sep="\t")
    assert table["status"].tolist() == ["done", "done"] and table["hpo_learning_rate"].nunique() == 2
    root = json.loads((tmp_path / "maps" / "maps.json").read_text())
    assert root["hpo_search"]["n_trials"] == 2 and root["replicates"]["varied_sources"] == ["init", "hpo"]
