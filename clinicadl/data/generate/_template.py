"""The MNI152 2009 symmetric template that ships inside nilearn, on the grid of Clinica's cropped t1-linear output.

The template (ICBM 2009a nonlinear symmetric, 197 x 233 x 189 voxels at 1 mm, origin (-98, -134, -72) mm) is read
straight from nilearn's package folder with nibabel: nilearn itself is never imported (it would import
scikit-learn), and nothing is downloaded.

Crop box. Clinica's t1-linear crops the MNI152NLin2009cSym template (193 x 229 x 193 at 1 mm, origin
(-96, -132, -78) mm) to voxels [12:181, 13:221, 0:179], i.e. 169 x 208 x 179 voxels whose first voxel centre is
(-84, -119, -78) mm. We keep exactly this world box, so our images overlay real t1-linear outputs. In the nilearn
template it is voxels [14:183, 15:223, -6:173]: the 6 lowest slices (z < -72 mm, below the cerebellum) lie outside
the template and are filled with zeros.

Resolution. At ``resolution`` r mm (an integer) the box is covered by ceil(169 / r) x ceil(208 / r) x ceil(179 / r)
voxels of r mm whose first centre is (-84, -119, -78) + (r - 1) / 2 mm, the centre of the first r x r x r block of
1 mm voxels. The template is low-pass filtered before sampling with a Gaussian of standard deviation
sqrt((r^2 - 1) / 12) voxels, the extra blur of averaging r x r x r blocks (a 1 mm voxel already has variance 1/12),
so downsampling neither aliases nor blurs more than block averaging would.

MNI template copyright: Copyright (C) 1993-2009 Louis Collins, McConnell Brain Imaging Centre, Montreal
Neurological Institute, McGill University (permissive licence; keep this notice).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from clinicadl.errors import ClinicaDLError

TEMPLATE_FILES = {
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}
CROP_SHAPE_1MM = (169, 208, 179)
CROP_ORIGIN_MM = (-84.0, -119.0, -78.0)

# Hippocampal regions, MNI mm: left/right anterior and posterior (Seitzman et al. 2018, NeuroImage 206:116290).
HIPPOCAMPUS_MM = np.array([
    [-25.6, -11.8, -21.5],
    [24.7, -11.3, -22.7],
    [-25.2, -38.8, -2.0],
    [25.1, -37.2, -2.2],
])
# Seeds inside the left and right lateral ventricles, MNI mm (their bodies; checked on the template).
_VENTRICLE_SEEDS_MM = np.array([[-13.0, -17.0, 21.0], [13.0, -17.0, 21.0]])


def template_folder() -> Path:
    """Folder of nilearn's bundled MNI152 template files (found without importing nilearn)."""
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise ClinicaDLError("nilearn is not installed, but it ships the MNI152 template that `generate cohort` "
                             "uses; install it with `pip install nilearn`.")
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    missing = [name for name in TEMPLATE_FILES.values() if not (folder / name).is_file()]
    if missing:
        raise ClinicaDLError(f"The MNI152 template files {missing} are missing from {folder}; "
                             "reinstall nilearn (`pip install --force-reinstall nilearn`).")
    return folder


def output_grid(resolution: int) -> tuple[tuple[int, int, int], np.ndarray]:
    """Shape and affine of the cropped t1-linear grid at ``resolution`` mm (see the module docstring).

    Examples
    --------
    >>> shape, affine = output_grid(1)
    >>> shape, affine[:3, 3].tolist()
    ((169, 208, 179), [-84.0, -119.0, -78.0])
    >>> output_grid(2)[0]
    (85, 104, 90)
    """
    r = int(resolution)
    shape = tuple(-(-n // r) for n in CROP_SHAPE_1MM)
    affine = np.diag([float(r), float(r), float(r), 1.0])
    affine[:3, 3] = np.asarray(CROP_ORIGIN_MM) + (r - 1) / 2.0
    return shape, affine


def grid_axes_mm(resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World coordinates (mm) of the voxel centres along each axis of :func:`output_grid`."""
    shape, affine = output_grid(resolution)
    return tuple(affine[i, 3] + affine[i, i] * np.arange(shape[i], dtype=np.float64) for i in range(3))


@dataclass(frozen=True)
class Template:
    """The template prepared for one output resolution (one per process, cached).

    Attributes
    ----------
    t1, gm : float32 arrays on the 1 mm template grid, low-pass filtered for the resolution; t1 in the template's
        0-255 scale, gm a probability in [0, 1].
    origin : world coordinate (mm) of template voxel (0, 0, 0).
    intensity_gm, intensity_csf : median T1 of grey matter (p > 0.7) and of the lateral ventricles.
    brain_centre : centroid (mm) of the brain, the centre of head-size scaling.
    ventricle_centres, ventricle_covariances : per lateral ventricle (left, right), centroid (mm) and covariance
        (mm^2) of its template mask.
    ventricle_mask : bool array on the 1 mm template grid (both lateral ventricles).
    """

    t1: np.ndarray
    gm: np.ndarray
    origin: np.ndarray
    intensity_gm: float
    intensity_csf: float
    brain_centre: np.ndarray
    ventricle_centres: np.ndarray
    ventricle_covariances: np.ndarray
    ventricle_mask: np.ndarray


def _read(name: str) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    image = nib.load(template_folder() / TEMPLATE_FILES[name])
    return np.asarray(image.dataobj, dtype=np.float32), image.affine


@lru_cache(maxsize=1)
def _anatomy() -> tuple:
    """Raw template arrays and the quantities measured on them (resolution-independent)."""
    from scipy import ndimage

    t1, affine = _read("t1")
    gm = _read("gm")[0] / 255.0
    wm = _read("wm")[0] / 255.0
    origin = affine[:3, 3].astype(np.float64)
    tissue = gm + wm
    brain = ndimage.binary_fill_holes(ndimage.binary_closing(tissue > 0.3, iterations=3))
    csf = brain & (tissue < 0.2)
    labels, _ = ndimage.label(csf)
    ventricles = np.zeros(csf.shape, dtype=bool)
    centres, covariances = [], []
    for seed in _VENTRICLE_SEEDS_MM:
        index = tuple(np.round(seed - origin).astype(int))
        if labels[index] == 0:
            raise ClinicaDLError(f"The template in {template_folder()} does not look like the MNI152 2009 template "
                                 "(no lateral ventricle found); reinstall nilearn.")
        mask = labels == labels[index]
        ventricles |= mask
        points = np.argwhere(mask).astype(np.float64) + origin
        centres.append(points.mean(axis=0))
        covariances.append(np.cov(points, rowvar=False))
    brain_points = np.argwhere(brain).astype(np.float64) + origin
    return (t1, gm, origin, float(np.median(t1[gm > 0.7])), float(np.median(t1[ventricles])),
            brain_points.mean(axis=0), np.array(centres), np.array(covariances), ventricles, wm)


@lru_cache(maxsize=2)
def load_template(resolution: int) -> Template:
    """The template low-pass filtered for ``resolution`` mm (cached per process)."""
    from scipy import ndimage

    t1, gm, origin, i_gm, i_csf, centre, v_centres, v_covs, v_mask, _ = _anatomy()
    sigma = float(np.sqrt((resolution**2 - 1) / 12.0))
    if sigma > 0:
        t1 = ndimage.gaussian_filter(t1, sigma, mode="constant")
        gm = ndimage.gaussian_filter(gm, sigma, mode="constant")
    return Template(t1.astype(np.float32), gm.astype(np.float32), origin, i_gm, i_csf, centre, v_centres, v_covs,
                    v_mask)
