"""The extraction JSON of ``clinicadl prepare-data``: the parameters of one run, checked, and where it is written.

``<caps>/tensor_extraction/<extract_json>.json`` (ClinicaDL 1.x) names the preprocessing, the mode (image, patch,
slice, roi) and its options, and the ``file_type`` pattern of the images; ``train`` and the datasets read it back
with :func:`load_extraction_json`. The tensors it describes are written by :mod:`clinicadl.data.extraction`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from clinicadl.data.caps import DEFAULT_SUVR_REGION, DEFAULT_TRACER, MODALITIES, check_caps, file_type
from clinicadl.errors import CAPSError, InputError

MODES = ("image", "patch", "slice", "roi")
SLICE_AXES = {0: "sag", 1: "cor", 2: "axi"}
SLICE_MODES = ("rgb", "single")
EXTRACTION_FOLDER = "tensor_extraction"
_REQUIRED_KEYS = ("preprocessing", "mode", "file_type")
_MODE_KEYS = {
    "image": (),
    "patch": ("patch_size", "stride_size"),
    "slice": ("slice_direction", "slice_mode", "discarded_slices"),
    "roi": ("roi_list",),
}


def extraction_parameters(
    mode: str,
    modality: str,
    *,
    use_uncropped_image: bool = False,
    tracer: str | None = None,
    suvr_reference_region: str | None = None,
    custom_suffix: str | None = None,
    patch_size: int = 50,
    stride_size: int = 50,
    slice_direction: int = 0,
    slice_mode: str = "rgb",
    discarded_slices: int | tuple[int, int] | list[int] = 0,
    roi_list: tuple[str, ...] | list[str] = (),
    roi_uncrop_output: bool = False,
    roi_custom_template: str | None = None,
    roi_custom_mask_pattern: str | None = None,
    roi_background_value: float = 0.0,
    save_features: bool = False,
    extract_json: str | None = None,
    dti_measure: str = "FA",
    dti_space: str = "native",
) -> dict:
    """The extraction JSON (a dict) describing one ``prepare-data`` run; options are checked here.

    Image mode always saves the image (``prepare_dl`` true); the other modes save their patches, slices or ROIs
    only with ``save_features`` (upstream's ``--save_features``), else the image alone.

    Examples
    --------
    >>> parameters = extraction_parameters("patch", "t1-linear", patch_size=32, stride_size=16, extract_json="p")
    >>> parameters["extract_json"], parameters["file_type"]["needed_pipeline"], parameters["prepare_dl"]
    ('p.json', 't1-linear', False)
    """
    if mode not in MODES:
        raise InputError(f"Unknown extraction mode {mode!r}: choose one of {', '.join(MODES)}.")
    kind = file_type(modality, use_uncropped_image=use_uncropped_image, tracer=tracer,
                     suvr_reference_region=suvr_reference_region, custom_suffix=custom_suffix,
                     dti_measure=dti_measure, dti_space=dti_space)
    name = extract_json or f"extract_{int(time.time())}.json"
    if not name.endswith(".json"):
        name += ".json"
    if Path(name).name != name:
        raise InputError(f"--extract_json {extract_json!r} must be a file name (it is written in "
                         f"<caps>/{EXTRACTION_FOLDER}/), not a path.")
    parameters: dict = {
        "preprocessing": modality,
        "mode": mode,
        "use_uncropped_image": bool(use_uncropped_image),
        "prepare_dl": mode == "image" or bool(save_features),
        "extract_json": name,
    }
    if modality == "pet-linear":
        parameters["tracer"] = tracer or DEFAULT_TRACER
        parameters["suvr_reference_region"] = suvr_reference_region or DEFAULT_SUVR_REGION
    if modality == "dwi-dti":  # upstream's keys
        parameters.update(dti_measure=dti_measure, dti_space=dti_space)
    if mode == "patch":
        parameters.update(patch_size=int(patch_size), stride_size=int(stride_size))
    elif mode == "slice":
        discarded = [int(value) for value in np.atleast_1d(discarded_slices)]
        parameters.update(slice_direction=int(slice_direction), slice_mode=slice_mode,
                          discarded_slices=discarded[0] if len(discarded) == 1 else discarded)
    elif mode == "roi":
        parameters.update(roi_list=list(roi_list), roi_uncrop_output=bool(roi_uncrop_output),
                          roi_custom_template=roi_custom_template or "",
                          roi_custom_mask_pattern=roi_custom_mask_pattern or "",
                          roi_background_value=float(roi_background_value))
    parameters["file_type"] = kind.to_dict()
    if modality == "custom":
        parameters["custom_suffix"] = custom_suffix
    return check_parameters(parameters, source="the options")


def check_parameters(parameters: dict, *, source: str) -> dict:
    """Check an extraction dict (keys, mode, option values); ``source`` names it in error messages."""
    missing = [key for key in _REQUIRED_KEYS if key not in parameters]
    mode = parameters.get("mode")
    if not missing and mode in _MODE_KEYS:
        missing = [key for key in _MODE_KEYS[mode] if key not in parameters]
    if missing:
        raise CAPSError(f"{source} lacks key(s) {', '.join(missing)}: it is not an extraction JSON written by "
                        "'clinicadl prepare-data'; run prepare-data again.")
    if mode not in MODES:
        raise CAPSError(f"{source} has mode {mode!r}; expected one of {', '.join(MODES)}.")
    if parameters["preprocessing"] not in MODALITIES:
        raise CAPSError(f"{source} has preprocessing {parameters['preprocessing']!r}; expected one of "
                        f"{', '.join(MODALITIES)}.")
    if not isinstance(parameters["file_type"], dict) or "pattern" not in parameters["file_type"]:
        raise CAPSError(f"{source} has no file_type.pattern: it cannot tell which image to read.")
    if mode == "patch":
        if int(parameters["patch_size"]) < 1 or int(parameters["stride_size"]) < 1:
            raise InputError(f"{source}: patch_size and stride_size must be positive integers.")
    elif mode == "slice":
        if int(parameters["slice_direction"]) not in SLICE_AXES:
            raise InputError(f"{source}: slice_direction must be 0 (sagittal), 1 (coronal) or 2 (axial).")
        if parameters["slice_mode"] not in SLICE_MODES:
            raise InputError(f"{source}: slice_mode must be rgb or single, not {parameters['slice_mode']!r}.")
        discarded = np.atleast_1d(parameters["discarded_slices"])
        if len(discarded) not in (1, 2) or (discarded < 0).any():
            raise InputError(f"{source}: discarded_slices must be one or two non-negative integers.")
    elif mode == "roi":
        if not parameters["roi_list"]:
            raise InputError(f"{source}: roi mode needs at least one region (--roi_list NAME, the <roi> of a mask "
                             f"<caps>/masks/tpl-<template>_..._roi-<roi>_mask.nii.gz).")
        if parameters["preprocessing"] == "custom" and not parameters.get("roi_custom_template"):
            raise InputError(f"{source}: roi mode on custom images needs --roi_custom_template (the <template> "
                             "of the masks tpl-<template>_..._roi-<roi>_mask.nii.gz).")
    return parameters


def extraction_json_path(caps_directory: str | Path, name: str) -> Path:
    """Path of the extraction JSON ``name`` (``.json`` optional) in ``<caps>/tensor_extraction/``."""
    name = name if name.endswith(".json") else f"{name}.json"
    return Path(caps_directory) / EXTRACTION_FOLDER / name


def load_extraction_json(caps_directory: str | Path, name: str) -> dict:
    """Read and check the extraction JSON ``name`` of a CAPS (as ``train`` takes it: a file name)."""
    path = extraction_json_path(check_caps(caps_directory), name)
    if not path.is_file():
        folder = path.parent
        found = sorted(item.name for item in folder.glob("*.json")) if folder.is_dir() else []
        raise CAPSError(f"Extraction JSON {path} does not exist (found: {', '.join(found) or 'none'}); run "
                        "'clinicadl prepare-data' with --extract_json, or give one of those names.")
    try:
        parameters = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise CAPSError(f"{path} is not valid JSON ({error}); run prepare-data again.") from None
    if not isinstance(parameters, dict):
        raise CAPSError(f"{path} is not a JSON object; run prepare-data again.")
    return check_parameters(parameters, source=str(path))
