"""ClinicaDL 1.6.1's generate hypometabolic and generate artifacts, and the repeated -csd/-asd of shepplogan, run as
upstream's command lines on tiny CAPS."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.data.generate._template import output_grid
from clinicadl.data.generate.artifacts import ArtefactOptions, degrade
from clinicadl.data.generate.hypometabolic import PATHOLOGIES, output_name, pathology_mask

PET = "trc-18FFDG_space-MNI152NLin2009cSym_desc-Crop_res-8x8x8_suvr-cerebellumPons2_pet.nii.gz"
T1 = "space-MNI152NLin2009cSym_desc-Crop_res-8x8x8_T1w.nii.gz"


def run(*arguments):
    return CliRunner().invoke(cli, [str(a) for a in arguments])


def tiny_caps(root, suffix, folder, n=3, sessions=("ses-M000",)):
    """A CAPS of ``n`` participants on the 8 mm MNI grid, with data.tsv."""
    shape, affine = output_grid(8)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        for session in sessions:
            participant = f"sub-{i:02d}"
            path = root / "subjects" / participant / session / folder / f"{participant}_{session}_{suffix}"
            path.parent.mkdir(parents=True)
            nib.save(nib.Nifti1Image((100 + rng.normal(0, 1, shape)).astype(np.float32), affine), path)
            rows.append({"participant_id": participant, "session_id": session, "diagnosis": "CN", "age": "70",
                         "sex": "F"})
    pd.DataFrame(rows).to_csv(root / "data.tsv", sep="\t", index=False)
    return root


def test_every_pathology_has_a_mask_in_grey_matter():
    shape, affine = output_grid(8)
    sizes = {name: int(pathology_mask(shape, affine, name).sum()) for name in PATHOLOGIES}
    assert all(size > 20 for size in sizes.values()), sizes
    left = pathology_mask(shape, affine, "nfvppa")
    x = (affine[0, 0] * np.arange(shape[0]) + affine[0, 3])[:, None, None] * np.ones(shape)
    assert (x[left] < 0).all()  # a left-lateralised variant stays on the left


def test_hypometabolic_upstream_command_line(tmp_path):
    caps = tiny_caps(tmp_path / "pet", PET, "pet_linear")
    out = tmp_path / "hypo"
    result = run("generate", "hypometabolic", caps, out, "--n_subjects", 2, "-np", 1, "--pathology", "ad",
                 "--anomaly_degree", 40, "--sigma", 1)
    assert result.exit_code == 0, result.output
    data = pd.read_csv(out / "data.tsv", sep="\t")
    assert data[["participant_id", "pathology", "percentage"]].values.tolist() == [["sub-00", "ad", 40.0],
                                                                                  ["sub-01", "ad", 40.0]]
    name = output_name(caps / "x" / f"sub-00_ses-M000_{PET}", "ad", 40)
    assert name.endswith("_suvr-cerebellumPons2_pat-ad_deg-40_pet.nii.gz")
    written = out / "subjects" / "sub-00" / "ses-M000" / "pet_linear" / name
    before = nib.load(caps / "subjects/sub-00/ses-M000/pet_linear" / f"sub-00_ses-M000_{PET}").get_fdata()
    ratio = nib.load(written).get_fdata() / before
    shape, affine = output_grid(8)
    mask = pathology_mask(shape, affine, "ad")
    assert ratio[mask].mean() < 0.9 and ratio[~mask].mean() > 0.97 and ratio.min() >= 0.6 - 1e-6
    assert json.loads((out / "generate.json").read_text())["pathology"] == "ad"


def test_hypometabolic_local_mask_and_clear_errors(tmp_path):
    caps = tiny_caps(tmp_path / "pet", PET, "pet_linear")
    shape, affine = output_grid(8)
    mask = np.zeros(shape, dtype=np.uint8)
    mask[:5] = 1
    nib.save(nib.Nifti1Image(mask, affine), tmp_path / "mask_hypo_pca.nii")
    result = run("generate", "hypometabolic", caps, tmp_path / "out", "-p", "pca", "--n_subjects", 1, "--sigma", 0,
                 "--mask_path", tmp_path / "mask_hypo_pca.nii", "-anod", 50)
    assert result.exit_code == 0, result.output
    image = nib.load(next((tmp_path / "out" / "subjects").rglob("*_pet.nii.gz"))).get_fdata()
    source = nib.load(next((caps / "subjects" / "sub-00").rglob("*_pet.nii.gz"))).get_fdata()
    assert np.allclose(image[:5], source[:5] * 0.5, rtol=1e-5) and np.allclose(image[5:], source[5:], rtol=1e-5)
    too_many = run("generate", "hypometabolic", caps, tmp_path / "o2", "--n_subjects", 9)
    assert too_many.exit_code == 1 and "--n_subjects 3 or fewer" in too_many.output
    t1 = tiny_caps(tmp_path / "t1", T1, "t1_linear")
    no_pet = run("generate", "hypometabolic", t1, tmp_path / "o3", "--n_subjects", 1)
    assert no_pet.exit_code == 1 and "pet-linear" in no_pet.output and "sub-00" in no_pet.output


def test_artifacts_upstream_command_line(tmp_path):
    caps = tiny_caps(tmp_path / "t1", T1, "t1_linear", n=2, sessions=("ses-M000", "ses-M012"))
    out = tmp_path / "art"
    result = run("generate", "artifacts", caps, out, "--preprocessing", "t1-linear", "--motion", "--noise",
                 "--noise_std", 1, "--noise_std", 2, "--rotation", 2, "--rotation", 4, "-np", 1)
    assert result.exit_code == 0, result.output
    data = pd.read_csv(out / "data.tsv", sep="\t")
    assert len(data) == 4 and set(data["diagnosis"]) == {"motion+noise"}
    files = sorted(p.name for p in (out / "subjects").rglob("*.nii.gz"))
    assert files[0] == "sub-00_ses-M000_space-MNI152NLin2009cSym_desc-Crop_res-8x8x8_T1w_art-mot-noi.nii.gz"
    again = run("generate", "artifacts", caps, tmp_path / "art2", "--motion", "--noise", "--noise_std", 1,
                "--noise_std", 2, "--rotation", 2, "--rotation", 4, "-np", 2)
    assert again.exit_code == 0, again.output
    for first in (out / "subjects").rglob("*.nii.gz"):  # the same seed gives the same images, whatever -np
        second = tmp_path / "art2" / first.relative_to(out)
        assert np.array_equal(nib.load(first).get_fdata(), nib.load(second).get_fdata())
    none = run("generate", "artifacts", caps, tmp_path / "art3")
    assert none.exit_code == 1 and "--motion" in none.output
    once = run("generate", "artifacts", caps, tmp_path / "art4", "--noise", "--noise_std", 3)
    assert once.exit_code == 2 and "give it 2 times" in once.output


def test_each_artefact_changes_the_image_as_described():
    shape = (12, 14, 10)
    image = np.zeros(shape, dtype=np.float32)
    image[3:9, 4:10, 3:7] = 100.0
    voxel = np.ones(3)
    contrast = degrade(image, ArtefactOptions(contrast=True, gamma=(-0.1, -0.1)), 0, 0, voxel)
    assert np.allclose(contrast[image > 0], 100.0 ** np.exp(-0.1), rtol=1e-5)
    noise = degrade(image, ArtefactOptions(noise=True, noise_std=(2.0, 2.0)), 0, 0, voxel)
    assert abs(float((noise - image).std()) - 2.0) < 0.2
    still = degrade(image, ArtefactOptions(motion=True, rotation=(0.0, 0.0), translation=(0.0, 0.0)), 0, 0, voxel)
    assert np.allclose(still, image, atol=1e-3)  # no movement: k-space recomposes the image
    moved = degrade(image, ArtefactOptions(motion=True, rotation=(5.0, 5.0), translation=(2.0, 2.0)), 0, 0, voxel)
    assert np.abs(moved - image).mean() > 1.0


@pytest.mark.parametrize("flags, expected", [((), [1.0, 0.0, 0.0]), (("-csd", 0, "-csd", 1, "-csd", 0), [0, 1, 0])])
def test_shepplogan_takes_repeated_subtype_distributions(tmp_path, flags, expected):
    result = run("generate", "shepplogan", tmp_path / "sl", "--n_subjects", 2, "--image_size", 16, "-np", 1, *flags,
                 "-asd", 0, "-asd", 0, "-asd", 1)
    assert result.exit_code == 0, result.output
    data = pd.read_csv(tmp_path / "sl" / "data.tsv", sep="\t")
    assert set(data.loc[data["diagnosis"] == "AD", "subtype"]) == {2}
    assert set(data.loc[data["diagnosis"] == "CN", "subtype"]) == {expected.index(max(expected))}
    short = run("generate", "shepplogan", tmp_path / "sl2", "-csd", 1, "-csd", 0)
    assert short.exit_code == 2 and "give it 3 times" in short.output


def test_hypometabolic_without_the_template_names_what_is_missing(tmp_path, monkeypatch):
    from clinicadl.data.generate import _template
    from clinicadl.errors import ClinicaDLError

    def missing():
        raise ClinicaDLError("nilearn is not installed, but it ships the MNI152 template; install it.")

    monkeypatch.setattr(_template, "template_folder", missing)
    caps = tiny_caps(tmp_path / "pet", PET, "pet_linear", n=1)
    result = run("generate", "hypometabolic", caps, tmp_path / "out", "--n_subjects", 1, "-p", "svppa")
    assert result.exit_code == 1 and "nilearn" in result.output and "--mask_path" in result.output
    assert "mask_hypo_svppa.nii" in result.output and not (tmp_path / "out").exists()
