"""The flat ``maps.json`` of a ClinicaDL 1.x MAPS: read (old key names translated) and write.

``maps.json`` is one flat JSON object holding every training parameter (FORMATS.md, section 2).
Unknown keys are kept as they are; the old names of a few keys are translated:

=====================  ===============================
old key                current key
=====================  ===============================
``model``              ``architecture``
``multi``              ``multi_network``
``minmaxnormalization`` ``normalize``
``num_workers``        ``n_proc``
``use_cpu``            ``gpu`` (inverted)
``nondeterministic``   ``deterministic`` (inverted)
=====================  ===============================

When a file holds both the old and the current name, the current one wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clinicadl.errors import MAPSError

__all__ = [
    "INVERTED_KEYS",
    "MAPS_JSON",
    "RENAMED_KEYS",
    "is_maps",
    "label_names",
    "maps_json_path",
    "prediction_mode",
    "read_maps_json",
    "read_maps_parameters",
    "translate_old_keys",
    "write_maps_json",
]

MAPS_JSON = "maps.json"
"""The parameters file at the root of a MAPS (and of each ``replicate-<r>/`` and ``groups/<group>/``)."""

RENAMED_KEYS: Mapping[str, str] = {
    "model": "architecture",
    "multi": "multi_network",
    "minmaxnormalization": "normalize",
    "num_workers": "n_proc",
}
"""Old key -> current key, value unchanged."""

INVERTED_KEYS: Mapping[str, str] = {
    "use_cpu": "gpu",
    "nondeterministic": "deterministic",
}
"""Old boolean key -> current key holding its negation."""


def translate_old_keys(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``parameters`` where old key names are replaced by the current ones.

    Examples
    --------
    >>> translate_old_keys({"model": "Conv5_FC3", "use_cpu": True, "seed": 0})
    {'seed': 0, 'architecture': 'Conv5_FC3', 'gpu': False}
    """
    old_names = set(RENAMED_KEYS) | set(INVERTED_KEYS)
    result = {key: value for key, value in parameters.items() if key not in old_names}
    for old, new in RENAMED_KEYS.items():
        if old in parameters and new not in result:
            result[new] = parameters[old]
    for old, new in INVERTED_KEYS.items():
        if old in parameters and new not in result:
            value = parameters[old]
            result[new] = (not value) if isinstance(value, bool) else value
    return result


def maps_json_path(folder: str | Path) -> Path:
    """``<folder>/maps.json``."""
    return Path(folder) / MAPS_JSON


def is_maps(folder: str | Path) -> bool:
    """Whether ``folder`` holds a ``maps.json`` (a MAPS, a replicate of one, or a group folder)."""
    return maps_json_path(folder).is_file()


def _maps_json_file(path: str | Path) -> Path:
    path = Path(path)
    return maps_json_path(path) if path.is_dir() else path


def read_maps_json(path: str | Path) -> dict[str, Any]:
    """Read the parameters of a 1.x MAPS.

    Parameters
    ----------
    path : str or Path
        The ``maps.json`` file, or the MAPS folder holding it.

    Returns
    -------
    dict
        The flat parameters, old key names translated (see the module docstring), unknown keys kept.

    Raises
    ------
    MAPSError
        If the file is missing, is not valid JSON, or is not one JSON object.
    """
    file = _maps_json_file(path)
    if not file.is_file():
        raise MAPSError(
            f"{file} not found: a ClinicaDL 1.x MAPS holds maps.json at its root; give the output folder "
            "of `clinicadl train`."
        )
    try:
        parameters = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MAPSError(
            f"{file} is not valid JSON ({error}); restore it from a backup or re-train."
        ) from None
    if not isinstance(parameters, dict):
        raise MAPSError(
            f"{file} holds a JSON {type(parameters).__name__}, expected one flat object of parameters; "
            "restore it from a backup or re-train."
        )
    return translate_old_keys(parameters)


def read_maps_parameters(path: str | Path) -> dict[str, Any]:
    """The training parameters of any MAPS as one flat dict: what a report of the MAPS shows.

    - a 1.x MAPS: its ``maps.json`` (:func:`read_maps_json`);
    - a MAPS with replicates: the root ``maps.json`` (shared parameters and the ``replicates`` record) over the
      ``maps.json`` of its first replicate folder, which fills in what the root leaves out;
    - a ClinicaDL 2.0 MAPS: its ``model.json`` as it is.

    Raises
    ------
    MAPSError
        ``path`` is not a folder, holds neither file, or a file is not one valid JSON object.
    """
    from clinicadl.maps.replicate_folders import replicate_folders

    folder = Path(path)
    if not folder.is_dir():
        raise MAPSError(f"{folder} is not a folder: give the MAPS folder written by `clinicadl train`.")
    if _maps_json_file(folder).is_file():
        parameters = read_maps_json(folder)
        folders = replicate_folders(folder)
        if "replicates" in parameters and folders:
            parameters = {**read_maps_json(next(iter(folders.values()))), **parameters}
        return parameters
    model_json = folder / "model.json"
    if model_json.is_file():
        try:
            return dict(json.loads(model_json.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError) as error:
            raise MAPSError(f"{model_json} is not one valid JSON object ({error}).") from None
    raise MAPSError(f"{folder} is not a MAPS (no maps.json or model.json): give the output folder of "
                    "`clinicadl train`.")


def write_maps_json(path: str | Path, parameters: Mapping[str, Any]) -> Path:
    """Write ``parameters`` atomically as a flat, indented ``maps.json`` (path: file or MAPS folder).

    Returns
    -------
    Path
        The file written.
    """
    from clinicadl.maps.results_io import atomic_write_text, to_jsonable

    file = _maps_json_file(path)
    atomic_write_text(file, json.dumps(to_jsonable(dict(parameters)), indent=4) + "\n")
    return file


def label_names(parameters: Mapping[str, Any]) -> tuple[str, ...]:
    """Class names in code order, from ``label_code`` (``{"AD": 0, "CN": 1}`` -> ``("AD", "CN")``).

    Returns an empty tuple when ``label_code`` is absent or empty (regression, reconstruction,
    or an old MAPS that did not record it).

    Raises
    ------
    MAPSError
        If the codes are not the integers 0..K-1, each used once.

    Examples
    --------
    >>> label_names({"label_code": {"CN": 1, "AD": 0}})
    ('AD', 'CN')
    """
    code = parameters.get("label_code") or {}
    if not isinstance(code, Mapping):
        raise MAPSError(f"label_code in maps.json must be an object label -> code, got {code!r}.")
    try:
        by_code = {int(value): str(name) for name, value in code.items()}
    except (TypeError, ValueError):
        raise MAPSError(f"label_code in maps.json must map labels to integers, got {dict(code)!r}.") from None
    if sorted(by_code) != list(range(len(code))):
        raise MAPSError(
            f"label_code in maps.json must map the labels to 0..{len(code) - 1}, each once, "
            f"got {dict(code)!r}."
        )
    return tuple(by_code[i] for i in range(len(code)))


def prediction_mode(parameters: Mapping[str, Any]) -> str | None:
    """The mode of the predictions (``"image"``, ``"slice"``, ``"patch"``, ``"roi"``), None if unrecorded.

    Read from ``mode``, else from ``preprocessing_dict["mode"]``.
    """
    mode = parameters.get("mode")
    if not mode:
        preprocessing = parameters.get("preprocessing_dict")
        if isinstance(preprocessing, Mapping):
            mode = preprocessing.get("mode")
    return str(mode) if mode else None
