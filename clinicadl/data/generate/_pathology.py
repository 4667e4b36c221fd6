"""What ``generate lesions`` and ``generate tumour`` share: the template on the output grid, nuisance, writing.

Both write a t1-linear CAPS (``subjects/<sub>/ses-M000/t1_linear/<sub>_ses-M000_space-MNI152NLin2009cSym_desc-Crop_
res-<r>x<r>x<r>_T1w.nii.gz``) with, next to each image, its mask ``..._res-<r>x<r>x<r>_dseg.nii.gz`` (uint8 label
map on the image's grid, BIDS's ``dseg`` suffix for a discrete segmentation; found by ``train segmentation``'s
default ``--mask_pattern *_dseg.nii.gz``), plus ``data.tsv``, ``missing_mods/`` and ``generate.json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from clinicadl.errors import InputError

IMAGE_SUFFIX = "space-MNI152NLin2009cSym_desc-Crop_res-{r}x{r}x{r}_T1w.nii.gz"
MASK_SUFFIX = "space-MNI152NLin2009cSym_desc-Crop_res-{r}x{r}x{r}_dseg.nii.gz"
SESSION = "ses-M000"

BIAS_RMS, BIAS_ORDER, NOISE_SD = 0.03, 3, 0.03  # as generate cohort's defaults
TEMPLATE = "MNI ICBM152 2009a nonlinear symmetric (nilearn), cropped to Clinica's t1-linear box"


@dataclass(frozen=True)
class PathologyResult:
    """What a lesion or tumour generator made.

    Attributes
    ----------
    caps_directory : the CAPS folder.
    data_tsv : ``<caps>/data.tsv`` (participant_id session_id diagnosis age sex + the generator's columns).
    json_path : ``<caps>/generate.json`` (options, seed, labels of the masks, package version).
    image_paths, mask_paths : the images and their masks, in data.tsv order.
    n_subjects : number of participants (one session each).
    labels : mask value -> structure name.
    seed : the root seed.
    seconds : wall-clock time.
    """

    caps_directory: Path
    data_tsv: Path
    json_path: Path
    image_paths: tuple[Path, ...]
    mask_paths: tuple[Path, ...]
    n_subjects: int
    labels: dict[int, str]
    seed: int
    seconds: float


@dataclass(frozen=True)
class GridAnatomy:
    """The template resampled on the output grid (float32 arrays of the grid's shape).

    Attributes
    ----------
    t1 : T1 intensity (template scale, 0-255).
    wm, gm : tissue probabilities in [0, 1].
    ventricle_distance : distance (mm) to the lateral ventricles.
    axes : world coordinates (mm) of the voxel centres along each axis.
    affine : the grid's affine.
    intensity_gm : median grey-matter T1 (noise scale).
    """

    t1: np.ndarray
    wm: np.ndarray
    gm: np.ndarray
    ventricle_distance: np.ndarray
    axes: tuple[np.ndarray, np.ndarray, np.ndarray]
    affine: np.ndarray
    intensity_gm: float


def stream(seed: int, *key: int) -> np.random.Generator:
    """The random stream of ``key`` under the root ``seed``: streams of different keys are independent."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def check_common(n_subjects: int, resolution: int, n_proc: int) -> None:
    if isinstance(n_subjects, bool) or int(n_subjects) != n_subjects or n_subjects < 2:
        raise InputError(f"n_subjects must be an integer >= 2; got {n_subjects}.")
    if int(resolution) != resolution or not 1 <= resolution <= 8:
        raise InputError(f"resolution must be an integer number of mm between 1 and 8; got {resolution}.")
    if n_proc < 1:
        raise InputError(f"n_proc must be at least 1; got {n_proc}.")


def check_range(name: str, values, low: float, high: float | None = None) -> tuple[float, float]:
    """A (MIN, MAX) option: finite, MIN <= MAX, within [low, high]."""
    a, b = (float(values), float(values)) if np.ndim(values) == 0 else (float(values[0]), float(values[1]))
    if not (np.isfinite(a) and np.isfinite(b) and low <= a <= b and (high is None or b <= high)):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise InputError(f"{name} must be MIN MAX with MIN <= MAX, both {bound}; got {values}.")
    return a, b


@lru_cache(maxsize=2)
def grid_anatomy(resolution: int) -> GridAnatomy:
    """The template's T1, tissue maps and ventricle distance sampled on the cropped grid at ``resolution`` mm."""
    from scipy import ndimage

    from clinicadl.data.generate._template import _anatomy, grid_axes_mm, load_template, output_grid

    template = load_template(resolution)
    wm_1mm = _anatomy()[-1]
    _, affine = output_grid(resolution)
    axes = grid_axes_mm(resolution)
    grids = np.meshgrid(*[axes[c] - template.origin[c] for c in range(3)], indexing="ij")
    coordinates = np.stack(grids).astype(np.float32)
    sigma = float(np.sqrt((resolution**2 - 1) / 12.0))
    wm_src = ndimage.gaussian_filter(wm_1mm, sigma, mode="constant") if sigma > 0 else wm_1mm

    def sample(volume: np.ndarray) -> np.ndarray:
        return ndimage.map_coordinates(volume, coordinates, order=1, mode="constant", cval=0.0,
                                       prefilter=False).astype(np.float32)

    ventricles = sample(template.ventricle_mask.astype(np.float32)) > 0.5
    distance = ndimage.distance_transform_edt(~ventricles, sampling=[float(resolution)] * 3).astype(np.float32)
    return GridAnatomy(sample(template.t1), np.clip(sample(wm_src), 0, 1), np.clip(sample(template.gm), 0, 1),
                       distance, axes, affine, float(template.intensity_gm))


def add_nuisance(image: np.ndarray, anatomy: GridAnatomy, rng: np.random.Generator) -> np.ndarray:
    """A smooth multiplicative bias field and Rician noise, as ``generate cohort`` does."""
    from clinicadl.data.generate._fields import smooth_field

    bias = smooth_field(anatomy.axes, order=BIAS_ORDER, rms=BIAS_RMS, rng=rng)
    image = image * np.exp(bias).astype(np.float32)
    sigma = np.float32(NOISE_SD * anatomy.intensity_gm)
    real = image + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    imaginary = sigma * rng.standard_normal(image.shape, dtype=np.float32)
    return np.sqrt(real * real + imaginary * imaginary)


def write_case(staging: Path, participant_id: str, resolution: int, image: np.ndarray, mask: np.ndarray,
               affine: np.ndarray) -> None:
    """Write one participant's image (float32) and mask (uint8) into the staged CAPS."""
    from clinicadl.data.generate._nifti import write_nifti

    folder = staging / "subjects" / participant_id / SESSION / "t1_linear"
    prefix = f"{participant_id}_{SESSION}_"
    write_nifti(folder / (prefix + IMAGE_SUFFIX.format(r=resolution)), image, affine)
    write_nifti(folder / (prefix + MASK_SUFFIX.format(r=resolution)), mask, affine, dtype=np.uint8)


def case_paths(caps: Path, participants: list[str], resolution: int) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    folder = [caps / "subjects" / p / SESSION / "t1_linear" for p in participants]
    images = tuple(f / f"{p}_{SESSION}_{IMAGE_SUFFIX.format(r=resolution)}" for f, p in zip(folder, participants))
    masks = tuple(f / f"{p}_{SESSION}_{MASK_SUFFIX.format(r=resolution)}" for f, p in zip(folder, participants))
    return images, masks


def demographics(rng: np.random.Generator) -> tuple[str, str]:
    """Age (U(20, 60), one decimal, as text) and sex (M/F with probability 1/2), independent of the pathology."""
    age = f"{float(rng.uniform(20.0, 60.0)):.1f}"
    return age, ("M" if rng.random() < 0.5 else "F")


def write_pathology_caps(output: str | Path, *, generator: str, prefix: str, n_subjects: int, resolution: int,
                         seed: int, n_proc: int, progress: bool, labels: Mapping[int, str], columns: Sequence[str],
                         make_task: Callable[[int, str, str], Any], worker: Callable[[Any], dict],
                         record: Callable[[list[dict]], dict], model: Any, start: float) -> PathologyResult:
    """Stage the CAPS, make every participant (``worker(make_task(index, participant_id, staging))``, in
    ``n_proc`` processes), write ``data.tsv``, ``missing_mods/`` and ``generate.json`` (common keys, then
    ``record(rows)``, then the labels, template and ``model``), and move the CAPS into place."""
    from clinicadl import __version__
    from clinicadl.data.generate._parallel import run_tasks
    from clinicadl.data.generate._staging import check_output, staged_caps, write_json, write_missing_mods, write_tsv
    from clinicadl.data.generate._template import template_folder

    output = check_output(output)
    template_folder()
    width = max(3, len(str(n_subjects)))
    participants = [f"sub-{prefix}{i + 1:0{width}d}" for i in range(n_subjects)]
    with staged_caps(output) as staging:
        tasks = [make_task(i, p, str(staging)) for i, p in enumerate(participants)]
        rows = run_tasks(worker, tasks, n_proc=n_proc, progress=progress, desc=f"generate {generator}")
        write_tsv(staging / "data.tsv", rows, columns)
        write_missing_mods(staging, rows)
        write_json(staging / "generate.json", {
            "generator": generator, "clinicadl_version": __version__, "seed": int(seed),
            "n_subjects": int(n_subjects), **record(rows),
            "labels": {str(k): v for k, v in labels.items()}, "mask_pattern": "*_dseg.nii.gz",
            "template": TEMPLATE, "model": asdict(model),
        })
    images, masks = case_paths(output, participants, resolution)
    return PathologyResult(output, output / "data.tsv", output / "generate.json", images, masks, n_subjects,
                           dict(labels), int(seed), time.perf_counter() - start)
