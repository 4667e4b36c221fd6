"""Intensity-based affine registration of a 3D image to a template, and resampling through the found transform.

The transform is searched as ANTs' affine stage searches it (``antsRegistrationSyNQuick.sh -t a``, the registration
of Clinica's t1-linear pipeline; Avants et al. 2011): coarse to fine over a pyramid of Gaussian-smoothed images,
maximising an image similarity over the 12 parameters of an affine map. Here the similarity is the normalised
cross-correlation (NCC) over the fixed (template) grid of each level, and the optimiser is Adam (Kingma & Ba 2015)
on a differentiable trilinear resampling (:func:`torch.nn.functional.grid_sample`), so no ANTs is needed.

Conventions. Images are arrays with a NIfTI affine (voxel index -> world mm, RAS). The result is a 4 x 4 matrix
``A`` mapping a *fixed* world point to the *moving* world point that lands on it: the registered image is
``moving(A @ x)`` on the fixed grid, as an ITK/ANTs transform maps fixed points to moving points. The search starts
from the translation that aligns the centres of mass of the two images, and writes ``A(x) = M (x - c) + c + t`` with
``c`` the fixed centre of mass.

References
----------
Avants B.B., Tustison N.J., Song G. et al. (2011). A reproducible evaluation of ANTs similarity metric performance in
brain image registration. NeuroImage 54(3):2033-2044.
Kingma D.P., Ba J. (2015). Adam: a method for stochastic optimization. ICLR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AffineRegistration", "grid_coordinates", "register_affine", "resample_affine"]


@dataclass(frozen=True)
class AffineRegistration:
    """The result of :func:`register_affine`.

    Attributes
    ----------
    matrix : (4, 4) float array, fixed world mm -> moving world mm.
    similarity : NCC between the fixed image and the registered moving image at the finest level (1 is perfect).
    levels : voxel sizes (mm) of the pyramid, coarse to fine.
    iterations : Adam steps at the coarsest level (see :func:`register_affine`).
    """

    matrix: np.ndarray
    similarity: float
    levels: tuple[float, ...]
    iterations: int


def _voxel_sizes(affine: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(affine, dtype=np.float64)[:3, :3], axis=0)


def grid_coordinates(shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    """World coordinates (mm) of every voxel centre of a grid, shape ``(*shape, 3)``."""
    index = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij"), axis=-1)
    affine = np.asarray(affine, dtype=np.float64)
    return index @ affine[:3, :3].T + affine[:3, 3]


def _smooth(image: np.ndarray, affine: np.ndarray, spacing: float) -> np.ndarray:
    """Gaussian low-pass for resampling at ``spacing`` mm: sigma = spacing / 2 mm less what a voxel already holds."""
    from scipy import ndimage

    voxel = _voxel_sizes(affine)
    sigma = np.sqrt(np.maximum((spacing / 2.0) ** 2 - (voxel / 2.0) ** 2, 0.0)) / voxel
    image = np.asarray(image, dtype=np.float32)
    return ndimage.gaussian_filter(image, sigma) if np.any(sigma > 0.3) else image


def _level_grid(shape: tuple[int, ...], affine: np.ndarray, spacing: float) -> tuple[tuple[int, ...], np.ndarray]:
    """An axis-aligned grid of ``spacing`` mm covering the world box of a grid."""
    corners = grid_coordinates(tuple(2 for _ in shape), affine @ np.diag([*(np.asarray(shape) - 1), 1.0]))
    low, high = corners.reshape(-1, 3).min(axis=0), corners.reshape(-1, 3).max(axis=0)
    level_shape = tuple(int(n) for n in np.floor((high - low) / spacing) + 1)
    level_affine = np.diag([spacing, spacing, spacing, 1.0])
    level_affine[:3, 3] = low
    return level_shape, level_affine


def _sampler(image: np.ndarray, affine: np.ndarray):
    """A function of world points (torch, ``(..., 3)``) returning the trilinear values of ``image`` (0 outside)."""
    import torch
    import torch.nn.functional as F

    volume = torch.as_tensor(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    to_index = torch.as_tensor(np.linalg.inv(np.asarray(affine, dtype=np.float64)), dtype=torch.float64)
    size = torch.as_tensor([max(n - 1, 1) for n in image.shape], dtype=torch.float64)

    def sample(points):
        index = points @ to_index[:3, :3].T + to_index[:3, 3]
        grid = (2.0 * index / size - 1.0).flip(-1).to(torch.float32)  # grid_sample reads (k, j, i)
        values = F.grid_sample(volume, grid.reshape(1, 1, 1, -1, 3), mode="bilinear", padding_mode="zeros",
                               align_corners=True)
        return values.reshape(points.shape[:-1])

    return sample


def _centre_of_mass(image: np.ndarray, affine: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    weights = np.clip(np.asarray(image, dtype=np.float64), 0.0, None)
    index = np.asarray(ndimage.center_of_mass(weights), dtype=np.float64)
    return np.asarray(affine, dtype=np.float64)[:3, :3] @ index + np.asarray(affine, dtype=np.float64)[:3, 3]


def _ncc(a, b):
    a = a - a.mean()
    b = b - b.mean()
    return (a * b).sum() / ((a.square().sum() * b.square().sum()).sqrt() + 1e-12)


def _matrix(linear, translation, centre):
    """The 4 x 4 map x -> M (x - c) + c + t as a torch tensor (float64)."""
    import torch

    top = torch.cat([linear, (translation + centre - linear @ centre)[:, None]], dim=1)
    return torch.cat([top, torch.tensor([[0.0, 0.0, 0.0, 1.0]], dtype=torch.float64)], dim=0)


def _check(moving: np.ndarray, fixed: np.ndarray, levels: tuple[float, ...], iterations: int) -> None:
    if np.asarray(moving).ndim != 3 or np.asarray(fixed).ndim != 3:
        raise ValueError(f"register_affine needs 3D images; got shapes {np.shape(moving)} and {np.shape(fixed)}.")
    if not levels or any(level <= 0 for level in levels):
        raise ValueError(f"levels must be positive voxel sizes in mm, coarse to fine; got {levels}.")
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1; got {iterations}.")


def register_affine(
    moving: np.ndarray,
    moving_affine: np.ndarray,
    fixed: np.ndarray,
    fixed_affine: np.ndarray,
    *,
    levels: tuple[float, ...] = (8.0, 4.0, 2.0),
    iterations: int = 150,
    learning_rate: float = 0.01,
) -> AffineRegistration:
    """Find the affine map that best aligns ``moving`` to ``fixed`` (normalised cross-correlation).

    Parameters
    ----------
    moving, fixed : 3D arrays
        The image to register (e.g. a T1w in its scanner space) and the reference (the template).
    moving_affine, fixed_affine : (4, 4) arrays
        Their NIfTI affines (voxel -> world mm).
    levels : tuple of float
        Voxel sizes (mm) of the pyramid, coarse to fine; both images are smoothed (Gaussian of half the voxel size)
        and the fixed one resampled at each size.
    iterations : int
        Adam steps at the coarsest level, halved at each level twice as fine (at least 20): the fine levels, the
        costly ones, only refine. The learning rate decays to 0 along a cosine within each level.
    learning_rate : float
        Adam's step for the linear part; the translation's step is ``25 * learning_rate * level`` mm.

    Returns
    -------
    AffineRegistration
        ``matrix`` (fixed world -> moving world), the final ``similarity``, ``levels`` and ``iterations``.

    Examples
    --------
    >>> import numpy as np
    >>> i, j, k = np.meshgrid(*[np.arange(24.0)] * 3, indexing="ij")
    >>> blob = np.exp(-((i - 11) ** 2 + (j - 12) ** 2 / 2 + (k - 12) ** 2 / 3) / 8)
    >>> shifted = np.roll(blob, 2, axis=0)  # moving voxel i + 2 holds fixed voxel i: a +2 mm shift
    >>> result = register_affine(shifted, np.eye(4), blob, np.eye(4), levels=(2.0, 1.0), iterations=100)
    >>> centre = result.matrix @ [11.0, 12.0, 12.0, 1.0]  # the fixed blob's centre, in the moving image
    >>> bool(np.allclose(centre[:3], [13.0, 12.0, 12.0], atol=0.1)), result.similarity > 0.999
    (True, True)
    """
    import torch

    _check(moving, fixed, levels, iterations)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: threads cost more than they gain; parallelism is one image per process
    try:
        return _register(moving, moving_affine, fixed, fixed_affine, levels, iterations, learning_rate)
    finally:
        torch.set_num_threads(threads)


def _register(moving, moving_affine, fixed, fixed_affine, levels, iterations, learning_rate) -> AffineRegistration:
    import torch

    moving_affine = np.asarray(moving_affine, dtype=np.float64)
    fixed_affine = np.asarray(fixed_affine, dtype=np.float64)
    centre = torch.as_tensor(_centre_of_mass(fixed, fixed_affine))
    start = torch.as_tensor(_centre_of_mass(moving, moving_affine)) - centre
    linear = torch.eye(3, dtype=torch.float64).requires_grad_(True)
    translation = start.clone().requires_grad_(True)
    similarity = float("nan")
    for level in levels:
        steps = max(20, round(iterations * level / levels[0])) if level < levels[0] else iterations
        shape, affine = _level_grid(fixed.shape, fixed_affine, level)
        points = torch.as_tensor(grid_coordinates(shape, affine)).reshape(-1, 3)
        target = _sampler(_smooth(fixed, fixed_affine, level), fixed_affine)(points).to(torch.float64)
        sample = _sampler(_smooth(moving, moving_affine, level), moving_affine)
        optimiser = torch.optim.Adam([{"params": [linear], "lr": learning_rate},
                                      {"params": [translation], "lr": 25 * learning_rate * level}])
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
        for _ in range(steps):
            optimiser.zero_grad()
            matrix = _matrix(linear, translation, centre)
            loss = -_ncc(sample(points @ matrix[:3, :3].T + matrix[:3, 3]).to(torch.float64), target)
            loss.backward()
            optimiser.step()
            schedule.step()
        with torch.no_grad():
            matrix = _matrix(linear, translation, centre)
            similarity = float(_ncc(sample(points @ matrix[:3, :3].T + matrix[:3, 3]).to(torch.float64), target))
    with torch.no_grad():
        final = _matrix(linear, translation, centre).numpy().copy()
    return AffineRegistration(final, similarity, tuple(float(level) for level in levels), int(iterations))


def resample_affine(moving: np.ndarray, moving_affine: np.ndarray, matrix: np.ndarray, shape: tuple[int, int, int],
                    affine: np.ndarray) -> np.ndarray:
    """``moving`` resampled (trilinear, 0 outside) on the grid ``(shape, affine)`` through ``matrix``.

    ``matrix`` maps a world point of the output grid to the world point of ``moving`` whose value it takes (the
    ``matrix`` of :func:`register_affine`); the identity resamples ``moving`` onto the grid.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(27, dtype=np.float32).reshape(3, 3, 3)
    >>> shift = np.eye(4); shift[0, 3] = 1.0
    >>> resample_affine(image, np.eye(4), shift, (2, 3, 3), np.eye(4))[:, 0, 0].tolist()
    [9.0, 18.0]
    """
    import torch

    sample = _sampler(np.asarray(moving, dtype=np.float32), moving_affine)
    matrix = torch.as_tensor(np.asarray(matrix, dtype=np.float64))
    out = np.empty(tuple(shape), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, shape[0], 16):  # slabs bound the memory of the coordinates
            stop = min(start + 16, shape[0])
            slab = np.array(affine, dtype=np.float64)
            slab[:3, 3] += slab[:3, 0] * start
            points = torch.as_tensor(grid_coordinates((stop - start, *shape[1:]), slab))
            out[start:stop] = sample(points @ matrix[:3, :3].T + matrix[:3, 3]).numpy()
    return out
