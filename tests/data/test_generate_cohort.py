"""``generate cohort``: layout, data.tsv, byte-for-byte reproducibility, n_proc independence, the promised AUC."""

import hashlib
import json
import math

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from clinicadl.data.generate import effect_size_for_auc, generate_cohort, promised_auc, regional_means
from clinicadl.data.generate._template import output_grid
from clinicadl.errors import InputError


def digests(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generate_cohort(tmp_path_factory.mktemp("c") / "caps", n_participants=6, sessions=(1, 3), resolution=4,
                           seed=7)


def test_layout_names_and_grid(small):
    caps = small.caps_directory
    data = pd.read_csv(small.data_tsv, sep="\t")
    assert list(data.columns) == ["participant_id", "session_id", "diagnosis", "age", "sex", "severity",
                                  "hippocampal_atrophy", "ventricle_factor", "gm_age_loss", "head_scale"]
    assert len(data) == small.n_images == len(small.image_paths)
    assert sorted(data.participant_id.unique()) == [f"sub-S{i:04d}" for i in range(1, 7)]
    assert (data.diagnosis == "AD").sum() > 0 and set(data.diagnosis) == {"AD", "CN"}
    assert data.groupby("participant_id").size().between(1, 3).all()
    assert set(data.session_id) <= {"ses-M000", "ses-M012", "ses-M024"}
    assert set(data.sex) <= {"M", "F"}
    for row, path in zip(data.itertuples(), small.image_paths):
        assert path == (caps / "subjects" / row.participant_id / row.session_id / "t1_linear" /
                        f"{row.participant_id}_{row.session_id}_space-MNI152NLin2009cSym_desc-Crop_res-4x4x4_T1w.nii.gz")
        assert path.is_file()
    image = nib.load(small.image_paths[0])
    assert image.shape == (43, 52, 45) and image.get_data_dtype() == np.float32
    np.testing.assert_allclose(image.affine, output_grid(4)[1])
    assert image.affine[0, 3] == -84 + 1.5 and int(image.header["sform_code"]) == 4
    assert (caps / "missing_mods" / "missing_mods_ses-M000.tsv").is_file()
    options = json.loads(small.json_path.read_text())
    assert options["seed"] == 7 and options["resolution"] == 4 and options["sessions"] == [1, 3]
    assert "clinicadl_version" in options and "model" in options
    assert not list(caps.parent.glob(".*partial"))  # the staging folder is gone


def test_full_resolution_grid_is_clinicas_crop():
    shape, affine = output_grid(1)
    assert shape == (169, 208, 179) and affine[:3, 3].tolist() == [-84, -119, -78]
    assert output_grid(2)[0] == (85, 104, 90)


def test_longitudinal_progression_and_model_parameters(small):
    data = pd.read_csv(small.data_tsv, sep="\t")
    for _, sessions in data.groupby("participant_id"):
        assert sessions.age.diff().dropna().round(1).eq(1.0).all()  # 12 months apart
        assert sessions.sex.nunique() == 1 and sessions.head_scale.nunique() == 1
    model_h = 1 - np.exp(-np.exp(np.log(0.2) + 0.8 * data.severity))
    np.testing.assert_allclose(data.hippocampal_atrophy, model_h, atol=2e-4)


def test_same_seed_same_bytes_other_seed_differs(small, tmp_path):
    again = generate_cohort(tmp_path / "again", n_participants=6, sessions=(1, 3), resolution=4, seed=7)
    assert digests(again.caps_directory) == digests(small.caps_directory)
    other = generate_cohort(tmp_path / "other", n_participants=6, sessions=(1, 3), resolution=4, seed=8)
    a, b = digests(small.caps_directory), digests(other.caps_directory)
    common = [k for k in a if k in b and k.endswith(".nii.gz")]
    assert common and all(a[k] != b[k] for k in common)


def test_n_proc_does_not_change_a_byte(small, tmp_path):
    parallel = generate_cohort(tmp_path / "p", n_participants=6, sessions=(1, 3), resolution=4, seed=7, n_proc=2)
    assert digests(parallel.caps_directory) == digests(small.caps_directory)


def test_refuses_a_non_empty_output_and_bad_options(small, tmp_path):
    with pytest.raises(InputError, match="already exists"):
        generate_cohort(small.caps_directory, n_participants=2, sessions=1, resolution=8)
    for bad in ({"n_participants": 1}, {"sessions": (2, 1)}, {"effect_size": -1.0}, {"resolution": 0},
                {"resolution": 2.5}):
        with pytest.raises(InputError):
            generate_cohort(tmp_path / "bad", **{"n_participants": 4, "resolution": 8, **bad})
    assert not (tmp_path / "bad").exists()


def test_promised_auc_closed_form():
    assert promised_auc(0.0) == 0.5
    for d in (0.5, 1.0, 1.5, 2.5):
        assert math.isclose(promised_auc(d), 0.5 * math.erfc(-d / 2.0), rel_tol=1e-12)  # Phi(d / sqrt 2)
        assert math.isclose(effect_size_for_auc(promised_auc(d)), d, rel_tol=1e-9)
    assert promised_auc(1.0, years=2.0) > promised_auc(1.0)  # AD progresses faster


def hanley_mcneil_se(auc, n1, n0):
    """Standard error of an AUC estimate (Hanley & McNeil 1982, Radiology 143:29-36)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    return math.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0))


# Shortfall of the regional-means classifier below the latent severity's AUC, measured with 1,000 participants in
# benchmarks/bench_generate.py (<= 0.03 for effect sizes 0.5-2.5); added to the sampling tolerance.
EFFICIENCY_MARGIN = 0.03


def test_logistic_regression_on_regional_means_reaches_the_promised_auc(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    effect_size, n = 1.5, 200
    result = generate_cohort(tmp_path / "caps", n_participants=n, sessions=1, resolution=4, effect_size=effect_size,
                             seed=2024, n_proc=2)
    data = regional_means(result.caps_directory, baseline_only=True)
    features = np.column_stack([data[["hippocampus", "ventricles", "grey_matter", "white_matter", "age"]],
                                data.sex == "M"])
    labels = (data.diagnosis == "AD").to_numpy()
    scores = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression()), features, labels,
                               cv=StratifiedKFold(5, shuffle=True, random_state=0), method="decision_function")
    auc = roc_auc_score(labels, scores)
    promised = promised_auc(effect_size)
    tolerance = 3 * hanley_mcneil_se(promised, labels.sum(), (~labels).sum()) + EFFICIENCY_MARGIN
    print(f"AUC {auc:.3f}, promised {promised:.3f}, tolerance {tolerance:.3f}")
    assert abs(auc - promised) <= tolerance, (auc, promised, tolerance)
    # and it cannot beat the latent severity of the same participants by more than sampling noise
    assert auc <= roc_auc_score(labels, data.severity) + 3 * hanley_mcneil_se(promised, labels.sum(), (~labels).sum())
