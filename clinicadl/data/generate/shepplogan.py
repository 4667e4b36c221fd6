"""``generate shepplogan``: Shepp-Logan-like phantoms in 2D or 3D, with three subtypes spread over AD and CN.

Each phantom is a sum of ellipses (ellipsoids in 3D) on a [-1, 1] field of view, after the modified Shepp-Logan
phantom (Shepp & Logan 1974, IEEE Trans. Nucl. Sci. 21:21-43; Toft 1996 for the modified intensities): a skull
(1.0), a brain (0.2), two dark tilted ventricles, and two regions of interest whose size defines the subtype, as in
ClinicaDL 1.x:

- subtype 0: the Top and Bottom regions are large (scaled by U(1.0, 1.2));
- subtype 1: Top large, Bottom atrophied (scaled by U(0.8, 0.9));
- subtype 2: Bottom large, Top atrophied.

The regions' intensity is U(0.4, 0.6), the brain outline and regions are jittered by a few pixels, and with
``smoothing`` a Gaussian blur of random width (sd U(0, 2) pixels at 128 pixels) is applied. Each diagnosis draws
its subtypes from its own distribution (default CN: (1, 0, 0), AD: (0.05, 0.85, 0.10)).

Output (upstream layout, ``custom`` preprocessing): ``subjects/<sub>/ses-M000/shepplogan/<sub>_ses-M000_
space-SheppLogan_phantom.nii.gz`` (a 2D phantom is stored as an N x N x 1 volume), ``data.tsv``
(``participant_id session_id diagnosis subtype age sex``; age and sex are dummies drawn independently of the
diagnosis so that ``tsvtools split`` works), ``missing_mods/`` and ``generate.json``. Participants are
``sub-CLNC0<i>`` (AD) and ``sub-CLNC1<i>`` (CN) as upstream. Upstream also writes the slice tensors
(``deeplearning_prepare_data/slice_based/custom/*.pt``) and a ``tensor_extraction`` JSON while its NIfTI files hold
the single character "0"; here the NIfTI files are real images and ``prepare-data`` makes the tensors
(:func:`extract_phantoms`, ``-ej``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinicadl.errors import InputError

SUFFIX = "space-SheppLogan_phantom.nii.gz"
DATA_COLUMNS = ("participant_id", "session_id", "diagnosis", "subtype", "age", "sex")
SESSION = "ses-M000"
DIAGNOSES = ("AD", "CN")  # label ids 0 and 1 in the participant names, as upstream


@dataclass(frozen=True)
class ShepploganResult:
    """What :func:`generate_shepplogan` made.

    Attributes
    ----------
    caps_directory, data_tsv, json_path : the CAPS, its ``data.tsv`` and ``generate.json``.
    image_paths : every phantom written, in data.tsv order.
    shape : shape of each NIfTI volume ((N, N, 1) in 2D, (N, N, N) in 3D).
    seed : the root seed.
    seconds : wall-clock time.
    """

    caps_directory: Path
    data_tsv: Path
    json_path: Path
    image_paths: tuple[Path, ...]
    shape: tuple[int, int, int]
    seed: int
    seconds: float


# (centre x, y, z), (semi-axes a, b, c), rotation about z (degrees), additive value. The two ROIs come last.
_SKULL = ((0.0, 0.0, 0.0), (0.69, 0.92, 0.81), 0.0, 1.0)
_BRAIN = ((0.0, -0.0184, 0.0), (0.6624, 0.874, 0.78), 0.0, -0.8)
_VENTRICLES = (((0.22, 0.0, 0.0), (0.11, 0.31, 0.22), -18.0, -0.2),
               ((-0.22, 0.0, 0.0), (0.16, 0.41, 0.28), 18.0, -0.2))
_TOP = ((0.0, 0.35, 0.0), (0.21, 0.25, 0.2))
_BOTTOM = ((0.0, -0.55, 0.0), (0.2, 0.13, 0.12))


def _ellipsoid(grid, centre, axes, angle_deg, dimension) -> np.ndarray:
    phi = math.radians(angle_deg)
    x, y = grid[0] - centre[0], grid[1] - centre[1]
    u = x * math.cos(phi) + y * math.sin(phi)
    v = -x * math.sin(phi) + y * math.cos(phi)
    inside = (u / axes[0]) ** 2 + (v / axes[1]) ** 2
    if dimension == 3:
        inside = inside + ((grid[2] - centre[2]) / axes[2]) ** 2
    return inside <= 1.0


def shepplogan_phantom(image_size: int, subtype: int, *, dimension: int = 2, smoothing: bool = False,
                       rng: np.random.Generator | int | None = None) -> np.ndarray:
    """One phantom of ``subtype`` (0, 1 or 2): an array of shape (N, N) or (N, N, N), values in about [0, 1].

    Examples
    --------
    >>> image = shepplogan_phantom(32, 1, rng=0)
    >>> image.shape, float(image.max()) <= 1.0
    ((32, 32), True)
    """
    if subtype not in (0, 1, 2):
        raise InputError(f"A Shepp-Logan subtype is 0, 1 or 2; got {subtype}.")
    rng = np.random.default_rng(rng)
    axis = (np.arange(image_size) + 0.5) / image_size * 2.0 - 1.0
    grid = np.meshgrid(*([axis] * dimension), indexing="ij")
    # array axis 0 is x (left-right), axis 1 is y (posterior-anterior); z = 0 in 2D
    grid = [grid[0], grid[1], grid[2] if dimension == 3 else np.zeros_like(grid[0])]
    pixel = 2.0 / image_size
    image = np.zeros(grid[0].shape, dtype=np.float64)
    image[_ellipsoid(grid, *_SKULL[:3], dimension)] += _SKULL[3]
    shift = rng.uniform(1.0, max(image_size / 32, 1.0)) * pixel  # brain outline jitter, as upstream
    centre = (_BRAIN[0][0], _BRAIN[0][1] + shift / 2, _BRAIN[0][2])
    brain_axes = tuple(a - shift for a in _BRAIN[1])
    image[_ellipsoid(grid, centre, brain_axes, 0.0, dimension)] += _BRAIN[3]
    for ventricle in _VENTRICLES:
        image[_ellipsoid(grid, *ventricle[:3], dimension)] += ventricle[3]
    intensity = rng.uniform(0.4, 0.6)
    sizes = {0: ("large", "large"), 1: ("large", "small"), 2: ("small", "large")}[subtype]
    for (roi_centre, roi_axes), size in zip((_TOP, _BOTTOM), sizes):
        low, high = (1.0, 1.2) if size == "large" else (0.8, 0.9)
        scales = rng.uniform(low, high, size=3)
        jitter = rng.uniform(-1.0, 1.0, size=3) * pixel
        roi = _ellipsoid(grid, tuple(np.add(roi_centre, jitter)), tuple(np.multiply(roi_axes, scales)), 0.0,
                         dimension)
        image[roi] = intensity
    if smoothing:
        from scipy import ndimage

        image = ndimage.gaussian_filter(image, rng.uniform(0.0, 2.0) * image_size / 128)
    return np.clip(image, 0.0, None).astype(np.float32)


@dataclass(frozen=True)
class _Task:
    participant_id: str
    diagnosis: str
    label_id: int
    index: int
    distribution: tuple[float, ...]
    image_size: int
    dimension: int
    smoothing: bool
    seed: int
    staging: str


def _make_phantom(task: _Task) -> dict:
    from clinicadl.data.generate._nifti import write_nifti

    rng = np.random.default_rng(np.random.SeedSequence(task.seed, spawn_key=(task.label_id, task.index)))
    subtype = int(rng.choice(3, p=task.distribution))
    age = round(float(rng.uniform(60.0, 85.0)), 1)
    sex = "M" if rng.random() < 0.5 else "F"
    image = shepplogan_phantom(task.image_size, subtype, dimension=task.dimension, smoothing=task.smoothing,
                               rng=rng)
    if task.dimension == 2:
        image = image[:, :, None]
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = -(np.array(image.shape) - 1) / 2.0
    write_nifti(Path(task.staging) / "subjects" / task.participant_id / SESSION / "shepplogan" /
                f"{task.participant_id}_{SESSION}_{SUFFIX}", image, affine)
    return {"participant_id": task.participant_id, "session_id": SESSION, "diagnosis": task.diagnosis,
            "subtype": subtype, "age": f"{age:.1f}", "sex": sex}


def _distribution(values, name) -> tuple[float, float, float]:
    values = tuple(float(v) for v in values)
    if len(values) != 3 or min(values) < 0 or not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise InputError(f"{name} must be three probabilities (subtypes 0, 1, 2) that sum to 1; got {values}.")
    total = sum(values)
    return tuple(v / total for v in values)


def generate_shepplogan(output: str | Path, *, n_subjects: int = 300, image_size: int = 128, dimension: int = 2,
                        cn_subtypes_distribution=(1.0, 0.0, 0.0), ad_subtypes_distribution=(0.05, 0.85, 0.10),
                        smoothing: bool = False, seed: int = 0, n_proc: int = 1,
                        progress: bool = False) -> ShepploganResult:
    """Write ``n_subjects`` AD and ``n_subjects`` CN Shepp-Logan phantoms as a CAPS (module docstring).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> caps = pathlib.Path(tempfile.mkdtemp()) / "caps"
    >>> result = generate_shepplogan(caps, n_subjects=2, image_size=16)
    >>> len(result.image_paths), result.shape
    (4, (16, 16, 1))
    """
    from clinicadl import __version__
    from clinicadl.data.generate._parallel import run_tasks
    from clinicadl.data.generate._staging import check_output, staged_caps, write_json, write_missing_mods, write_tsv

    start = time.perf_counter()
    if n_subjects < 1:
        raise InputError(f"n_subjects (per diagnosis) must be at least 1; got {n_subjects}.")
    if image_size < 8:
        raise InputError(f"image_size must be at least 8 pixels; got {image_size}.")
    if dimension not in (2, 3):
        raise InputError(f"dimension must be 2 or 3; got {dimension}.")
    distributions = {"AD": _distribution(ad_subtypes_distribution, "ad_subtypes_distribution"),
                     "CN": _distribution(cn_subtypes_distribution, "cn_subtypes_distribution")}
    output = check_output(output)
    with staged_caps(output) as staging:
        tasks = [_Task(f"sub-CLNC{label_id}{i:04d}", diagnosis, label_id, i, distributions[diagnosis], image_size,
                       dimension, bool(smoothing), int(seed), str(staging))
                 for label_id, diagnosis in enumerate(DIAGNOSES) for i in range(n_subjects)]
        rows = run_tasks(_make_phantom, tasks, n_proc=n_proc, progress=progress, desc="generate shepplogan")
        write_tsv(staging / "data.tsv", rows, DATA_COLUMNS)
        write_missing_mods(staging, rows)
        write_json(staging / "generate.json", {
            "generator": "shepplogan", "clinicadl_version": __version__, "seed": int(seed),
            "n_subjects": int(n_subjects), "image_size": int(image_size), "dimension": int(dimension),
            "labels_distribution": {k: list(v) for k, v in distributions.items()}, "smoothing": bool(smoothing),
            "preprocessing": "custom", "custom_suffix": f"_{SUFFIX}", "needed_pipeline": "shepplogan",
        })
    paths = tuple(output / "subjects" / row["participant_id"] / SESSION / "shepplogan" /
                  f"{row['participant_id']}_{SESSION}_{SUFFIX}" for row in rows)
    shape = (image_size, image_size, 1 if dimension == 2 else image_size)
    return ShepploganResult(output, output / "data.tsv", output / "generate.json", paths, shape, int(seed),
                            time.perf_counter() - start)


def extract_phantoms(caps_directory: str | Path, extract_json: str, *, dimension: int = 2, n_proc: int = 1) -> Path:
    """Extract the tensors of a Shepp-Logan CAPS, as upstream's ``generate shepplogan -ej`` does.

    2D phantoms give upstream's slices (axis 2, one channel, no discarded slice), 3D phantoms whole images; the
    extraction JSON (``custom`` preprocessing, suffix ``_space-SheppLogan_phantom.nii.gz``) is
    ``<caps>/tensor_extraction/<extract_json>``.

    Returns
    -------
    Path
        The extraction JSON.
    """
    from clinicadl.data.extraction import extraction_json_path, extraction_parameters, prepare_data

    if dimension == 2:
        parameters = extraction_parameters("slice", "custom", custom_suffix=f"_{SUFFIX}", slice_direction=2,
                                           slice_mode="single", discarded_slices=0, extract_json=extract_json)
    else:
        parameters = extraction_parameters("image", "custom", custom_suffix=f"_{SUFFIX}", extract_json=extract_json)
    prepare_data(caps_directory, parameters, n_proc=n_proc, progress=False)
    return extraction_json_path(caps_directory, parameters["extract_json"])
