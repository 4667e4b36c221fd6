"""``generate shepplogan``: 2D and 3D phantoms, subtypes, labels, upstream layout, reproducibility."""

import hashlib

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from clinicadl.data.generate import generate_shepplogan, shepplogan_phantom
from clinicadl.errors import InputError


def test_2d_layout_labels_and_subtypes(tmp_path):
    result = generate_shepplogan(tmp_path / "sl", n_subjects=6, image_size=32, seed=1)
    data = pd.read_csv(result.data_tsv, sep="\t")
    assert list(data.columns) == ["participant_id", "session_id", "diagnosis", "subtype", "age", "sex"]
    assert len(data) == 12 and not data.duplicated().any()
    assert (data.diagnosis == "AD").sum() == 6 and set(data.session_id) == {"ses-M000"}
    assert data[data.diagnosis == "CN"].participant_id.str.startswith("sub-CLNC1").all()
    assert data[data.diagnosis == "AD"].participant_id.str.startswith("sub-CLNC0").all()
    assert (data[data.diagnosis == "CN"].subtype == 0).all()  # CN distribution (1, 0, 0)
    for row in data.itertuples():
        path = (result.caps_directory / "subjects" / row.participant_id / "ses-M000" / "shepplogan" /
                f"{row.participant_id}_ses-M000_space-SheppLogan_phantom.nii.gz")
        assert nib.load(path).shape == (32, 32, 1)
    assert (result.caps_directory / "missing_mods" / "missing_mods_ses-M000.tsv").is_file()


def test_3d_shape(tmp_path):
    result = generate_shepplogan(tmp_path / "sl3", n_subjects=1, image_size=24, dimension=3, smoothing=True)
    assert result.shape == (24, 24, 24)
    assert nib.load(result.image_paths[0]).shape == (24, 24, 24)


def test_subtypes_shrink_the_named_region():
    top = (slice(None), slice(80, 128))  # array axis 1 is posterior -> anterior
    bottom = (slice(None), slice(0, 48))
    roi = {s: shepplogan_phantom(128, s, rng=3) for s in range(3)}

    def area(image, part):
        return int((image[part] >= 0.35).sum())

    assert area(roi[1], bottom) < area(roi[0], bottom) and area(roi[1], top) > 0.9 * area(roi[0], top)
    assert area(roi[2], top) < area(roi[0], top) and area(roi[2], bottom) > 0.9 * area(roi[0], bottom)


def test_reproducible_and_seed_dependent(tmp_path):
    def digest(folder):
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.nii.gz"))]

    a = generate_shepplogan(tmp_path / "a", n_subjects=3, image_size=16, seed=5).caps_directory
    b = generate_shepplogan(tmp_path / "b", n_subjects=3, image_size=16, seed=5, n_proc=2).caps_directory
    c = generate_shepplogan(tmp_path / "c", n_subjects=3, image_size=16, seed=6).caps_directory
    assert digest(a) == digest(b) and digest(a) != digest(c)
    assert (a / "data.tsv").read_bytes() == (b / "data.tsv").read_bytes()


def test_bad_distribution_is_a_user_error(tmp_path):
    with pytest.raises(InputError, match="sum to 1"):
        generate_shepplogan(tmp_path / "x", n_subjects=1, ad_subtypes_distribution=(0.5, 0.5, 0.5))
    with pytest.raises(InputError, match="subtype"):
        shepplogan_phantom(16, 3)
    assert np.isfinite(shepplogan_phantom(16, 0, dimension=3)).all()
