"""Checkpoints: upstream compatibility, round trip, clear errors."""

import csv
from pathlib import Path

import pytest
import torch

from clinicadl.errors import InputError, MAPSError
from clinicadl.models.checkpoint import load_model_state, save_model, strip_wrapper_prefixes
from clinicadl.models.registry import build_model

UPSTREAM = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "upstream"
V1 = UPSTREAM / "v1_clinicadl_1.6.1"
V1_CHECKPOINT = V1 / "maps" / "split-0" / "best-loss" / "model.pth.tar"


@pytest.fixture
def v1_checkpoint() -> Path:
    if not V1_CHECKPOINT.is_file():
        pytest.skip("the upstream fixtures (../shared/fixtures/upstream) are not available")
    return V1_CHECKPOINT


def test_upstream_checkpoint_loads_strictly(v1_checkpoint):
    checkpoint = load_model_state(v1_checkpoint)
    assert checkpoint["name"] == "Conv5_FC3"
    assert checkpoint["epoch"] == 0
    model = build_model("Conv5_FC3", input_size=[1, 64, 64], output_size=2, dropout=0.0, normalization="batch")
    assert list(model.state_dict()) == list(checkpoint["model"])
    model.load_state_dict(checkpoint["model"], strict=True)
    model.eval()
    x = torch.rand(3, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        first, second = model(x), model(x)
    assert first.shape == (3, 2)
    assert torch.isfinite(first).all()
    assert torch.equal(first, second)


def test_upstream_predictions_are_reproduced(v1_checkpoint):
    """Our Conv5_FC3 with upstream's weights gives upstream's test-heldout probabilities (PadMaxPool included)."""
    model = build_model("Conv5_FC3", input_size=[1, 64, 64], output_size=2)
    model.load_state_dict(load_model_state(v1_checkpoint)["model"])
    model.eval()
    tsv = v1_checkpoint.parent / "test-heldout" / "test-heldout_slice_level_prediction.tsv"
    with open(tsv, newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
    assert rows
    for row in rows:
        p, s = row["participant_id"], row["session_id"]
        folder = V1 / "caps_sl" / "subjects" / p / s / "deeplearning_prepare_data" / "slice_based" / "custom"
        tensor = torch.load(
            folder / f"{p}_{s}_space-SheppLogan_axis-axi_channel-single_slice-{row['slice_id']}_phantom.pt",
            weights_only=True,
        )
        tensor = (tensor - tensor.min()) / (tensor.max() - tensor.min())  # upstream's min-max normalisation
        with torch.no_grad():
            proba = torch.softmax(model(tensor[None]), dim=1)[0]
        expected = torch.tensor([float(row["proba0"]), float(row["proba1"])])
        torch.testing.assert_close(proba, expected, rtol=0, atol=1e-6)


def test_save_load_round_trip(tmp_path):
    model = build_model("TinyCNN", input_size=[1, 8, 8, 8], output_size=2, seed=0)
    model(torch.rand(2, 1, 8, 8, 8))  # update batch-norm buffers
    path = save_model(tmp_path / "split-0" / "best-loss" / "model.pth.tar", model, epoch=4, name="TinyCNN")
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["model.pth.tar"]  # no temporary file left
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"model", "epoch", "name"}
    assert raw["epoch"] == 4 and raw["name"] == "TinyCNN"
    checkpoint = load_model_state(path)
    other = build_model("TinyCNN", input_size=[1, 8, 8, 8], output_size=2, seed=1)
    other.load_state_dict(checkpoint["model"], strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(other.state_dict()[key], value)


def test_wrapper_prefix_removed(tmp_path):
    model = build_model("TinyCNN", input_size=[1, 8, 8], output_size=2, seed=0)
    wrapped = torch.nn.DataParallel(model)
    assert all(k.startswith("module.") for k in wrapped.state_dict())
    path = save_model(tmp_path / "model.pth.tar", wrapped, epoch=0, name="TinyCNN")
    raw = torch.load(path, weights_only=True)
    assert list(raw["model"]) == list(model.state_dict())
    # a checkpoint written with the prefix (by another tool) is read without it
    torch.save({"model": wrapped.state_dict(), "epoch": 1, "name": "TinyCNN"}, tmp_path / "prefixed.pth.tar")
    assert list(load_model_state(tmp_path / "prefixed.pth.tar")["model"]) == list(model.state_dict())
    assert list(strip_wrapper_prefixes({"module._orig_mod.a": 1})) == ["a"]


def test_save_model_validates(tmp_path):
    model = build_model("TinyCNN", input_size=[1, 8, 8], output_size=2)
    with pytest.raises(InputError, match="epoch"):
        save_model(tmp_path / "m.pth.tar", model, epoch=-1, name="TinyCNN")
    with pytest.raises(InputError, match="name"):
        save_model(tmp_path / "m.pth.tar", model, epoch=0, name="")
    assert not list(tmp_path.iterdir())


def test_missing_checkpoint(tmp_path):
    path = tmp_path / "split-0" / "best-loss" / "model.pth.tar"
    with pytest.raises(MAPSError, match="does not exist") as info:
        load_model_state(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_corrupt_checkpoint(tmp_path, damage):
    path = save_model(
        tmp_path / "model.pth.tar", build_model("TinyCNN", input_size=[1, 8, 8], output_size=2), epoch=0, name="x"
    )
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"not a checkpoint" * 10, "empty": b""}[damage])
    with pytest.raises(MAPSError) as info:
        load_model_state(path)
    message = str(info.value)
    assert str(path) in message
    assert "train" in message  # says what to do


def test_unsafe_checkpoint_refused(tmp_path):
    path = tmp_path / "model.pth.tar"
    torch.save({"model": {}, "epoch": 0, "name": "x", "payload": Path("x")}, path)  # not allowed by weights_only
    with pytest.raises(MAPSError, match="cannot be read safely"):
        load_model_state(path)


def test_not_a_clinicadl_checkpoint(tmp_path):
    path = tmp_path / "model.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(MAPSError, match="not in ClinicaDL's format"):
        load_model_state(path)
