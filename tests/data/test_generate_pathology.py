"""``generate lesions`` and ``generate tumour``: images with masks, controllable load and contrast, derived labels."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from clinicadl.data.generate.lesions import LesionModel, generate_lesions
from clinicadl.data.generate.tumour import generate_tumour
from clinicadl.errors import InputError

SMALL = LesionModel(radius_mm=(4.0, 8.0))


def voxels(path) -> np.ndarray:
    return np.asarray(nib.load(path).dataobj)


@pytest.fixture(scope="module")
def lesions(tmp_path_factory):
    return generate_lesions(tmp_path_factory.mktemp("lesions") / "caps", n_subjects=4, lesion_load=(3.0, 15.0),
                            contrast=0.5, resolution=8, seed=1, model=SMALL)


def test_lesion_masks_give_the_load_and_the_label(lesions):
    data = pd.read_csv(lesions.data_tsv, sep="\t")
    assert list(data.columns[:5]) == ["participant_id", "session_id", "diagnosis", "age", "sex"]
    for row, image_path, mask_path in zip(data.itertuples(), lesions.image_paths, lesions.mask_paths):
        mask = voxels(mask_path)
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
        assert voxels(image_path).shape == mask.shape == (22, 26, 23)
        load = mask.sum() * 8**3 / 1000
        assert row.lesion_load == pytest.approx(load, abs=1e-3)
        assert row.lesion_load >= row.target_load - 1e-9  # lesions are added until the target is reached
        assert row.diagnosis == ("high_load" if row.lesion_load > 9.0 else "low_load")  # middle of the range
    assert mask_path.name.endswith("_dseg.nii.gz") and "t1_linear" in str(mask_path)


def test_contrast_darkens_lesions(tmp_path):
    kwargs = {"n_subjects": 2, "lesion_load": (10.0, 10.0), "resolution": 8, "seed": 4, "model": SMALL}
    dark = generate_lesions(tmp_path / "dark", contrast=0.8, **kwargs)
    none = generate_lesions(tmp_path / "none", contrast=0.0, **kwargs)
    mask = voxels(dark.mask_paths[0]).astype(bool)
    assert np.array_equal(mask, voxels(none.mask_paths[0]).astype(bool))  # same lesions, other contrast
    ratio = voxels(dark.image_paths[0])[mask].mean() / voxels(none.image_paths[0])[mask].mean()
    assert ratio < 0.6


def test_same_seed_same_bytes(tmp_path, lesions):
    again = generate_lesions(tmp_path / "again", n_subjects=4, lesion_load=(3.0, 15.0), contrast=0.5,
                             resolution=8, seed=1, model=SMALL)
    for a, b in zip(lesions.mask_paths + lesions.image_paths, again.mask_paths + again.image_paths):
        assert a.read_bytes() == b.read_bytes()
    assert lesions.data_tsv.read_bytes() == again.data_tsv.read_bytes()


def test_tumour_has_core_and_oedema(tmp_path):
    result = generate_tumour(tmp_path / "tumour", n_subjects=2, radius_mm=(10.0, 14.0), resolution=6, seed=0)
    data = pd.read_csv(result.data_tsv, sep="\t")
    assert result.labels == {1: "tumour core", 2: "oedema"}
    for row, mask_path in zip(data.itertuples(), result.mask_paths):
        mask = voxels(mask_path)
        assert set(np.unique(mask)) == {0, 1, 2}
        assert row.tumour_volume == pytest.approx((mask == 1).sum() * 6**3 / 1000, abs=1e-3)
        assert row.oedema_volume == pytest.approx((mask == 2).sum() * 6**3 / 1000, abs=1e-3)
        assert row.diagnosis in ("large", "small")


def test_bad_options_give_clear_errors(tmp_path):
    with pytest.raises(InputError, match="lesion_load must be MIN MAX"):
        generate_lesions(tmp_path / "a", n_subjects=2, lesion_load=(5.0, 1.0), resolution=8)
    with pytest.raises(InputError, match="contrast"):
        generate_lesions(tmp_path / "b", n_subjects=2, contrast=2.0, resolution=8)
    with pytest.raises(InputError, match="oedema_ratio"):
        generate_tumour(tmp_path / "c", n_subjects=2, oedema_ratio=0.5, resolution=8)


def test_command_line(tmp_path):
    from clinicadl.cli.main import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["generate", "lesions", str(tmp_path / "les"), "--n_subjects", "2", "--resolution",
                                 "8", "--lesion_radius", "4", "8", "--lesion_load", "2", "4", "--contrast", "0.3"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "les").rglob("*_dseg.nii.gz"))) == 2
    result = runner.invoke(cli, ["generate", "tumour", str(tmp_path / "tum"), "--n_subjects", "2", "--resolution",
                                 "8", "--radius", "10", "12"])
    assert result.exit_code == 0, result.output
    assert "Written: 2 images with tumour masks" in result.output
    result = runner.invoke(cli, ["generate", "lesions", str(tmp_path / "les")])
    assert result.exit_code != 0 and "already exists" in result.output
