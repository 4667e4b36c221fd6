"""An offline ``t1-linear``: the T1w images of a BIDS folder affinely registered to MNI space, written as a CAPS.

What Clinica's ``t1-linear`` pipeline does (Clinica documentation, "T1 Linear"; Routier et al. 2021), and what we do:

1. Bias-field correction with ANTs' N4 (Tustison et al. 2010). **Not done here**: the intensities are the raw ones.
2. Affine registration of the T1w to the MNI152NLin2009cSym template (``antsRegistrationSyNQuick.sh -t a``). Here:
   :func:`clinicadl.data.registration.register_affine` (normalised cross-correlation, 8/4/2 mm pyramid) to the
   template that nilearn ships, ``mni_icbm152_t1_tal_nlin_sym_09a`` (ICBM 2009a nonlinear *symmetric*, skull
   stripped, 197 x 233 x 189 at 1 mm). Clinica's template is ICBM 2009c nonlinear symmetric with its skull; both are
   symmetric MNI152 averages in the same world coordinates, but the 2009a and 2009c versions differ slightly in
   contrast and sharpness, so the registrations are close to, not identical with, Clinica's.
3. Resampling (trilinear) to Clinica's 1 mm template grid: 193 x 229 x 193 voxels, first voxel centre
   (-96, -132, -78) mm, written as ``<sub>_<ses>_space-MNI152NLin2009cSym_res-1x1x1_T1w.nii.gz``.
4. Cropping to voxels [12:181, 13:221, 0:179] of that grid (169 x 208 x 179), written as
   ``<sub>_<ses>_space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_T1w.nii.gz``.
5. The transform, as ANTs writes it (ITK MATLAB v4 file, LPS coordinates, template point -> T1w point):
   ``<sub>_<ses>_space-MNI152NLin2009cSym_res-1x1x1_affine.mat``.

Every file goes to ``<caps>/subjects/<sub>/<ses>/t1_linear/`` and is written atomically; a session whose three files
exist is skipped, so an interrupted run resumes.

References
----------
Routier A. et al. (2021). Clinica: an open-source software platform for reproducible clinical neuroscience studies.
Front. Neuroinform. 15:689675.
Tustison N.J. et al. (2010). N4ITK: improved N3 bias correction. IEEE Trans. Med. Imaging 29(6):1310-1320.
Fonov V. et al. (2011). Unbiased average age-appropriate atlases for pediatric studies. NeuroImage 54(1):313-327.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinicadl.errors import InputError

__all__ = [
    "REGISTRATION_RESOLUTIONS",
    "BIDSImage",
    "T1LinearResult",
    "clinica_grid",
    "find_bids_t1w",
    "itk_affine_parameters",
    "t1_linear",
    "t1_linear_names",
]

PIPELINE_FOLDER = "t1_linear"
SPACE = "space-MNI152NLin2009cSym"
CLINICA_SHAPE = (193, 229, 193)
CLINICA_ORIGIN_MM = (-96.0, -132.0, -78.0)
CROP = (slice(12, 181), slice(13, 221), slice(0, 179))
REGISTRATION_RESOLUTIONS = (1, 2, 4, 8)
"""Finest voxel sizes (mm) of the registration pyramid that ``--registration_resolution`` takes."""
_PYRAMID = (8.0, 4.0, 2.0, 1.0)


@dataclass(frozen=True)
class BIDSImage:
    """One T1w image of a BIDS folder."""

    participant_id: str
    session_id: str
    path: Path


@dataclass(frozen=True)
class T1LinearResult:
    """What :func:`t1_linear` did: images registered, sessions skipped (already done), lowest similarity (NCC)."""

    n_registered: int
    n_skipped: int
    min_similarity: float


def clinica_grid() -> tuple[tuple[int, int, int], np.ndarray]:
    """Shape and affine of Clinica's uncropped t1-linear grid (MNI152NLin2009cSym at 1 mm)."""
    affine = np.eye(4)
    affine[:3, 3] = CLINICA_ORIGIN_MM
    return CLINICA_SHAPE, affine


def t1_linear_names(participant_id: str, session_id: str) -> dict[str, str]:
    """The CAPS file names of one session: ``image``, ``crop`` and ``affine``.

    Examples
    --------
    >>> t1_linear_names("sub-01", "ses-M000")["crop"]
    'sub-01_ses-M000_space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_T1w.nii.gz'
    """
    prefix = f"{participant_id}_{session_id}_{SPACE}"
    return {"image": f"{prefix}_res-1x1x1_T1w.nii.gz", "crop": f"{prefix}_desc-Crop_res-1x1x1_T1w.nii.gz",
            "affine": f"{prefix}_res-1x1x1_affine.mat"}


_T1W = re.compile(r"^(sub-[A-Za-z0-9]+)_(ses-[A-Za-z0-9]+)_.*T1w\.nii(\.gz)?$|^(sub-[A-Za-z0-9]+)_(ses-[A-Za-z0-9]+)"
                  r"_T1w\.nii(\.gz)?$")


def find_bids_t1w(bids_directory: str | Path, subjects_sessions_tsv: str | Path | None = None) -> list[BIDSImage]:
    """The T1w image of each session of a BIDS folder (``sub-*/ses-*/anat/*_T1w.nii[.gz]``), sorted.

    With several runs or acquisitions of a session, the first file name in sorted order is taken. With
    ``subjects_sessions_tsv``, only its sessions, each of which must have an image.

    Raises
    ------
    InputError
        The folder is not a BIDS folder, a session has no sessions folder level, or a listed session has no T1w.
    """
    bids = Path(bids_directory)
    if not bids.is_dir():
        raise InputError(f"BIDS directory {bids} does not exist.")
    found: dict[tuple[str, str], Path] = {}
    for path in sorted(bids.glob("sub-*/ses-*/anat/*T1w.nii*")):
        match = _T1W.match(path.name)
        if match and path.parts[-4] == (match.group(1) or match.group(4)):
            found.setdefault((path.parts[-4], path.parts[-3]), path)
    if not found:
        flat = sorted(bids.glob("sub-*/anat/*T1w.nii*"))
        hint = (f" ({flat[0]} has no session level: put it in sub-<label>/ses-<label>/anat/, e.g. ses-M000, as "
                "Clinica expects)" if flat else "")
        raise InputError(f"No T1w image found in {bids} (expected sub-<label>/ses-<label>/anat/"
                         f"sub-<label>_ses-<label>_T1w.nii.gz){hint}. Give the root of a BIDS folder.")
    if subjects_sessions_tsv is None:
        keys = sorted(found)
    else:
        from clinicadl.data.caps import read_sessions_tsv

        table = read_sessions_tsv(subjects_sessions_tsv)
        keys = list(dict.fromkeys(zip(table["participant_id"], table["session_id"])))
        missing = [f"{p}/{s}" for p, s in keys if (p, s) not in found]
        if missing:
            raise InputError(f"{subjects_sessions_tsv} lists session(s) without a T1w image in {bids}: "
                             f"{', '.join(missing[:5])}; remove them from the TSV.")
    return [BIDSImage(p, s, found[(p, s)]) for p, s in keys]


def itk_affine_parameters(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """The variables of an ITK ``AffineTransform_double_3_3`` MATLAB file for a RAS world map ``matrix``.

    ITK works in LPS coordinates: the map is conjugated by diag(-1, -1, 1); parameters are the 3 x 3 matrix (row
    by row) then the translation, with the centre ``fixed`` at the origin.

    Examples
    --------
    >>> shift = np.eye(4); shift[:3, 3] = [1.0, 2.0, 3.0]
    >>> itk_affine_parameters(shift)["AffineTransform_double_3_3"].ravel()[9:].tolist()
    [-1.0, -2.0, 3.0]
    """
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    lps = flip @ np.asarray(matrix, dtype=np.float64) @ flip
    parameters = np.concatenate([lps[:3, :3].ravel(), lps[:3, 3]])
    return {"AffineTransform_double_3_3": parameters.reshape(-1, 1), "fixed": np.zeros((3, 1))}


def _load_template(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The registration target: ``path`` (a T1 template in MNI space), else nilearn's bundled MNI152 template."""
    import nibabel as nib

    from clinicadl.data.generate._template import TEMPLATE_FILES, template_folder

    if path is not None:
        return _load_t1w(Path(path), what="template")
    image = nib.load(template_folder() / TEMPLATE_FILES["t1"])
    return np.asarray(image.dataobj, dtype=np.float32), image.affine


def _load_t1w(path: Path, *, what: str = "image") -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    fix = "give a 3D NIfTI template (--template)" if what == "template" else "replace or remove this file"
    try:
        image = nib.load(path)
        data = np.asarray(image.dataobj, dtype=np.float32)
    except Exception as error:  # nibabel raises many types for a damaged file
        raise InputError(f"Cannot read the {what} {path} as a NIfTI image ({error}); {fix}.") from None
    data = np.squeeze(data)
    if data.ndim != 3 or not np.isfinite(data).all() or np.ptp(data) == 0:
        raise InputError(f"The {what} {path} is not a finite, non-constant 3D image (shape {data.shape}); {fix}.")
    return data, image.affine


def _check_header(path: Path) -> None:
    """Refuse a file that is not a 3D NIfTI image from its header alone (the voxels are read when registering)."""
    import nibabel as nib

    try:
        shape = nib.load(path).shape
    except Exception as error:  # nibabel raises many types for a damaged file
        raise InputError(f"Cannot read {path} as a NIfTI image ({error}); replace or remove this file.") from None
    if len([n for n in shape if n > 1]) != 3:
        raise InputError(f"{path} is not a 3D image (shape {shape}); replace or remove this file.")


def _register_one(task: tuple) -> float:
    """Register one image and write its three CAPS files (the worker of :func:`t1_linear`); returns the NCC."""
    import scipy.io

    from clinicadl.atomic import atomic_write_bytes
    from clinicadl.data.generate._nifti import write_nifti
    from clinicadl.data.registration import register_affine, resample_affine

    image, folder, resolution, template_path = task
    moving, moving_affine = _load_t1w(image.path)
    template, template_affine = _load_template(template_path)
    levels = tuple(level for level in _PYRAMID if level >= resolution)
    result = register_affine(moving, moving_affine, template, template_affine, levels=levels)
    shape, affine = clinica_grid()
    registered = resample_affine(moving, moving_affine, result.matrix, shape, affine)
    names = t1_linear_names(image.participant_id, image.session_id)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, itk_affine_parameters(result.matrix), format="4")
    atomic_write_bytes(folder / names["affine"], buffer.getvalue())
    write_nifti(folder / names["image"], registered, affine)
    crop_affine = affine.copy()
    crop_affine[:3, 3] += [CROP[axis].start for axis in range(3)]
    write_nifti(folder / names["crop"], registered[CROP], crop_affine)  # written last: marks the session done
    return result.similarity


def t1_linear(bids_directory: str | Path, caps_directory: str | Path, *,
              subjects_sessions_tsv: str | Path | None = None, registration_resolution: int = 2,
              template: str | Path | None = None, n_proc: int = 1) -> T1LinearResult:
    """Run the offline t1-linear on the T1w images of a BIDS folder and write them in a CAPS (module docstring).

    Parameters
    ----------
    bids_directory : path
        BIDS folder (``sub-*/ses-*/anat/*_T1w.nii.gz``).
    caps_directory : path
        CAPS written (created if needed); existing sessions whose files are all there are skipped.
    subjects_sessions_tsv : path, optional
        TSV with participant_id and session_id columns; default: every session with a T1w image.
    registration_resolution : int
        Finest voxel size (mm) of the registration pyramid, one of 1, 2, 4, 8 (coarser is faster, less exact).
    template : path, optional
        T1 template in MNI space to register to, e.g. Clinica's ``mni_icbm152_t1_tal_nlin_sym_09c.nii``; default:
        nilearn's bundled MNI152 2009a symmetric template (skull stripped).
    n_proc : int
        Worker processes, one image per task.

    Returns
    -------
    T1LinearResult
        Images registered, sessions skipped, lowest registration similarity (NCC, NaN when none registered).
    """
    if registration_resolution not in REGISTRATION_RESOLUTIONS:
        raise InputError(f"--registration_resolution must be one of {REGISTRATION_RESOLUTIONS} (mm); "
                         f"got {registration_resolution}.")
    images = find_bids_t1w(bids_directory, subjects_sessions_tsv)
    if template is not None:
        _load_template(template)  # checked before any registration
    for image in images:
        _check_header(image.path)  # a bad file ends the run before anything is written
    caps = Path(caps_directory)
    tasks = []
    for image in images:
        folder = caps / "subjects" / image.participant_id / image.session_id / PIPELINE_FOLDER
        if not all((folder / name).is_file() for name in t1_linear_names(image.participant_id,
                                                                          image.session_id).values()):
            tasks.append((image, folder, float(registration_resolution), template))
    similarities = _run(tasks, n_proc)
    (caps / "subjects").mkdir(parents=True, exist_ok=True)
    return T1LinearResult(len(tasks), len(images) - len(tasks), min(similarities, default=float("nan")))


def _worker_init(parent_pid: int | None = None) -> None:
    from clinicadl.worker_process import die_with_parent

    die_with_parent(parent_pid)


def _run(tasks: list, n_proc: int) -> list[float]:
    """Register the images, one per process. Spawned, not forked: a fork after torch has run in the parent (autograd,
    its thread pools) can deadlock in the child."""
    if n_proc <= 1 or len(tasks) <= 1:
        return [_register_one(task) for task in tasks]
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(n_proc, len(tasks)), mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_init, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(_register_one, task) for task in tasks]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise
