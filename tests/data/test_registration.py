"""The affine registration recovers a known transform of the MNI152 template (clinicadl.data.registration)."""

from __future__ import annotations

import numpy as np
import pytest

from clinicadl.data.registration import grid_coordinates, register_affine, resample_affine
from clinicadl.data.t1_linear import _load_template, itk_affine_parameters
from tests.registration_images import coarse, known_affine


@pytest.fixture(scope="module")
def template_4mm():
    t1, affine = _load_template()
    return t1, affine, *coarse(t1, affine, 4.0, (50, 59, 48), affine[:3, 3])


def test_recovers_the_inverse_of_a_known_affine(template_4mm):
    t1, affine, fixed, fixed_affine = template_4mm
    applied = known_affine([7.0, -5.0, 6.0], [1.06, 0.96, 1.02], [6.0, -9.0, 5.0])
    # moving(y) = template(applied @ y): on a 3.5 mm grid with another origin, as an oblique low-resolution scan
    moving, moving_affine = coarse(t1, affine, 3.5, (60, 70, 58), [-105.0, -125.0, -90.0], applied)
    result = register_affine(moving, moving_affine, fixed, fixed_affine, levels=(8.0, 4.0), iterations=80)
    recovered = result.matrix @ applied  # the identity when matrix is the inverse of applied
    assert np.abs(recovered[:3, :3] - np.eye(3)).max() < 0.02
    # translation at the brain centre (~ the origin of MNI space), in mm
    assert np.abs(recovered[:3, 3]).max() < 1.0
    back = resample_affine(moving, moving_affine, result.matrix, fixed.shape, fixed_affine)
    assert np.corrcoef(back.ravel(), fixed.ravel())[0, 1] > 0.95
    assert result.similarity > 0.95
    before = resample_affine(moving, moving_affine, np.eye(4), fixed.shape, fixed_affine)
    assert np.corrcoef(before.ravel(), fixed.ravel())[0, 1] < 0.9  # the test starts far from the answer


def test_resampling_through_a_map_is_composition():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(6, 7, 8)).astype(np.float32)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    shift = np.eye(4)
    shift[:3, 3] = [2.0, 4.0, -2.0]  # one voxel along i, two along j, minus one along k
    grid = np.eye(4)
    grid[:3, 3] = [0.0, 0.0, 1.0]  # output voxel (a, b, c) at world (2a, 2b, 2c + 2) mm
    out = resample_affine(image, affine, shift, (4, 4, 4), affine @ grid)
    np.testing.assert_allclose(out, image[1:5, 2:6, 0:4], atol=1e-5)
    assert grid_coordinates((2, 1, 1), affine)[1, 0, 0].tolist() == [2.0, 0.0, 0.0]


def test_itk_parameters_are_the_lps_map():
    matrix = known_affine([3.0, 0.0, -4.0], [1.0, 1.1, 0.9], [1.0, -2.0, 3.0])
    parameters = itk_affine_parameters(matrix)["AffineTransform_double_3_3"].ravel()
    flip = np.diag([-1.0, -1.0, 1.0])
    point_ras = np.array([10.0, -20.0, 30.0])
    itk = parameters[:9].reshape(3, 3) @ (flip @ point_ras) + parameters[9:]
    np.testing.assert_allclose(flip @ itk, matrix[:3, :3] @ point_ras + matrix[:3, 3])
