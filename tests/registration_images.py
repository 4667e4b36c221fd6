"""Moving images made from the MNI152 template through known affines, for the registration tests."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from clinicadl.data.registration import _smooth, resample_affine


def known_affine(angles_deg, scales, translation_mm) -> np.ndarray:
    """x -> R S x + t (world mm): the transform applied to the template to make a moving image."""
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.from_euler("xyz", angles_deg, degrees=True).as_matrix() @ np.diag(scales)
    matrix[:3, 3] = translation_mm
    return matrix


def coarse(image, affine, spacing, shape, origin, matrix=None):
    """``image(matrix @ y)`` on a grid of ``spacing`` mm starting at ``origin`` (smoothed first, as a coarser
    scanner), and the grid's affine."""
    grid = np.diag([spacing, spacing, spacing, 1.0])
    grid[:3, 3] = origin
    matrix = np.eye(4) if matrix is None else matrix
    return resample_affine(_smooth(image, affine, spacing), affine, matrix, shape, grid), grid
