"""Smooth random fields on the output grid, as sums of low-frequency cosines (a DCT basis).

A field is f(x, y, z) = sum_{i,j,k < K} c_ijk cos(pi i u_x) cos(pi j u_y) cos(pi k u_z), where u in [0, 1] is the
position across the crop box along each axis. This is the basis SPM uses for smooth deformations and bias fields
(Ashburner & Friston 1999, Human Brain Mapping 7:254-266). The constant term (i = j = k = 0) is left out: a
displacement without it is not a translation, a log bias field without it does not change the overall scale.
The coefficients are independent normals scaled so that the field's expected root mean square over the box is
``rms``; the sum is computed axis by axis (cost K x voxels), without BLAS, so its bits do not depend on threading.
"""

from __future__ import annotations

import numpy as np


def _basis(axis_mm: np.ndarray, order: int) -> np.ndarray:
    u = (axis_mm - axis_mm[0]) / max(axis_mm[-1] - axis_mm[0], 1e-9)
    return np.cos(np.pi * np.arange(order)[None, :] * u[:, None])  # (n, order)


def smooth_field(axes_mm: tuple[np.ndarray, np.ndarray, np.ndarray], *, order: int, rms: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Random smooth field on the grid ``axes_mm`` (float64), expected RMS ``rms``.

    Examples
    --------
    >>> axes = tuple(np.linspace(0, 100, 21) for _ in range(3))
    >>> f = smooth_field(axes, order=3, rms=2.0, rng=np.random.default_rng(0))
    >>> f.shape
    (21, 21, 21)
    """
    freq = np.arange(order)
    # mean of cos^2 over [0, 1]: 1 for frequency 0, 1/2 otherwise
    power = np.where(freq == 0, 1.0, 0.5)
    mean_square = np.einsum("i,j,k->ijk", power, power, power)
    mean_square[0, 0, 0] = 0.0
    scale = rms / np.sqrt(mean_square.sum())
    coefficients = rng.standard_normal((order, order, order)) * scale
    coefficients[0, 0, 0] = 0.0
    bx, by, bz = (_basis(axis, order) for axis in axes_mm)
    field = np.einsum("ijk,zk->ijz", coefficients, bz)
    field = np.einsum("ijz,yj->iyz", field, by)
    return np.einsum("iyz,xi->xyz", field, bx)
