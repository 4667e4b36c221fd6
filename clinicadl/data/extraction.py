"""Tensor extraction (``clinicadl prepare-data``): the tensor cache and the extraction JSON of a CAPS.

Layout (ClinicaDL 1.x)::

    <caps>/subjects/<sub>/<ses>/deeplearning_prepare_data/<mode>_based/<modality_folder>/<name>.pt
    <caps>/tensor_extraction/<extract_json>.json

``<modality_folder>`` is the modality with ``-`` replaced by ``_`` (``t1_linear``, ``pet_linear``,
``flair_linear``, ``custom``). With ``prepare_dl`` false (``--save_features`` not given, upstream's default for
patch, slice and roi) only the whole image is saved, in ``image_based/``, and the datasets cut the patches,
slices or ROIs on the fly. Names (``<prefix>_<suffix>`` is the NIfTI name without ``.nii.gz``, ``<suffix>``
its last ``_``-separated part, e.g. ``T1w``):

=====  ==================================================================================
image  ``<prefix>_<suffix>.pt``                                 float32 ``[1, X, Y, Z]``
patch  ``<prefix>_patchsize-<p>_stride-<s>_patch-<i>_<suffix>.pt``  ``[1, p, p, p]``
slice  ``<prefix>_axis-<sag|cor|axi>_channel-<rgb|single>_slice-<i>_<suffix>.pt``  ``[3 or 1, H, W]``
roi    ``<sub>_<ses>_space-<tpl>[_desc-CropRoi]_roi-<roi>_<suffix>.pt``  ``[1, x, y, z]``
=====  ==================================================================================

Tensors are the raw voxel values (``nibabel`` ``get_fdata`` in float32, scaling applied); normalisation
happens in the datasets. Each file is a plain tensor saved with :func:`torch.save` through
:func:`clinicadl.atomic.atomic_output`, so it loads with ``torch.load(..., weights_only=True)`` and appears
complete or not at all. A rerun skips every tensor that exists and loads with the expected shape, so a killed
run resumes where it stopped; the extraction JSON is written last, when every tensor is there.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from clinicadl.atomic import atomic_write_bytes, atomic_write_text
from clinicadl.data.caps import (
    TEMPLATE,
    TENSOR_FOLDER,
    CAPSImage,
    check_caps,
    find_images,
    list_sessions,
    modality_folder,
)
from clinicadl.data.extraction_json import (
    EXTRACTION_FOLDER,
    MODES,
    SLICE_AXES,
    SLICE_MODES,
    check_parameters,
    extraction_json_path,
    extraction_parameters,
    load_extraction_json,
)
from clinicadl.errors import CAPSError, InputError

__all__ = [
    "EXTRACTION_FOLDER",
    "MODES",
    "SLICE_AXES",
    "SLICE_MODES",
    "ExtractionResult",
    "check_parameters",
    "discarded_pair",
    "element_count",
    "element_filename",
    "element_shape",
    "extract_element",
    "extraction_json_path",
    "extraction_parameters",
    "find_roi_masks",
    "load_extraction_json",
    "load_mask",
    "nifti_shape",
    "prepare_data",
    "read_nifti",
    "tensor_folder",
    "tensor_paths",
    "tensor_shape",
]


@dataclass(frozen=True)
class ExtractionResult:
    """What :func:`prepare_data` did.

    Attributes
    ----------
    json_path : Path
        The extraction JSON written in ``<caps>/tensor_extraction/``.
    n_images : int
        Number of images (sessions) processed.
    n_written : int
        Tensors written by this run.
    n_skipped : int
        Tensors already present and valid (a resumed or repeated run), left untouched.
    """

    json_path: Path
    n_images: int
    n_written: int
    n_skipped: int


# --------------------------------------------------------------------------- element geometry


def discarded_pair(parameters: dict) -> tuple[int, int]:
    """Slices discarded at the beginning and the end (one value applies to both)."""
    discarded = [int(value) for value in np.atleast_1d(parameters["discarded_slices"])]
    return (discarded[0], discarded[0]) if len(discarded) == 1 else (discarded[0], discarded[1])


def _patch_grid(shape: tuple[int, ...], parameters: dict) -> tuple[int, int, int]:
    size, stride = int(parameters["patch_size"]), int(parameters["stride_size"])
    grid = tuple((dim - size) // stride + 1 if dim >= size else 0 for dim in shape)
    return grid  # type: ignore[return-value]


def element_count(shape: tuple[int, ...], parameters: dict) -> int:
    """Number of patches, slices or ROIs of an image of spatial ``shape`` (1 in image mode)."""
    mode = parameters["mode"]
    if mode == "image":
        return 1
    if mode == "patch":
        return int(np.prod(_patch_grid(shape, parameters)))
    if mode == "slice":
        begin, end = discarded_pair(parameters)
        return max(shape[int(parameters["slice_direction"])] - begin - end, 0)
    return len(parameters["roi_list"])


def extract_element(image: torch.Tensor, parameters: dict, index: int, *, mask: np.ndarray | None = None
                    ) -> torch.Tensor:
    """Cut element ``index`` (a patch, slice or ROI; the image itself in image mode) of ``image`` ``[1, X, Y, Z]``.

    Patches are numbered in C order over the (x, y, z) grid of patch origins ``0, stride, 2 stride, ...``
    (the order of ``Tensor.unfold``); slice ``index`` is the ``index``-th kept slice (file names carry the
    absolute slice number); ROI ``index`` is ``roi_list[index]``, cut with ``mask`` (bool, ``[X, Y, Z]``): voxels
    outside are set to ``roi_background_value`` and, unless ``roi_uncrop_output``, the result is cropped to the
    mask's bounding box. Returns a new contiguous tensor (never a view of ``image``).
    """
    mode = parameters["mode"]
    if mode == "image":
        return image.clone()
    if mode == "patch":
        size, stride = int(parameters["patch_size"]), int(parameters["stride_size"])
        ix, iy, iz = np.unravel_index(index, _patch_grid(tuple(image.shape[1:]), parameters))
        x, y, z = int(ix) * stride, int(iy) * stride, int(iz) * stride
        return image[:, x:x + size, y:y + size, z:z + size].clone()
    if mode == "slice":
        axis = int(parameters["slice_direction"])
        number = discarded_pair(parameters)[0] + index
        piece = image.select(axis + 1, number).clone()  # [1, H, W]
        return piece.repeat(3, 1, 1) if parameters["slice_mode"] == "rgb" else piece
    if mask is None:
        raise ValueError("roi extraction needs the mask of the region")
    roi = image.clone()
    roi[:, ~torch.tensor(mask)] = float(parameters.get("roi_background_value", 0.0))
    if parameters.get("roi_uncrop_output"):
        return roi
    corners = [np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    (x0, x1), (y0, y1), (z0, z1) = [(int(c[0]), int(c[-1]) + 1) for c in corners]
    return roi[:, x0:x1, y0:y1, z0:z1].contiguous()


def element_shape(shape: tuple[int, ...], parameters: dict, *, mask: np.ndarray | None = None) -> tuple[int, ...]:
    """Shape of the tensors :func:`extract_element` cuts from an image of spatial ``shape``."""
    mode = parameters["mode"]
    if mode == "image":
        return (1, *shape)
    if mode == "patch":
        return (1,) + (int(parameters["patch_size"]),) * 3
    if mode == "slice":
        plane = tuple(dim for axis, dim in enumerate(shape) if axis != int(parameters["slice_direction"]))
        return (3 if parameters["slice_mode"] == "rgb" else 1, *plane)
    if parameters.get("roi_uncrop_output") or mask is None:
        return (1, *shape)
    return (1, *(int(np.ptp(np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis))))) + 1
                 for axis in range(3)))


def _split_name(nifti_name: str) -> tuple[str, str]:
    stem = nifti_name[:-7] if nifti_name.lower().endswith(".nii.gz") else nifti_name.rsplit(".", 1)[0]
    prefix, _, suffix = stem.rpartition("_")
    return (prefix, suffix) if prefix else (stem, "")


def _join(*parts: str) -> str:
    return "_".join(part for part in parts if part)


def element_filename(nifti_name: str, parameters: dict, index: int, *, saved: bool | None = None) -> str:
    """File name of element ``index`` of the image ``nifti_name`` (the image tensor's name when not ``saved``).

    Examples
    --------
    >>> element_filename("sub-01_ses-M000_space-SheppLogan_phantom.nii.gz",
    ...                  {"mode": "slice", "prepare_dl": True, "slice_direction": 2, "slice_mode": "single",
    ...                   "discarded_slices": 0}, 0)
    'sub-01_ses-M000_space-SheppLogan_axis-axi_channel-single_slice-0_phantom.pt'
    """
    prefix, suffix = _split_name(nifti_name)
    mode = parameters["mode"]
    saved = parameters.get("prepare_dl", mode == "image") if saved is None else saved
    if mode == "image" or not saved:
        return f"{_join(prefix, suffix)}.pt"
    if mode == "patch":
        size, stride = parameters["patch_size"], parameters["stride_size"]
        return _join(prefix, f"patchsize-{size}_stride-{stride}_patch-{index}", suffix) + ".pt"
    if mode == "slice":
        number = discarded_pair(parameters)[0] + index
        axis, channel = SLICE_AXES[int(parameters["slice_direction"])], parameters["slice_mode"]
        return _join(prefix, f"axis-{axis}_channel-{channel}_slice-{number}", suffix) + ".pt"
    entities = prefix.split("_")
    subject_session = [entity for entity in entities[:2] if entity.split("-")[0] in ("sub", "ses")]
    template = parameters.get("roi_custom_template") or TEMPLATE
    crop = "" if parameters.get("roi_uncrop_output") else "desc-CropRoi"
    roi = parameters["roi_list"][index]
    return _join(*subject_session, f"space-{template}", crop, f"roi-{roi}", suffix) + ".pt"


def tensor_folder(image: CAPSImage | Path, parameters: dict, *, caps_directory: str | Path | None = None) -> Path:
    """Folder of the tensors of ``image``: ``.../<sub>/<ses>/deeplearning_prepare_data/<mode>_based/<modality>``."""
    if isinstance(image, CAPSImage):
        if caps_directory is None:
            raise ValueError("caps_directory is needed with a CAPSImage")
        session = Path(caps_directory) / "subjects" / image.participant_id / image.session_id
    else:
        session = Path(image)
    saved_mode = parameters["mode"] if parameters.get("prepare_dl", parameters["mode"] == "image") else "image"
    return session / TENSOR_FOLDER / f"{saved_mode}_based" / modality_folder(parameters["preprocessing"])


def tensor_paths(caps_directory: str | Path, image: CAPSImage, parameters: dict, n_elements: int) -> list[Path]:
    """Paths of the tensors of ``image``: one per element when features are saved, else the image tensor."""
    folder = tensor_folder(image, parameters, caps_directory=caps_directory)
    count = n_elements if parameters.get("prepare_dl", parameters["mode"] == "image") else 1
    return [folder / element_filename(image.path.name, parameters, index) for index in range(count)]


# --------------------------------------------------------------------------- ROI masks


def find_roi_masks(caps_directory: str | Path, parameters: dict, shape: tuple[int, ...]) -> dict[str, Path]:
    """The mask of each region of ``roi_list`` that fits images of spatial ``shape``.

    Masks live anywhere under ``<caps>/masks/`` (e.g. ``masks/tpl-<template>/``) and are named like upstream,
    ``tpl-<template>[_<key>-<value>...]_roi-<roi>_mask.nii.gz`` (``desc-<roi>`` is also accepted), where
    ``<template>`` is MNI152NLin2009cSym for the linear pipelines, or ``roi_custom_template``. Among the
    candidates, the mask must have the image's shape; ``roi_custom_mask_pattern`` (a substring) narrows them, and
    a ``desc-Crop`` mask is preferred for a cropped image.
    """
    masks_folder = Path(caps_directory) / "masks"
    template = parameters.get("roi_custom_template") or TEMPLATE
    if not masks_folder.is_dir():
        raise CAPSError(f"roi mode needs the masks of the regions in {masks_folder}/ (named "
                        f"tpl-{template}_..._roi-<roi>_mask.nii.gz, of the images' shape); that folder is missing.")
    names = [(path, path.name.lower()) for path in sorted(masks_folder.rglob("*.nii*"))]
    narrow = (parameters.get("roi_custom_mask_pattern") or "").lower()
    cropped = not parameters.get("use_uncropped_image", False)
    found = {}
    for roi in parameters["roi_list"]:
        wanted = (f"_roi-{roi}_mask.nii".lower(), f"_desc-{roi}_mask.nii".lower())
        candidates = [path for path, name in names if name.startswith(f"tpl-{template}_".lower())
                      and any(key in name for key in wanted) and narrow in name]
        fitting = [path for path in candidates if tuple(nib.load(path).shape[:3]) == tuple(shape)]
        if len(fitting) > 1:
            fitting = [path for path in fitting if ("desc-crop" in path.name.lower()) == cropped] or fitting
        if not fitting:
            listed = ", ".join(f"{path.name} {tuple(nib.load(path).shape)}" for path in candidates) or "none"
            raise CAPSError(f"No mask of region {roi!r} with the images' shape {tuple(shape)} in {masks_folder}/ "
                            f"(expected tpl-{template}_..._roi-{roi}_mask.nii.gz; candidates: {listed}).")
        if len(fitting) > 1:
            raise CAPSError(f"Several masks of region {roi!r} fit in {masks_folder}/ "
                            f"({', '.join(path.name for path in fitting)}): narrow with --roi_custom_mask_pattern.")
        found[roi] = fitting[0]
    return found


@lru_cache(maxsize=64)
def load_mask(path: str | Path) -> np.ndarray:
    """A mask as a read-only boolean array (voxels > 0), read once per process."""
    mask = np.asarray(nib.load(path).dataobj) > 0
    mask = mask.reshape(mask.shape[:3]) if mask.ndim > 3 else mask
    if not mask.any():
        raise CAPSError(f"Mask {path} is empty (no voxel > 0).")
    mask.setflags(write=False)
    return mask


# --------------------------------------------------------------------------- reading and checking tensors


def read_nifti(path: str | Path) -> torch.Tensor:
    """The voxels of a 3D NIfTI image as a float32 tensor ``[1, X, Y, Z]`` (scaling applied)."""
    try:
        image = nib.load(path)
        data = image.get_fdata(dtype=np.float32)
    except Exception as error:  # nibabel raises many types for unreadable files
        raise CAPSError(f"Cannot read NIfTI image {path}: {error}") from None
    if data.ndim > 3 and all(dim == 1 for dim in data.shape[3:]):
        data = data.reshape(data.shape[:3])
    if data.ndim != 3:
        raise CAPSError(f"{path} has shape {data.shape}; prepare-data needs 3D images.")
    if not np.isfinite(data).all():
        raise CAPSError(f"{path} holds NaN or infinite voxels; replace them (e.g. by 0) before prepare-data.")
    return torch.from_numpy(data).unsqueeze(0)


def nifti_shape(path: str | Path) -> tuple[int, int, int]:
    """Spatial shape of a NIfTI image, read from its header."""
    try:
        shape = tuple(int(dim) for dim in nib.load(path).shape)
    except Exception as error:
        raise CAPSError(f"Cannot read NIfTI header of {path}: {error}") from None
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) != 3:
        raise CAPSError(f"{path} has shape {shape}; prepare-data needs 3D images.")
    return shape  # type: ignore[return-value]


def tensor_shape(path: Path) -> tuple[int, ...] | None:
    """Shape of the float32 tensor saved in ``path``, or None if the file is absent, partial or not such a tensor."""
    try:
        tensor = torch.load(path, weights_only=True, mmap=True, map_location="cpu")
    except Exception:
        try:
            tensor = torch.load(path, weights_only=True, map_location="cpu")
        except Exception:
            return None
    if not isinstance(tensor, torch.Tensor) or tensor.dtype != torch.float32:
        return None
    return tuple(tensor.shape)


# --------------------------------------------------------------------------- extraction


def _remove_stale_temporaries(folder: Path, names: set[str]) -> None:
    """Delete the temporary files that a killed run left for ``names`` (``.<name>.<random>.tmp``)."""
    if not folder.is_dir():
        return
    for entry in os.listdir(folder):
        if entry.startswith(".") and entry.endswith(".tmp") and entry[1:-4].rsplit(".", 1)[0] in names:
            (folder / entry).unlink(missing_ok=True)


def _extract_image(task: tuple[str, CAPSImage, dict, dict[str, str]]) -> tuple[int, int]:
    """Write the missing or invalid tensors of one image; return (written, skipped)."""
    caps_directory, image, parameters, mask_paths = task
    shape = nifti_shape(image.path)
    saved = parameters["prepare_dl"]
    n_elements = element_count(shape, parameters) if saved else 1
    paths = tensor_paths(caps_directory, image, parameters, n_elements)
    masks = [load_mask(mask_paths[roi]) for roi in parameters["roi_list"]] if parameters["mode"] == "roi" else []
    mode_parameters = parameters if saved else {**parameters, "mode": "image"}

    def expected(index: int) -> tuple[int, ...]:
        return element_shape(shape, mode_parameters, mask=masks[index] if masks and saved else None)

    todo = [index for index, path in enumerate(paths) if tensor_shape(path) != expected(index)]
    if not todo:
        return 0, len(paths)
    _remove_stale_temporaries(paths[0].parent, {paths[index].name for index in todo})
    voxels = read_nifti(image.path)
    for index in todo:
        element = extract_element(voxels, mode_parameters, index, mask=masks[index] if masks and saved else None)
        buffer = io.BytesIO()  # serialised in memory: a full disk then raises a plain OSError naming the file
        torch.save(element.contiguous(), buffer)
        atomic_write_bytes(paths[index], buffer.getbuffer())
    return len(todo), len(paths) - len(todo)


def _worker_init(parent_pid: int | None = None) -> None:
    from clinicadl.worker_process import die_with_parent

    die_with_parent(parent_pid)
    torch.set_num_threads(1)


def _run(tasks: list, n_proc: int) -> Iterator[tuple[int, int]]:
    if n_proc <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield _extract_image(task)
        return
    # fork on Linux (as torch's DataLoader workers; PyTorch resets its thread pools in the child): workers start in
    # milliseconds instead of re-importing torch; spawn elsewhere (fork is unsafe on macOS).
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(max_workers=min(n_proc, len(tasks)), mp_context=context,
                             initializer=_worker_init, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(_extract_image, task) for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


_DERIVED_KEYS = ("num_patches", "num_slices", "num_rois", "roi_mask_files")


def _check_existing_json(path: Path, parameters: dict) -> None:
    if not path.is_file():
        return
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        existing = {}
    keys = sorted(set(existing) | set(parameters))
    differ = [key for key in keys if key not in _DERIVED_KEYS and existing.get(key) != parameters.get(key)]
    if differ:
        raise CAPSError(f"{path} already exists and describes another extraction (different: {', '.join(differ)}); "
                        "choose another --extract_json name, or delete that file.")


def prepare_data(
    caps_directory: str | Path,
    parameters: dict,
    *,
    subjects_sessions_tsv: str | Path | None = None,
    n_proc: int = 2,
    progress: bool | None = None,
) -> ExtractionResult:
    """Extract the tensors described by ``parameters`` (see :func:`extraction_parameters`) for a CAPS.

    Parameters
    ----------
    caps_directory : path
        The CAPS; tensors and the extraction JSON are written inside it.
    parameters : dict
        The extraction JSON to write, from :func:`extraction_parameters`.
    subjects_sessions_tsv : path, optional
        TSV with participant_id and session_id columns; default: every session of the CAPS.
    n_proc : int
        Worker processes (one image per task); 1 runs in this process.
    progress : bool or None
        Show a progress bar (None: only on a terminal).

    Returns
    -------
    ExtractionResult
        The JSON path and the number of images, tensors written and tensors skipped (already valid).

    Notes
    -----
    Resumable: a tensor that exists and loads as a float32 tensor of the expected shape is skipped, so
    rerunning after an interruption (even ``kill -9``) writes only what is missing; every write is atomic.
    The JSON is written last; an existing JSON of the same name must describe the same extraction.
    """
    from tqdm.auto import tqdm

    caps = check_caps(caps_directory)
    parameters = check_parameters(dict(parameters), source="the options")
    json_path = extraction_json_path(caps, parameters["extract_json"])
    _check_existing_json(json_path, parameters)
    sessions = list_sessions(caps, subjects_sessions_tsv)
    images = find_images(caps, sessions, parameters["file_type"]["pattern"])
    shape = nifti_shape(images[0].path)
    mask_paths: dict[str, str] = {}
    if parameters["mode"] == "roi":
        mask_paths = {roi: str(path) for roi, path in find_roi_masks(caps, parameters, shape).items()}
        parameters["roi_mask_files"] = {roi: Path(path).name for roi, path in mask_paths.items()}
    n_elements = element_count(shape, parameters)
    if n_elements == 0:
        raise InputError(f"Images of shape {shape} ({images[0].path}) give no {parameters['mode']}: "
                         "decrease --patch_size or --discarded_slices.")
    if parameters["mode"] == "patch":
        parameters["num_patches"] = n_elements
    elif parameters["mode"] == "slice":
        parameters["num_slices"] = n_elements
    elif parameters["mode"] == "roi":
        parameters["num_rois"] = n_elements
    tasks = [(str(caps), image, parameters, mask_paths) for image in images]
    written = skipped = 0
    with tqdm(total=len(tasks), desc=f"prepare-data {parameters['mode']}", unit="image",
              disable=None if progress is None else not progress) as bar:
        for image_written, image_skipped in _run(tasks, n_proc):
            written += image_written
            skipped += image_skipped
            bar.update()
    atomic_write_text(json_path, json.dumps(parameters, indent=4) + "\n")
    return ExtractionResult(json_path, len(images), written, skipped)
