"""``generate lesions``: T1 images with multiple-sclerosis-like white-matter lesions and their masks.

Each participant's image is the MNI152 2009 template on the cropped t1-linear grid (:mod:`._pathology`) with lesions:

1. Load. A target lesion load ``L ~ U(lesion_load)`` (mL) is drawn per participant; lesions are added one by one
   until the mask reaches it (at most ``max_lesions``). The measured load (the mask's volume) is written in
   ``data.tsv``; ``diagnosis`` is ``high_load`` when it exceeds ``load_threshold`` (default: the middle of the
   range), else ``low_load``: a classification label derived from the masks.
2. Shape and place. A lesion is an ellipsoid of random orientation with semi-axes ``~ U(radius_mm)``; its centre is
   a deep white-matter voxel (p_WM > 0.9), drawn with probability proportional to
   ``periventricular * exp(-d / periventricular_scale_mm) / Z1 + (1 - periventricular) / Z2`` (d: distance to the
   lateral ventricles), so that most lesions are periventricular, as in multiple sclerosis (Filippi et al. 2019).
   A lesion's profile is a logistic function of its normalised ellipsoidal radius (edge width ``edge_mm``), damped
   outside the white matter (times min(1, p_WM / 0.5)).
3. Contrast. The image is ``T1 * (1 - contrast * P)``, P being the voxel-wise maximum of the lesion profiles:
   ``contrast > 0`` gives T1-hypointense lesions ("black holes"), ``contrast < 0`` hyperintense ones
   (FLAIR-like). The mask is ``P >= 0.5`` (label 1).
4. Nuisance: the bias field and Rician noise of ``generate cohort``.

Every draw comes from ``SeedSequence(seed, spawn_key=(1, participant index, stream))``: results do not depend on
``n_proc``, and the same options give the same bytes.

References
----------
Filippi M. et al. (2019). Assessment of lesions on magnetic resonance imaging in multiple sclerosis: practical
guidelines. Brain 142(7), 1858-1875.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinicadl.data.generate._pathology import PathologyResult
from clinicadl.errors import InputError

__all__ = ["DATA_COLUMNS", "LesionModel", "generate_lesions"]

DATA_COLUMNS = ("participant_id", "session_id", "diagnosis", "age", "sex", "lesion_load", "n_lesions",
                "target_load")
LABELS = {1: "lesion"}


@dataclass(frozen=True)
class LesionModel:
    """Constants of the lesion model (module docstring); recorded in ``generate.json``."""

    radius_mm: tuple[float, float] = (2.0, 6.0)
    edge_mm: float = 1.0
    periventricular: float = 0.6
    periventricular_scale_mm: float = 10.0
    max_lesions: int = 200


@dataclass(frozen=True)
class _Task:
    index: int
    participant_id: str
    seed: int
    lesion_load: tuple[float, float]
    contrast: float
    load_threshold: float
    resolution: int
    staging: str
    model: LesionModel


def generate_lesions(output: str | Path, *, n_subjects: int = 20, lesion_load: tuple[float, float] = (2.0, 20.0),
                     contrast: float = 0.4, load_threshold: float | None = None, resolution: int = 2, seed: int = 0,
                     n_proc: int = 1, progress: bool = False, model: LesionModel = LesionModel()) -> PathologyResult:
    """Write a t1-linear CAPS of images with white-matter lesions and their masks.

    Parameters
    ----------
    output : the CAPS folder to create (must not exist, or be empty).
    n_subjects : number of participants (one session, ``ses-M000``, each).
    lesion_load : (MIN, MAX) of the target lesion volume per participant, in mL (uniform).
    contrast : relative intensity drop at a lesion's core, in [-1, 1] (negative: hyperintense lesions).
    load_threshold : load (mL) above which ``diagnosis`` is ``high_load``; default the middle of ``lesion_load``.
    resolution : voxel size in mm (2 gives 85 x 104 x 90 voxels; 8 gives 22 x 26 x 23 for tests).
    seed, n_proc, progress : root seed; worker processes (do not change the output); progress bar.
    model : constants of the lesion model.

    Returns
    -------
    PathologyResult

    Examples
    --------
    >>> import tempfile, pathlib
    >>> caps = pathlib.Path(tempfile.mkdtemp()) / "caps"
    >>> result = generate_lesions(caps, n_subjects=2, lesion_load=(5, 10), resolution=8, seed=0)
    >>> result.n_subjects, result.labels
    (2, {1: 'lesion'})
    """
    from clinicadl.data.generate._pathology import check_common, check_range, write_pathology_caps

    start = time.perf_counter()
    check_common(n_subjects, resolution, n_proc)
    load = check_range("lesion_load", lesion_load, 0.0)
    if not (math.isfinite(contrast) and -1.0 <= contrast <= 1.0):
        raise InputError(f"contrast must lie in [-1, 1] (relative intensity drop in a lesion); got {contrast}.")
    threshold = (load[0] + load[1]) / 2 if load_threshold is None else float(load_threshold)
    if not math.isfinite(threshold) or threshold < 0:
        raise InputError(f"load_threshold must be a lesion volume >= 0 in mL; got {load_threshold}.")
    resolution = int(resolution)
    return write_pathology_caps(
        output, generator="lesions", prefix="L", n_subjects=n_subjects, resolution=resolution, seed=seed,
        n_proc=n_proc, progress=progress, labels=LABELS, columns=DATA_COLUMNS, worker=_make_participant,
        make_task=lambda i, p, staging: _Task(i, p, int(seed), load, float(contrast), threshold, resolution, staging,
                                              model),
        record=lambda rows: {"lesion_load": list(load), "contrast": float(contrast), "load_threshold": threshold,
                             "resolution": resolution,
                             "n_high_load": sum(row["diagnosis"] == "high_load" for row in rows)},
        model=model, start=start)


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))


def lesion_profile(points_mm: np.ndarray, centre: np.ndarray, radii: np.ndarray, rotation: np.ndarray,
                   edge_mm: float) -> np.ndarray:
    """Logistic profile of an ellipsoid at ``points_mm`` (..., 3): 1 inside, 0.5 on the surface, 0 far out."""
    local = (points_mm - centre) @ rotation
    q = np.sqrt(np.sum((local / radii) ** 2, axis=-1))
    scale = float(np.mean(radii)) / max(edge_mm, 1e-6)
    return (1.0 / (1.0 + np.exp(np.clip((q - 1.0) * 4.0 * scale, -50, 50)))).astype(np.float32)


def _make_participant(task: _Task) -> dict:
    from clinicadl.data.generate._pathology import add_nuisance, demographics, grid_anatomy, stream, write_case

    anatomy = grid_anatomy(task.resolution)
    model = task.model
    draw = stream(task.seed, 1, task.index, 0)
    age, sex = demographics(draw)
    target = float(draw.uniform(*task.lesion_load))
    voxel_ml = task.resolution**3 / 1000.0
    axes = anatomy.axes
    deep = np.argwhere(anatomy.wm > 0.9)
    distance = anatomy.ventricle_distance[tuple(deep.T)]
    near = np.exp(-distance / model.periventricular_scale_mm)
    weights = model.periventricular * near / near.sum() + (1 - model.periventricular) / len(deep)
    weights = weights / weights.sum()
    damping = np.minimum(1.0, anatomy.wm / 0.5)
    presence = np.zeros(anatomy.t1.shape, dtype=np.float32)
    n_lesions = 0
    shape_draw = stream(task.seed, 1, task.index, 1)
    while (presence >= 0.5).sum() * voxel_ml < target and n_lesions < model.max_lesions:
        centre_index = deep[shape_draw.choice(len(deep), p=weights)]
        centre = np.array([axes[c][centre_index[c]] for c in range(3)])
        radii = shape_draw.uniform(*model.radius_mm, size=3)
        rotation = _rotation(shape_draw)
        reach = float(radii.max()) + 3 * model.edge_mm + task.resolution
        box = tuple(slice(int(np.searchsorted(axes[c], centre[c] - reach)),
                          int(np.searchsorted(axes[c], centre[c] + reach, side="right"))) for c in range(3))
        points = np.stack(np.meshgrid(*[axes[c][box[c]] for c in range(3)], indexing="ij"), axis=-1)
        profile = lesion_profile(points, centre, radii, rotation, model.edge_mm) * damping[box]
        np.maximum(presence[box], profile, out=presence[box])
        n_lesions += 1
    mask = (presence >= 0.5).astype(np.uint8)
    image = anatomy.t1 * (1.0 - np.float32(task.contrast) * presence)
    image = add_nuisance(image, anatomy, stream(task.seed, 1, task.index, 2))
    write_case(Path(task.staging), task.participant_id, task.resolution, image, mask, anatomy.affine)
    load = float(mask.sum() * voxel_ml)
    return {"participant_id": task.participant_id, "session_id": "ses-M000",
            "diagnosis": "high_load" if load > task.load_threshold else "low_load", "age": age, "sex": sex,
            "lesion_load": load, "n_lesions": n_lesions, "target_load": target}
