"""clinicadl hugging-face push | pull through a local folder hub: the pulled MAPS predicts like the original."""

from __future__ import annotations

import importlib.machinery
import shutil
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
import tiny_caps as helpers
from click.testing import CliRunner

from clinicadl.cli.main import cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A MAPS of one split, one epoch, selected on loss and BA."""
    from clinicadl.training.seeds import replicate_seeds
    from clinicadl.training.trainer import train_replicate

    root = tmp_path_factory.mktemp("hub")
    paths = helpers.make_dataset(root)
    parameters = helpers.resolved_parameters(paths, kfold=False, epochs=1)
    train_replicate(parameters, root / "maps", replicate_seeds(0, 0), progress=False)
    return paths, root / "maps"


def _invoke(*arguments):
    return CliRunner().invoke(cli, [*map(str, arguments)])


def test_push_pull_round_trip_then_predict(trained, tmp_path):
    paths, maps = trained
    hub = tmp_path / "hub"
    hub.mkdir()
    pushed = _invoke("hugging-face", "push", hub, maps, "tiny_model")
    assert pushed.exit_code == 0, pushed.output
    shared = hub / "tiny_model"
    files = sorted(path.relative_to(shared).as_posix() for path in shared.rglob("*") if path.is_file())
    assert files == ["README.md", "groups/train+validation.tsv", "maps.json", "split-0/best-BA/model.pth.tar",
                     "split-0/best-loss/model.pth.tar"]
    card = (shared / "README.md").read_text()
    assert card.startswith("---\nlanguage: en\nlibrary_name: clinicadl\n") and "**TinyCNN**" in card
    for file in files[1:]:
        assert (shared / file).read_bytes() == (maps / file).read_bytes()

    pulled = tmp_path / "pulled"
    result = _invoke("hugging-face", "pull", hub, "tiny_model", pulled)
    assert result.exit_code == 0, result.output
    for maps_dir in (maps, pulled):
        predicted = _invoke("predict", maps_dir, "test", "--participants_tsv", paths["test"], "--n_resamples", "50",
                            "--no-gpu", "-np", "0")
        assert predicted.exit_code == 0, predicted.output
    name = "split-0/best-loss/test/test_image_level_prediction.tsv"
    pd.testing.assert_frame_equal(pd.read_csv(pulled / name, sep="\t"), pd.read_csv(maps / name, sep="\t"))
    again = _invoke("hugging-face", "pull", hub, "tiny_model", pulled)
    assert again.exit_code == 1 and "already exists" in again.output


def test_pull_of_an_unknown_model_names_the_available_ones(trained, tmp_path):
    _, maps = trained
    hub = tmp_path / "hub"
    hub.mkdir()
    assert _invoke("hugging-face", "push", hub, maps, "tiny_model").exit_code == 0
    result = _invoke("hugging-face", "pull", hub, "other", tmp_path / "out")
    assert result.exit_code == 1 and "tiny_model" in result.output
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))


def test_push_of_a_folder_that_is_not_a_maps(tmp_path):
    hub = tmp_path / "hub"
    hub.mkdir()
    result = _invoke("hugging-face", "push", hub, tmp_path, "model")
    assert result.exit_code == 1 and "is not a MAPS" in result.output
    assert list(hub.iterdir()) == []


def test_remote_hub_without_huggingface_hub_says_how_to_install(trained, monkeypatch):
    _, maps = trained
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # as if not installed
    result = _invoke("hugging-face", "push", "some-organization", maps, "model")
    assert result.exit_code == 1
    assert 'pip install "clinicadl[hub]"' in result.output and "local folder" in result.output


def test_remote_hub_goes_through_huggingface_hub(trained, tmp_path, monkeypatch):
    """A stand-in for huggingface_hub records the calls; its snapshot_download serves what upload_folder got."""
    _, maps = trained
    store, calls = tmp_path / "remote", []

    class HfApi:
        def create_repo(self, repo_id, **options):
            calls.append(("create_repo", repo_id, options))

        def upload_folder(self, *, repo_id, folder_path, commit_message):
            calls.append(("upload_folder", repo_id))
            shutil.copytree(folder_path, store / repo_id)

    def snapshot_download(*, repo_id, local_dir):
        calls.append(("snapshot_download", repo_id))
        shutil.copytree(store / repo_id, local_dir, dirs_exist_ok=True)
        (Path(local_dir) / ".cache").mkdir()
        return local_dir

    fake = types.ModuleType("huggingface_hub")
    fake.__spec__ = importlib.machinery.ModuleSpec("huggingface_hub", None)  # found by importlib.util.find_spec
    fake.HfApi, fake.snapshot_download = HfApi, snapshot_download
    monkeypatch.setitem(sys.modules, "huggingface_hub", fake)
    assert _invoke("hugging-face", "push", "clinicadl", maps, "tiny").exit_code == 0
    result = _invoke("hugging-face", "pull", "clinicadl", "tiny", tmp_path / "pulled")
    assert result.exit_code == 0, result.output
    assert calls == [("create_repo", "ClinicaDL/tiny", {"private": True, "exist_ok": True}),
                     ("upload_folder", "ClinicaDL/tiny"), ("snapshot_download", "ClinicaDL/tiny")]
    assert (tmp_path / "pulled" / "split-0" / "best-loss" / "model.pth.tar").is_file()
    assert not (tmp_path / "pulled" / ".cache").exists()
