"""``clinicadl train from_json``: train again from the ``maps.json`` of a MAPS (ClinicaDL 1.6.1's or ours).

As upstream's command, the JSON gives every training parameter, the task (``network_task``), the inputs
(``caps_directory``, ``tsv_path``) and the extraction (``preprocessing_dict``, used as it is: no extraction JSON
file is needed); ``--split`` chooses the splits to train. Keys derived from the data (``label_code``,
``input_size``, ``output_size``, ``mode`` ...) are computed again and checked on the way; keys this version does
not know are left out. Relative paths (1.6.1 records the ones it was given) are read from the current folder,
else from the folder holding the MAPS, else from the MAPS itself.

Seeds: ``seed`` is the seed the user gave, so a MAPS trained with ``--seed S`` is trained again with the seeds
of every source derived from ``S`` (ours: the same models, bit for bit in deterministic mode). The ``maps.json``
at the root of a MAPS with replicates (``"replicates": {"count", "root_seed", "varied_sources"}``) trains the
same replicates again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinicadl.errors import InputError
from clinicadl.maps.maps_json import maps_json_path, read_maps_json

__all__ = ["JsonTraining", "read_training_json", "train_from_json"]

_TASKS = ("classification", "regression", "reconstruction", "segmentation")


@dataclass(frozen=True)
class JsonTraining:
    """What a ``maps.json`` asks to train.

    Attributes
    ----------
    parameters : dict
        The resolved training parameters (as ``train <task>`` makes them).
    replicates : int or None
        Number of replicates (None: one plain MAPS).
    root_seed : int
        The seed the seeds of every source are derived from.
    vary : tuple of str or None
        Sources re-drawn per replicate (None: the default ones).
    """

    parameters: dict
    replicates: int | None
    root_seed: int
    vary: tuple[str, ...] | None


def _json_file(path: str | Path) -> Path:
    path = Path(path)
    return maps_json_path(path) if path.is_dir() else path


def _input_path(value: Any, key: str, file: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise InputError(f"{file} has no {key}; a maps.json written by 'clinicadl train' records it.")
    path = Path(value)
    candidates = [path] if path.is_absolute() else [path, file.parent.parent / path, file.parent / path]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise InputError(f"{key} {value!r} of {file} is not found (a relative path is read from the current folder, then "
                     f"from the folder holding the MAPS); run the command from that folder, or edit {key}.")


def read_training_json(config_json: str | Path, *, splits: Sequence[int] | None = None) -> JsonTraining:
    """Read and resolve the training parameters of a ``maps.json``.

    Parameters
    ----------
    config_json : str or Path
        A ``maps.json`` file (or the MAPS folder holding it).
    splits : sequence of int, optional
        Splits to train (``-s/--split``); default: the JSON's ``split`` (all splits when empty).

    Returns
    -------
    JsonTraining

    Raises
    ------
    MAPSError
        The file is missing or not a JSON object.
    InputError
        No or an unknown ``network_task``, a missing input, or a value ``train`` refuses (the message names it).
    """
    from clinicadl.training.config import default_parameters, load_config, resolve_parameters

    file = _json_file(config_json)
    recorded = read_maps_json(file)
    task = recorded.get("network_task")
    if task not in _TASKS:
        raise InputError(f"{file}: network_task is {task!r}, expected one of {', '.join(_TASKS)}; give the maps.json "
                         "of a trained MAPS.")
    if not isinstance(recorded.get("preprocessing_dict"), dict):
        raise InputError(f"{file} has no preprocessing_dict (the extraction of the images); give the maps.json of a "
                         "trained MAPS.")
    defaults = default_parameters(task)
    given = {key: value for key, value in recorded.items() if key in defaults and value is not None}
    if splits:
        given["split"] = [int(s) for s in splits]
    parameters = resolve_parameters(
        load_config(task, given), network_task=task,
        caps_directory=_input_path(recorded.get("caps_directory"), "caps_directory", file),
        preprocessing_json=recorded["preprocessing_dict"],
        tsv_directory=_input_path(recorded.get("tsv_path"), "tsv_path", file))
    block = recorded.get("replicates")
    if isinstance(block, dict):
        try:
            varied = tuple(str(s) for s in block.get("varied_sources") or ()) or None
            return JsonTraining(parameters, int(block["count"]), int(block["root_seed"]), varied)
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{file}: 'replicates' is {block!r}, expected {{'count': R, 'root_seed': S, "
                             "'varied_sources': [...]}; fix it or remove it to train one MAPS.") from None
    return JsonTraining(parameters, None, int(parameters["seed"]), None)


def train_from_json(config_json: str | Path, output_maps: str | Path, *, splits: Sequence[int] | None = None,
                    overwrite: bool = False, after_split=None, progress: bool = True):
    """Train the procedure a ``maps.json`` describes into a new MAPS (``clinicadl train from_json``).

    Parameters
    ----------
    config_json : str or Path
        The ``maps.json`` (see :func:`read_training_json`).
    output_maps : str or Path
        The new MAPS (refused when it exists and is not empty, unless ``overwrite``).
    splits : sequence of int, optional
        Splits to train (``-s/--split``).
    overwrite : bool
        Replace an existing ``output_maps``.
    after_split : optional
        A step run on each trained split (the command passes the validation intervals).
    progress : bool
        Show progress bars.

    Returns
    -------
    clinicadl.training.procedure_result.ProcedureResult
    """
    from clinicadl.maps.writer import refuse_existing_maps
    from clinicadl.training.replicates import train_procedure

    training = read_training_json(config_json, splits=splits)
    output = Path(output_maps)
    refuse_existing_maps(output, overwrite=overwrite)
    return train_procedure(training.parameters, output, replicates=training.replicates,
                           root_seed=training.root_seed, vary=training.vary, overwrite=overwrite,
                           progress=progress, after_split=after_split)
