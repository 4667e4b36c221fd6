"""Replicates trained together (``--pack_replicates``): the same weights and files as replicates trained alone.

Oracle: the unpacked trainer (:func:`clinicadl.training.trainer.train_replicate`), one replicate at a time, with the
same seeds, in deterministic mode. Packing sums the same terms in another order (grouped convolutions, batched
products), so weights agree to float rounding, not bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import tiny_caps as helpers
import torch

from clinicadl.training.packed_trainer import PackMember, train_pack
from clinicadl.training.seeds import replicate_seeds
from clinicadl.training.trainer import train_replicate

ATOL = 2e-5


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def parameters(dataset):
    return helpers.resolved_parameters(dataset, kfold=False, epochs=1, dropout=0.3, data_augmentation=["Noise"],
                                       selection_metrics=["loss"], batch_size=3, optimizer="SGD",
                                       learning_rate=0.05)


def _seeds(r: int) -> dict[str, int]:
    return replicate_seeds(0, r, ("init", "order", "augmentation", "dropout"))


def _weights(maps: Path) -> dict[str, torch.Tensor]:
    return torch.load(maps / "split-0/best-loss/model.pth.tar", map_location="cpu", weights_only=True)["model"]


def _files(maps: Path) -> set[str]:
    return {str(path.relative_to(maps)) for path in maps.rglob("*") if path.is_file() and "tensorboard" not in
            path.parts}


def _close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.allclose(a[k].float(), b[k].float(), atol=ATOL, rtol=1e-4) for k in a)


@pytest.fixture(scope="module")
def alone(parameters, tmp_path_factory):
    """Replicates 0, 1, 2 trained one at a time (the oracle)."""
    root = tmp_path_factory.mktemp("alone")
    for r in range(3):
        train_replicate(parameters, root / f"replicate-{r}", _seeds(r), progress=False)
    return root


@pytest.fixture(scope="module")
def packed(parameters, tmp_path_factory):
    """Packs of K = 2 and K = 3 replicates (the first K replicates, with their own seeds)."""
    roots = {}
    for k in (2, 3):
        roots[k] = tmp_path_factory.mktemp(f"packed{k}")
        errors = train_pack([PackMember(parameters, roots[k] / f"replicate-{r}", _seeds(r)) for r in range(k)])
        assert errors == [None] * k
    return roots


@pytest.mark.parametrize("k", [2, 3])
def test_packed_weights_logs_and_files_equal_unpacked(parameters, alone, packed, k):
    from clinicadl.runtime.network import build_network

    for r in range(k):
        one, single = packed[k] / f"replicate-{r}", alone / f"replicate-{r}"
        assert _close(_weights(one), _weights(single)), r
        assert _files(one) == _files(single)
        log_a = pd.read_csv(one / "split-0/training_logs/training.tsv", sep="\t").drop(columns="time")
        log_b = pd.read_csv(single / "split-0/training_logs/training.tsv", sep="\t").drop(columns="time")
        pd.testing.assert_frame_equal(log_a, log_b, atol=1e-4, rtol=1e-4)
    # K different trainings, not K copies, and weights that moved during the epoch
    assert not _close(_weights(packed[k] / "replicate-0"), _weights(packed[k] / "replicate-1"))
    initial = build_network(parameters, seed=_seeds(0)["init"]).state_dict()
    assert not _close(_weights(packed[k] / "replicate-0"), initial)


def test_the_same_seeds_give_the_same_replicate_whatever_k(packed):
    for r in range(2):
        assert _close(_weights(packed[2] / f"replicate-{r}"), _weights(packed[3] / f"replicate-{r}"))


def test_a_diverging_replicate_fails_alone_and_the_pack_goes_on(parameters, alone, tmp_path, monkeypatch):
    """Replicate 1 starts with NaN weights: its loss is NaN, it is recorded failed; 0 and 2 train as alone."""
    from clinicadl.runtime.network import build_network
    from clinicadl.training import loop
    from clinicadl.training.replicates import ReplicatesFailedError, train_procedure

    poisoned = _seeds(1)["init"]

    def nan_network(params, *, seed=0):
        network = build_network(params, seed=seed)
        if seed == poisoned:
            with torch.no_grad():
                network.fc[-1].weight.fill_(float("nan"))
        return network

    monkeypatch.setattr(loop, "build_network", nan_network)
    with pytest.raises(ReplicatesFailedError):
        train_procedure(parameters, tmp_path, replicates=3, root_seed=0, vary=("init", "order", "augmentation",
                        "dropout"), pack_replicates=3, progress=False)
    table = pd.read_csv(tmp_path / "replicates.tsv", sep="\t")
    assert list(table["status"]) == ["done", "failed", "done"]
    assert "TrainingDivergedError" in table["error"][1] and "nan" in table["error"][1]
    assert "TrainingDivergedError" in (tmp_path / "replicate-1" / "error.log").read_text()
    for r in (0, 2):
        assert _close(_weights(tmp_path / f"replicate-{r}"), _weights(alone / f"replicate-{r}"))
        assert _files(tmp_path / f"replicate-{r}") == _files(alone / f"replicate-{r}")


def test_a_packed_run_interrupted_mid_epoch_resumes_to_the_same_weights(parameters, tmp_path, monkeypatch):
    from clinicadl.training import packed_loop

    two_epochs = {**parameters, "epochs": 2}
    members = [PackMember(two_epochs, tmp_path / "whole" / f"replicate-{r}", _seeds(r)) for r in range(2)]
    assert train_pack(members) == [None, None]
    forward, calls = packed_loop.packed_forward, []

    def killed(networks, images):
        calls.append(1)
        if len(calls) == 6:  # second epoch, second batch (4 batches per epoch)
            raise KeyboardInterrupt
        return forward(networks, images)

    monkeypatch.setattr(packed_loop, "packed_forward", killed)
    resumed = [PackMember(two_epochs, tmp_path / "resumed" / f"replicate-{r}", _seeds(r)) for r in range(2)]
    with pytest.raises(KeyboardInterrupt):
        train_pack(resumed)
    assert (resumed[0].maps_dir / "split-0" / "tmp" / "checkpoint.pth.tar").is_file()
    monkeypatch.setattr(packed_loop, "packed_forward", forward)
    assert train_pack(resumed) == [None, None]
    for whole, again in zip(members, resumed):
        a, b = _weights(whole.maps_dir), _weights(again.maps_dir)
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert not (again.maps_dir / "split-0" / "tmp").exists()
        log_a = pd.read_csv(whole.maps_dir / "split-0/training_logs/training.tsv", sep="\t").drop(columns="time")
        log_b = pd.read_csv(again.maps_dir / "split-0/training_logs/training.tsv", sep="\t").drop(columns="time")
        pd.testing.assert_frame_equal(log_a, log_b)


def test_cli_refuses_an_architecture_that_cannot_be_packed(dataset, tmp_path):
    from click.testing import CliRunner

    from clinicadl.cli.main import cli

    arguments = helpers.train_arguments(dataset, tmp_path / "maps", kfold=False)
    arguments[arguments.index("-a") + 1] = "Stride_Conv5_FC3"
    result = CliRunner().invoke(cli, ["train", "classification", *arguments, "--replicates", "2",
                                      "--pack_replicates", "2"])
    assert result.exit_code != 0
    assert "--pack_replicates" in result.output and "TinyCNN" in result.output
    assert not (tmp_path / "maps").exists()


def test_batches_of_different_sizes_are_packed_by_size(parameters, alone, tmp_path):
    """Replicate 0 has batches of 3 (4 per epoch), 1 and 2 batches of 5 (5, 5, 2): 1 and 2 are packed together at
    each step, 0 steps alone; each equals its unpacked training."""
    fives = {**parameters, "batch_size": 5}
    for r in (1, 2):
        train_replicate(fives, tmp_path / "alone" / f"replicate-{r}", _seeds(r), progress=False)
    members = [PackMember(parameters, tmp_path / "pack" / "replicate-0", _seeds(0)),
               *(PackMember(fives, tmp_path / "pack" / f"replicate-{r}", _seeds(r)) for r in (1, 2))]
    assert train_pack(members) == [None, None, None]
    assert _close(_weights(tmp_path / "pack" / "replicate-0"), _weights(alone / "replicate-0"))
    for r in (1, 2):
        assert _close(_weights(tmp_path / "pack" / f"replicate-{r}"), _weights(tmp_path / "alone" / f"replicate-{r}"))


def test_cli_trains_packed_replicates(dataset, tmp_path):
    from click.testing import CliRunner

    from clinicadl.cli.main import cli

    arguments = helpers.train_arguments(dataset, tmp_path / "maps", kfold=False)
    arguments[arguments.index("--epochs") + 1] = "1"
    result = CliRunner().invoke(cli, ["train", "classification", *arguments, "--replicates", "2",
                                      "--pack_replicates", "2", "--vary", "init,dropout"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "maps" / "replicates.tsv", sep="\t")
    assert list(table["status"]) == ["done", "done"]
    for r in (0, 1):
        best = tmp_path / "maps" / f"replicate-{r}" / "split-0" / "best-BA" / "validation"
        assert (best / "validation_image_level_metrics_ci.tsv").is_file()


@pytest.mark.parametrize(("architecture", "normalization"), [("TinyCNN", "batch"), ("TinyCNN", "instance"),
                                                              ("TinyCNN", "group"), ("Conv4_FC3", "batch")])
def test_packed_forward_gives_each_network_its_outputs_gradients_and_statistics(architecture, normalization):
    """Oracle: each network run alone on its batch (autograd for the gradients), same dropout generators."""
    import copy

    from clinicadl.models.registry import build_model
    from clinicadl.training.dropout_streams import dropout_generator, use_stream_dropout
    from clinicadl.training.packed_network import packed_forward

    shape, cpu = (1, 17, 20, 18), torch.device("cpu")
    networks = [build_model(architecture, input_size=shape, output_size=2, task="classification", dropout=0.4,
                            normalization=normalization, seed=s, options={}) for s in range(3)]
    alone_networks = [copy.deepcopy(network) for network in networks]
    for k, (network, other) in enumerate(zip(networks, alone_networks)):
        use_stream_dropout(network, dropout_generator(k, cpu))
        use_stream_dropout(other, dropout_generator(k, cpu))
    images = [torch.randn(4, *shape, generator=torch.Generator().manual_seed(k)) for k in range(3)]
    outputs = packed_forward(networks, images)
    torch.stack([output.square().sum() for output in outputs]).sum().backward()
    for network, other, image, output in zip(networks, alone_networks, images, outputs):
        expected = other(image)
        expected.square().sum().backward()
        torch.testing.assert_close(output, expected, atol=1e-5, rtol=1e-4)
        for p, q in zip(network.parameters(), other.parameters()):
            torch.testing.assert_close(p.grad, q.grad, atol=1e-4, rtol=1e-3)
        for a, b in zip(network.buffers(), other.buffers()):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
