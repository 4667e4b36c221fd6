"""ClinicaDL 1.6.1 command lines that run here unchanged: upstream's names, short flags and defaults."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.errors import InputError

MNI_4MM = np.diag([4.0, 4.0, 4.0, 1.0])
MNI_4MM[:3, 3] = [-84.0, -120.0, -72.0]  # a 43x52x45 grid that covers MNI space, as generate cohort --resolution 4


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def command(*path):
    """Our click command at ``path`` (lazy groups resolved)."""
    import click

    current = cli
    with click.Context(cli) as context:
        for name in path:
            current = current.get_command(context, name)
    return current


def parse(path, args):
    """The parameters ``clinicadl <path> <args>`` would receive (parsing only, nothing runs)."""
    return command(*path).make_context("clinicadl", [str(a) for a in args]).params


def write_caps(root: Path, suffix: str, n: int = 2) -> Path:
    """A CAPS of ``n`` participants with one small image each, named ``sub-<i>_ses-M000_<suffix>``."""
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / "subjects" / f"sub-0{i}" / "ses-M000" / "linear"
        folder.mkdir(parents=True)
        data = rng.uniform(0, 1, (43, 52, 45)).astype(np.float32)
        nib.save(nib.Nifti1Image(data, MNI_4MM), folder / f"sub-0{i}_ses-M000_{suffix}")
    return root


def test_top_level_verbose_flag():
    assert run("-v", "train", "--help").exit_code == 0
    assert run("--verbose", "tsvtools", "--help").exit_code == 0
    assert parse((), ["-v", "train"])["verbose"] is True


def test_generate_random_with_upstreams_pet_linear_options(tmp_path):
    suffix = "trc-18FFDG_space-MNI152NLin2009cSym_desc-Crop_res-4x4x4_suvr-pons_pet.nii.gz"
    caps = write_caps(tmp_path / "pet", suffix)
    result = run("generate", "random", caps, tmp_path / "out", "--preprocessing", "pet-linear", "--tracer", "18FFDG",
                 "-suvr", "pons", "-np", 2, "--n_subjects", 1, "--sigma", 0.1)
    assert result.exit_code == 0, result.output
    images = sorted((tmp_path / "out" / "subjects").rglob("*.nii.gz"))
    assert [p.name for p in images] == [f"sub-RAND{i}_ses-M000_{suffix}" for i in range(2)]
    assert json.loads((tmp_path / "out" / "generate.json").read_text())["preprocessing"] == "pet-linear"
    # the same CAPS read as t1-linear has no image; pet-linear without its tracer is refused with the fix
    result = run("generate", "random", caps, tmp_path / "t1", "--preprocessing", "t1-linear")
    assert result.exit_code == 1 and "No t1-linear image" in result.output
    result = run("generate", "random", caps, tmp_path / "notracer", "--preprocessing", "pet-linear")
    assert result.exit_code == 1 and "--tracer" in result.output and "Traceback" not in result.output
    result = run("generate", "random", caps, tmp_path / "bad", "--preprocessing", "t1-volume")
    assert result.exit_code == 2 and "t1-linear" in result.output


def test_generate_trivial_with_upstreams_options(tmp_path):
    caps = write_caps(tmp_path / "t1", "space-MNI152NLin2009cSym_desc-Crop_res-4x4x4_T1w.nii.gz")
    masks = tmp_path / "masks"
    masks.mkdir()
    empty = run("generate", "trivial", caps, tmp_path / "none", "--mask_path", masks)
    assert empty.exit_code == 1 and "mask-1.nii (AD)" in empty.output
    for index, (low, high) in enumerate(((0, 20), (20, 43)), start=1):  # upstream's mask-1 (AD), mask-2 (CN)
        region = np.zeros((43, 52, 45), dtype=np.uint8)
        region[low:high] = 1
        nib.save(nib.Nifti1Image(region, MNI_4MM), masks / f"mask-{index}.nii")
    result = run("generate", "trivial", caps, tmp_path / "out", "--preprocessing", "t1-linear", "--n_subjects", 2,
                 "-np", 1, "--mask_path", masks, "--atrophy_percent", 50)
    assert result.exit_code == 0, result.output
    source = nib.load(next((caps / "subjects" / "sub-00").rglob("*.nii.gz"))).get_fdata()
    ad = nib.load(next((tmp_path / "out" / "subjects" / "sub-TRIV0").rglob("*.nii.gz"))).get_fdata()
    assert np.allclose(ad[:20], source[:20] * 0.5, rtol=1e-5) and np.allclose(ad[20:], source[20:], rtol=1e-5)
    data = pd.read_csv(tmp_path / "out" / "data.tsv", sep="\t")
    assert list(data.diagnosis) == ["AD", "CN", "AD", "CN"]
    assert parse(("generate", "trivial"), [caps, tmp_path / "x", "-uui"])["use_uncropped_image"] is True


def test_generate_shepplogan_extract_json_makes_the_tensors(tmp_path):
    caps = tmp_path / "sl"
    result = run("generate", "shepplogan", caps, "--n_subjects", 2, "--image_size", 16, "-ej", "slices", "-np", 1)
    assert result.exit_code == 0, result.output
    extraction = json.loads((caps / "tensor_extraction" / "slices.json").read_text())
    assert (extraction["mode"], extraction["preprocessing"], extraction["slice_direction"]) == ("slice", "custom", 2)
    assert extraction["custom_suffix"] == "_space-SheppLogan_phantom.nii.gz"  # upstream's JSON lacks it
    assert len(list((caps / "subjects").rglob("deeplearning_prepare_data/**/*.pt"))) == 4


@pytest.mark.parametrize("task", ["classification", "regression", "reconstruction"])
def test_train_parses_upstreams_flags(task):
    base = ["caps", "extract.json", "split", "maps"]
    params = parse(("train", task), [*base, "--nondeterministic", "-te", "", "--optimizer", "NAdam"])
    assert params["deterministic"] is False and params["track_exp"] == "" and params["optimizer"] == "NAdam"
    assert parse(("train", task), [*base, "--deterministic"])["deterministic"] is True
    assert parse(("train", task), [*base, "--dont_calculate_emissions"])["emissions_calculator"] is False
    loss = "CrossEntropyLoss" if task == "classification" else "KLDivLoss"
    assert parse(("train", task), [*base, "-l", loss])["loss"] == loss


@pytest.mark.parametrize("optimizer", ["ASGD", "NAdam", "RAdam"])
def test_upstreams_extra_optimizers_build_and_step(optimizer):
    import torch

    from clinicadl.training.config import load_config
    from clinicadl.training.loop import _optimizer

    parameters = load_config("classification", {"optimizer": optimizer, "learning_rate": 0.1, "weight_decay": 0.0})
    network = torch.nn.Linear(2, 1)
    optimizer = _optimizer(parameters, network)
    before = network.weight.detach().clone()
    network(torch.ones(4, 2)).sum().backward()
    optimizer.step()
    assert not torch.equal(before, network.weight)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # upstream's KLDivLoss uses the same reduction
@pytest.mark.parametrize("loss", ["KLDivLoss", "BCEWithLogitsLoss"])
@pytest.mark.parametrize("task", ["regression", "reconstruction"])
def test_upstreams_extra_losses_are_accepted_and_computed(task, loss):
    import torch

    from clinicadl.runtime.criterion import make_criterion, task_loss
    from clinicadl.training.config import load_config

    assert load_config(task, {"loss": loss})["loss"] == loss
    with pytest.raises(InputError, match="CrossEntropyLoss"):
        load_config("classification", {"loss": loss})  # upstream allows them for regression/reconstruction only
    criterion = make_criterion(task, loss)
    images = torch.rand(2, 1, 4, 4, 4)
    outputs = torch.rand(2, 1) if task == "regression" else torch.rand(2, 1, 4, 4, 4)
    batch = {"label": torch.tensor([0.2, 0.7]), "image": images}
    value = task_loss(task, criterion, outputs, batch)
    target = batch["label"] if task == "regression" else images
    expected = getattr(torch.nn, loss)()(outputs.reshape(target.shape) if task == "regression" else outputs, target)
    assert torch.isclose(value, expected)


def test_list_models_with_upstreams_options():
    result = run("train", "list_models", "-a", "Conv5_FC3", "-i", "1@32x32x32", "-m")
    assert result.exit_code == 0, result.output
    assert "Information about 'Conv5_FC3' network" in result.output and "1@32x32x32" in result.output
    assert "Conv3d(1, 8" in result.output  # the layers (-m)
    assert "Conv3d" not in run("train", "list_models", "-a", "Conv5_FC3").output
    result = run("train", "list_models", "-a", "Conv5_FC3", "-i", "1x32x32")
    assert result.exit_code == 1 and "C@DxHxW" in result.output
    result = run("train", "list_models", "-m")
    assert result.exit_code == 1 and "-a/--architecture" in result.output
    result = run("train", "list_models", "-a", "NoSuchNet")
    assert result.exit_code == 1 and "Unknown architecture" in result.output


def test_train_resume_split_resumes_only_those_splits(tmp_path, monkeypatch):
    from clinicadl.training import replicates
    from clinicadl.training.replicates import resume_maps, train_procedure

    def fake_train(parameters, maps_dir, seeds, **kwargs):  # writes the maps.json a training writes
        Path(maps_dir).mkdir(parents=True, exist_ok=True)
        (Path(maps_dir) / "maps.json").write_text(json.dumps(parameters, default=str))

    parameters = {"architecture": "Conv5_FC3", "learning_rate": 1e-4, "n_splits": 3, "split": [],
                  "caps_directory": Path("caps")}
    maps = tmp_path / "maps"
    train_procedure(parameters, maps, replicates=None, root_seed=0, vary=None, train_fn=fake_train, progress=False)
    calls = []
    resume_maps(maps, train_fn=lambda p, *a, **k: calls.append(p["split"]), splits=(2, 0, 2))
    resume_maps(maps, train_fn=lambda p, *a, **k: calls.append(p["split"]))
    assert calls == [[0, 2], []]
    replicated = tmp_path / "replicated"
    train_procedure(parameters, replicated, replicates=2, root_seed=0, vary=None, train_fn=fake_train,
                    progress=False)
    with pytest.raises(InputError, match="resumed whole"):
        resume_maps(replicated, train_fn=fake_train, splits=(1,))

    received = {}
    monkeypatch.setattr(replicates, "resume_maps", lambda maps, **kwargs: received.update(kwargs) or
                        replicates.ProcedureResult(maps, replicated=False, statuses={0: "done"}, seeds={0: {}},
                                                   root_seed=0, trained=(0,)))
    result = run("train", "resume", maps, "-s", 1, "--split", 2)
    assert result.exit_code == 0, result.output
    assert received["splits"] == (1, 2)


def test_tsvtools_defaults_are_upstreams(tmp_path):
    rows = [(f"sub-{i:02d}", "ses-M000", "AD" if i % 2 else "CN", 70 + i % 7, "MF"[i % 2]) for i in range(20)]
    data = tmp_path / "data.tsv"
    pd.DataFrame(rows, columns=["participant_id", "session_id", "diagnosis", "age", "sex"]).to_csv(
        data, sep="\t", index=False)
    result = run("tsvtools", "split", data, "--n_test", 4, "--ignore_demographics", "--valid_longitudinal")
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "split").iterdir()}
    assert {"validation_baseline.tsv", "validation.tsv", "train.tsv"} <= names  # --subset_name validation
    assert "--valid_baseline" in run("tsvtools", "split", "--help").output
    result = run("tsvtools", "kfold", tmp_path / "split" / "train.tsv", "--n_splits", 2, "--valid_baseline")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "split" / "2_fold" / "kfold.json").read_text())["stratification"] is None
