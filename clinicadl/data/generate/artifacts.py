"""``generate artifacts``: images with motion, contrast and noise artefacts (ClinicaDL 1.x ``generate artifacts``).

Every image of the input CAPS (every session of ``participants_tsv``, else every session found) is degraded by the
artefacts switched on, in upstream's order (motion, contrast, noise), each drawn from its own seeded stream:

- motion: ``num_transforms`` rigid movements (rotation angles in degrees and translations in mm, each uniform in
  its range, per axis) happen at random times of the acquisition; k-space is taken from the image in the position
  it had at each time, along the last axis, and the magnitude of the inverse Fourier transform is kept (the ghosting
  and blurring of motion during an MRI acquisition, as TorchIO's ``RandomMotion`` that upstream uses);
- contrast: ``x -> sign(x) |x| ** exp(g)``, g uniform in ``gamma`` (TorchIO's ``RandomGamma``);
- noise: Gaussian noise of standard deviation uniform in ``noise_std`` (TorchIO's ``RandomNoise``).

Participants and sessions keep their ids; files are named as upstream's: ``<sub>_<ses>_<rest of the name>_art-
<mot|con|noi joined by ->.nii.gz``. ``data.tsv`` has ``participant_id session_id diagnosis age sex`` where
``diagnosis`` names the artefacts (e.g. ``motion+noise``; upstream writes a Python list there).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinicadl.data.generate.random_caps import DATA_COLUMNS, FromCapsResult
from clinicadl.errors import InputError

ARTEFACTS = {"motion": "mot", "contrast": "con", "noise": "noi"}
"""Artefact names in upstream's order of application, and the abbreviation of the file names."""


@dataclass(frozen=True)
class ArtefactOptions:
    """The artefacts switched on and their ranges (upstream's options)."""

    motion: bool = False
    contrast: bool = False
    noise: bool = False
    translation: tuple[float, float] = (2.0, 4.0)
    rotation: tuple[float, float] = (2.0, 4.0)
    num_transforms: int = 2
    gamma: tuple[float, float] = (-0.2, -0.05)
    noise_std: tuple[float, float] = (5.0, 15.0)

    def names(self) -> tuple[str, ...]:
        return tuple(name for name in ARTEFACTS if getattr(self, name))


def rigid(image: np.ndarray, angles_deg: np.ndarray, shift_mm: np.ndarray, voxel_mm: np.ndarray) -> np.ndarray:
    """``image`` rotated about its centre by ``angles_deg`` (x, y, z) and translated by ``shift_mm``."""
    from scipy import ndimage
    from scipy.spatial.transform import Rotation

    rotation = Rotation.from_euler("xyz", angles_deg, degrees=True).as_matrix()
    scale = np.diag(voxel_mm)
    matrix = np.linalg.inv(scale) @ rotation.T @ scale  # output voxel -> input voxel
    centre = (np.asarray(image.shape) - 1) / 2.0
    offset = centre - matrix @ (centre + shift_mm / voxel_mm)
    return ndimage.affine_transform(image, matrix, offset=offset, order=1, mode="constant", cval=0.0)


def add_motion(image: np.ndarray, rng: np.random.Generator, options: ArtefactOptions,
               voxel_mm: np.ndarray) -> np.ndarray:
    """Motion during the acquisition: k-space segments of the last axis from the moved images (module docstring)."""
    n = options.num_transforms
    times = np.sort(rng.uniform(0.0, 1.0, size=n))
    positions = [image]
    for _ in range(n):
        angles = rng.uniform(*options.rotation, size=3)
        shifts = rng.uniform(*options.translation, size=3)
        positions.append(rigid(image, angles, shifts, voxel_mm))
    length = image.shape[-1]
    bounds = [0, *np.round(times * length).astype(int).tolist(), length]
    spectrum = np.empty(image.shape, dtype=np.complex128)
    for position, start, stop in zip(positions, bounds[:-1], bounds[1:]):
        if stop > start:
            spectrum[..., start:stop] = np.fft.fftshift(np.fft.fftn(position))[..., start:stop]
    return np.abs(np.fft.ifftn(np.fft.ifftshift(spectrum))).astype(np.float32)


def degrade(image: np.ndarray, options: ArtefactOptions, seed: int, index: int, voxel_mm: np.ndarray) -> np.ndarray:
    """``image`` with the artefacts of ``options``; image ``index`` draws from streams ``(seed, index, artefact)``."""
    result = image.astype(np.float32)
    for number, name in enumerate(ARTEFACTS):
        if not getattr(options, name):
            continue
        rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(index, number)))
        if name == "motion":
            result = add_motion(result, rng, options, voxel_mm)
        elif name == "contrast":
            gamma = float(np.exp(rng.uniform(*options.gamma)))
            result = (np.sign(result) * np.abs(result) ** gamma).astype(np.float32)
        else:
            std = rng.uniform(*options.noise_std)
            result = result + rng.normal(0.0, std, size=result.shape).astype(np.float32)
    return result


def output_name(source: Path, participant_id: str, session_id: str, names: tuple[str, ...]) -> str:
    """Upstream's name: ``<sub>_<ses>_<rest without .nii[.gz]>_art-<mot-con-noi>.nii[.gz]``."""
    rest = source.name.split("_", 2)[2] if source.name.count("_") >= 2 else source.name
    suffix = ".nii.gz" if rest.endswith(".nii.gz") else ".nii"
    rest = rest[: -len(suffix)] if rest.endswith(suffix) else rest
    return f"{participant_id}_{session_id}_{rest}_art-{'-'.join(ARTEFACTS[n] for n in names)}{suffix}"


@dataclass(frozen=True)
class _Task:
    source: Path
    target: Path
    options: ArtefactOptions
    seed: int
    index: int


def _make_image(task: _Task) -> None:
    import nibabel as nib

    from clinicadl.data.generate._nifti import write_nifti

    image = nib.load(task.source)
    data = np.asarray(image.dataobj, dtype=np.float32)
    if data.ndim != 3:
        raise InputError(f"{task.source} has {data.ndim} dimensions; generate artifacts reads 3D images.")
    voxel_mm = np.asarray(image.header.get_zooms()[:3], dtype=np.float64)
    write_nifti(task.target, degrade(data, task.options, task.seed, task.index, voxel_mm), image.affine)


def _check(options: ArtefactOptions) -> None:
    if not options.names():
        raise InputError("No artefact asked for; add --motion, --contrast and/or --noise.")
    for name in ("translation", "rotation", "gamma", "noise_std"):
        low, high = getattr(options, name)
        if not low <= high:
            raise InputError(f"--{name} is a range LOW HIGH with LOW <= HIGH; got {low} {high}.")
    if options.noise_std[0] < 0:
        raise InputError(f"--noise_std must be >= 0; got {options.noise_std[0]}.")
    if options.num_transforms < 1:
        raise InputError(f"--num_transforms must be >= 1; got {options.num_transforms}.")


def generate_artifacts(caps_directory: str | Path, output: str | Path, *, options: ArtefactOptions,
                       participants_tsv: str | Path | None = None, use_uncropped_image: bool = False,
                       preprocessing: str = "t1-linear", tracer: str | None = None,
                       suvr_reference_region: str | None = None, n_proc: int = 1, seed: int = 0,
                       progress: bool = False) -> FromCapsResult:
    """Write every input image with the artefacts of ``options`` (module docstring); the same seed gives the same
    images whatever ``n_proc``."""
    from clinicadl import __version__
    from clinicadl.data.generate._input_caps import input_images
    from clinicadl.data.generate._parallel import run_tasks
    from clinicadl.data.generate._staging import check_output, staged_caps, write_json, write_missing_mods, write_tsv

    start = time.perf_counter()
    _check(options)
    output = check_output(output)
    sources = input_images(caps_directory, participants_tsv=participants_tsv, use_uncropped_image=use_uncropped_image,
                           preprocessing=preprocessing, tracer=tracer, suvr_reference_region=suvr_reference_region)
    names = options.names()
    rows, paths = [], []
    with staged_caps(output) as staging:
        tasks = []
        for index, source in enumerate(sources):
            relative = Path("subjects") / source.participant_id / source.session_id / source.path.parent.name / \
                output_name(source.path, source.participant_id, source.session_id, names)
            tasks.append(_Task(source.path, staging / relative, options, int(seed), index))
            paths.append(output / relative)
            rows.append({"participant_id": source.participant_id, "session_id": source.session_id,
                         "diagnosis": "+".join(names), "age": source.age, "sex": source.sex})
        run_tasks(_make_image, tasks, n_proc=n_proc, progress=progress, desc="artifacts")
        write_tsv(staging / "data.tsv", rows, DATA_COLUMNS)
        write_missing_mods(staging, rows)
        write_json(staging / "generate.json", {
            "generator": "artifacts", "clinicadl_version": __version__, "seed": int(seed), "artefacts": list(names),
            "translation": list(options.translation), "rotation": list(options.rotation),
            "num_transforms": options.num_transforms, "gamma": list(options.gamma),
            "noise_std": list(options.noise_std), "use_uncropped_image": bool(use_uncropped_image),
            "preprocessing": preprocessing,
        })
    return FromCapsResult(output, output / "data.tsv", output / "generate.json", tuple(paths), int(seed),
                          time.perf_counter() - start)
