"""``generate hypometabolic``: PET images with the hypometabolism of a dementia (ClinicaDL 1.x ``generate
hypometabolic``).

Each of the first ``n_subjects`` baseline pet-linear images of the input CAPS is multiplied by a smooth factor: 1 away
from the pathology's regions, ``1 - anomaly_degree / 100`` inside them, the step blurred by a Gaussian of ``sigma``
voxels (upstream's mask processing). Upstream downloads one mask per pathology; nothing is downloaded here: the regions
of each pattern are the grey matter (MNI152 template probability >= 0.3, bundled with nilearn) inside spheres placed on
the areas that FDG-PET shows hypometabolic in that dementia (:data:`PATTERNS`). ``mask_path`` replaces them with a
local mask (a NIfTI in the images' space, resampled to each image by nearest neighbour; non-zero voxels are the
pathology), e.g. one of upstream's ``mask_hypo_<pathology>.nii``.

Participants keep their ids; files are named as upstream's: ``<input name without its final 'pet'>pat-<pathology>_
deg-<degree>_pet.nii.gz`` (read them with ``prepare-data ... custom --custom_suffix "*_pat-ad_deg-30_pet.nii.gz"``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from clinicadl.data.generate.random_caps import FromCapsResult
from clinicadl.errors import ClinicaDLError, InputError

_BILATERAL = 1
PATTERNS: dict[str, tuple[tuple[tuple[float, float, float], float, int], ...]] = {
    # (centre in MNI mm, radius in mm, mirrored to the right hemisphere?) -- typical FDG-PET patterns
    "ad": (((-45.0, -60.0, 40.0), 14.0, _BILATERAL), ((-5.0, -55.0, 30.0), 12.0, _BILATERAL),
           ((-55.0, -30.0, -10.0), 12.0, _BILATERAL), ((-25.0, -20.0, -20.0), 8.0, _BILATERAL)),
    "bvftd": (((-10.0, 50.0, 15.0), 14.0, _BILATERAL), ((-20.0, 40.0, -15.0), 12.0, _BILATERAL),
              ((-5.0, 30.0, 25.0), 10.0, _BILATERAL), ((-35.0, 15.0, 0.0), 10.0, _BILATERAL),
              ((-40.0, 10.0, -30.0), 10.0, _BILATERAL)),
    "lvppa": (((-50.0, -50.0, 20.0), 15.0, 0), ((-55.0, -40.0, -5.0), 12.0, 0), ((-45.0, -60.0, 40.0), 12.0, 0)),
    "nfvppa": (((-48.0, 20.0, 10.0), 14.0, 0), ((-36.0, 10.0, 0.0), 10.0, 0), ((-40.0, 5.0, 45.0), 12.0, 0)),
    "pca": (((-25.0, -90.0, 5.0), 15.0, _BILATERAL), ((-25.0, -65.0, 50.0), 14.0, _BILATERAL),
            ((-40.0, -70.0, -10.0), 12.0, _BILATERAL)),
    "svppa": (((-40.0, 10.0, -30.0), 14.0, 0), ((-50.0, -10.0, -30.0), 12.0, 0), ((40.0, 10.0, -30.0), 8.0, 0)),
}
"""Spheres of the hypometabolic areas of each pathology (upstream's names: ad, bvftd, lvppa, nfvppa, pca, svppa)."""
PATHOLOGIES = tuple(PATTERNS)
GREY_MATTER_THRESHOLD = 0.3


def pathology_mask(shape: tuple[int, ...], affine: np.ndarray, pathology: str) -> np.ndarray:
    """Boolean mask of ``pathology``'s regions on an MNI-space grid (``shape``, ``affine``)."""
    from scipy import ndimage

    from clinicadl.data.generate._template import _anatomy

    gm, origin = _anatomy()[1], _anatomy()[2]
    index = np.indices(shape, dtype=np.float64).reshape(3, -1)
    world = affine[:3, :3] @ index + affine[:3, 3:4]
    grey = ndimage.map_coordinates(gm, world - origin[:, None], order=1, mode="constant", cval=0.0, prefilter=False)
    inside = np.zeros(world.shape[1], dtype=bool)
    for centre, radius, bilateral in PATTERNS[pathology]:
        centres = [np.array(centre)] + ([np.array(centre) * (-1.0, 1.0, 1.0)] if bilateral else [])
        for point in centres:
            inside |= ((world - point[:, None]) ** 2).sum(axis=0) <= radius**2
    return (inside & (grey >= GREY_MATTER_THRESHOLD)).reshape(shape)


@lru_cache(maxsize=4)
def hypometabolism_factor(shape: tuple[int, ...], affine_bytes: bytes, pathology: str, anomaly_degree: float,
                          sigma: float, mask_path: str | None) -> np.ndarray:
    """The factor an image is multiplied by: ``1 - degree/100`` in the mask, 1 elsewhere, blurred by ``sigma``."""
    from scipy import ndimage

    from clinicadl.data.generate._nifti import mask_on_grid

    affine = np.frombuffer(affine_bytes, dtype=np.float64).reshape(4, 4)
    mask = mask_on_grid(mask_path, shape, affine) if mask_path else pathology_mask(shape, affine, pathology)
    factor = np.where(mask, 1.0 - anomaly_degree / 100.0, 1.0)
    return ndimage.gaussian_filter(factor, sigma=sigma).astype(np.float32) if sigma > 0 else factor.astype(np.float32)


def output_name(source: Path, pathology: str, anomaly_degree: float) -> str:
    """Upstream's file name: ``<name without .nii[.gz] and its final 'pet'>pat-<p>_deg-<int degree>_pet.nii.gz``."""
    stem = source.name[: -len(".gz")] if source.name.endswith(".gz") else source.name
    stem = stem[: -len(".nii")] if stem.endswith(".nii") else stem
    stem = stem[: -len("pet")] if stem.endswith("pet") else stem
    return f"{stem}pat-{pathology}_deg-{int(anomaly_degree)}_pet.nii.gz"


@dataclass(frozen=True)
class _Task:
    source: Path
    target: Path
    pathology: str
    anomaly_degree: float
    sigma: float
    mask_path: str | None


def _make_image(task: _Task) -> None:
    import nibabel as nib

    from clinicadl.data.generate._nifti import write_nifti

    image = nib.load(task.source)
    data = np.asarray(image.dataobj, dtype=np.float32)
    if data.ndim != 3:
        raise InputError(f"{task.source} has {data.ndim} dimensions; generate hypometabolic reads 3D PET images.")
    factor = hypometabolism_factor(data.shape, np.asarray(image.affine, dtype=np.float64).tobytes(), task.pathology,
                                   task.anomaly_degree, task.sigma, task.mask_path)
    write_nifti(task.target, data * factor, image.affine)


def _check(pathology: str, anomaly_degree: float, sigma: float, mask_path: str | None) -> None:
    if pathology not in PATTERNS:
        raise InputError(f"pathology {pathology!r} is unknown; choose one of {', '.join(PATHOLOGIES)}.")
    if not 0.0 <= anomaly_degree <= 100.0:
        raise InputError(f"anomaly_degree is a percentage in [0, 100]; got {anomaly_degree}.")
    if not sigma >= 0:
        raise InputError(f"sigma must be >= 0 (voxels); got {sigma}.")
    if mask_path is not None and not Path(mask_path).is_file():
        raise InputError(f"The mask {mask_path} does not exist; give a NIfTI file (non-zero voxels: the pathology).")
    if mask_path is None:
        from clinicadl.data.generate import _template

        try:  # before any work: the pathology masks are built from nilearn's MNI152 template
            _template.template_folder()
        except ClinicaDLError as error:
            raise ClinicaDLError(f"{error} Or give --mask_path MASK, a local mask of the {pathology} pathology (e.g. "
                                 f"upstream's mask_hypo_{pathology}.nii).") from None


def generate_hypometabolic(caps_directory: str | Path, output: str | Path, *, n_subjects: int = 300,
                           pathology: str = "ad", anomaly_degree: float = 30.0, sigma: float = 5.0,
                           participants_tsv: str | Path | None = None, use_uncropped_image: bool = False,
                           tracer: str = "18FFDG", suvr_reference_region: str = "cerebellumPons2",
                           mask_path: str | Path | None = None, n_proc: int = 1, seed: int = 0,
                           progress: bool = False) -> FromCapsResult:
    """Write the first ``n_subjects`` baseline PET images of ``caps_directory`` with a hypometabolism (module
    docstring). ``seed`` is recorded only: the transformation is deterministic."""
    from clinicadl import __version__
    from clinicadl.data.generate._input_caps import input_images
    from clinicadl.data.generate._parallel import run_tasks
    from clinicadl.data.generate._staging import check_output, staged_caps, write_json, write_missing_mods, write_tsv

    start = time.perf_counter()
    mask = str(mask_path) if mask_path is not None else None
    _check(pathology, anomaly_degree, sigma, mask)
    output = check_output(output)
    sources = input_images(caps_directory, participants_tsv=participants_tsv, use_uncropped_image=use_uncropped_image,
                           baseline_only=True, preprocessing="pet-linear", tracer=tracer,
                           suvr_reference_region=suvr_reference_region)
    if not 1 <= n_subjects <= len(sources):
        raise InputError(f"n_subjects must lie between 1 and the {len(sources)} baseline PET images of "
                         f"{caps_directory}; got {n_subjects}. Give --n_subjects {len(sources)} or fewer.")
    rows, paths = [], []
    with staged_caps(output) as staging:
        tasks = []
        for source in sources[:n_subjects]:
            relative = Path("subjects") / source.participant_id / source.session_id / source.path.parent.name / \
                output_name(source.path, pathology, anomaly_degree)
            tasks.append(_Task(source.path, staging / relative, pathology, float(anomaly_degree), float(sigma), mask))
            paths.append(output / relative)
            rows.append({"participant_id": source.participant_id, "session_id": source.session_id,
                         "pathology": pathology, "percentage": float(anomaly_degree), "diagnosis": pathology,
                         "age": source.age, "sex": source.sex})
        run_tasks(_make_image, tasks, n_proc=n_proc, progress=progress, desc="hypometabolic")
        write_tsv(staging / "data.tsv", rows, list(rows[0]))
        write_missing_mods(staging, rows)
        write_json(staging / "generate.json", {
            "generator": "hypometabolic", "clinicadl_version": __version__, "seed": int(seed),
            "n_subjects": int(n_subjects), "pathology": pathology, "anomaly_degree": float(anomaly_degree),
            "sigma": float(sigma), "mask": mask or f"MNI152 grey matter in the {pathology} spheres (PATTERNS)",
            "use_uncropped_image": bool(use_uncropped_image), "preprocessing": "pet-linear", "tracer": tracer,
            "suvr_reference_region": suvr_reference_region,
        })
    return FromCapsResult(output, output / "data.tsv", output / "generate.json", tuple(paths), int(seed),
                          time.perf_counter() - start)
