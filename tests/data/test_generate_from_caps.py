"""``generate random`` and ``generate trivial`` on a CAPS made by ``generate cohort``."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from clinicadl.data.generate import generate_cohort, generate_random, generate_trivial
from clinicadl.errors import CAPSError, InputError


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return generate_cohort(tmp_path_factory.mktemp("src") / "caps", n_participants=4, sessions=(1, 2), resolution=4,
                           seed=11)


def load(path):
    return np.asarray(nib.load(path).dataobj, dtype=np.float64)


def test_random_copies_one_image_with_noise(cohort, tmp_path):
    result = generate_random(cohort.caps_directory, tmp_path / "rand", n_subjects=3, sigma=2.0, seed=1)
    data = pd.read_csv(result.data_tsv, sep="\t")
    assert list(data.participant_id) == [f"sub-RAND{i}" for i in range(6)]
    assert list(data.diagnosis) == ["AD", "CN"] * 3
    source = load(cohort.image_paths[0])
    noise = [load(p) - source for p in result.image_paths]
    assert all(abs(n.std() - 2.0) < 0.05 and abs(n.mean()) < 0.05 for n in noise)
    assert not np.allclose(noise[0], noise[1])
    assert result.image_paths[0].name.startswith("sub-RAND0_ses-M000_space-MNI152NLin2009cSym_desc-Crop_res-4x4x4")
    again = generate_random(cohort.caps_directory, tmp_path / "again", n_subjects=3, sigma=2.0, seed=1)
    assert [p.read_bytes() for p in again.image_paths] == [p.read_bytes() for p in result.image_paths]


def test_trivial_atrophies_left_for_ad_and_right_for_cn(cohort, tmp_path):
    result = generate_trivial(cohort.caps_directory, tmp_path / "triv", n_subjects=2, atrophy_percent=60)
    data = pd.read_csv(result.data_tsv, sep="\t")
    assert list(data.diagnosis) == ["AD", "CN", "AD", "CN"]
    source = load(cohort.image_paths[0])
    affine = nib.load(result.image_paths[0]).affine
    x = affine[0, 0] * np.arange(source.shape[0]) + affine[0, 3]
    left, right = x < -5, x > 5
    ad, cn = load(result.image_paths[0]), load(result.image_paths[1])
    assert ad[left].sum() < 0.8 * source[left].sum() and np.isclose(ad[right].sum(), source[right].sum(), rtol=0.01)
    assert cn[right].sum() < 0.8 * source[right].sum() and np.isclose(cn[left].sum(), source[left].sum(), rtol=0.01)


def test_user_errors(cohort, tmp_path):
    with pytest.raises(InputError, match="between 1 and the 4 participants"):
        generate_trivial(cohort.caps_directory, tmp_path / "t", n_subjects=5)
    with pytest.raises(CAPSError, match="not a CAPS"):
        generate_random(tmp_path, tmp_path / "r", n_subjects=1)
