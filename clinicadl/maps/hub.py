"""Sharing a trained MAPS: ``clinicadl hugging-face push | pull``, to the Hugging Face Hub or to a local folder.

What is shared is what ``clinicadl predict`` needs, as upstream's push (``maps.json`` and the selected models) plus
the list of training participants for the leakage check:

- ``maps.json`` (and ``replicates.tsv`` with each ``replicate-<r>/maps.json`` in a MAPS of replicates);
- every ``split-<i>/best-<m>/model.pth.tar`` (upstream pushes ``best-loss`` only);
- ``groups/train+validation.tsv`` (participant and session identifiers, no image and no label);
- a generated model card ``README.md`` (upstream's YAML header, then the task, architecture and parameters).

The hub is either the Hugging Face Hub (``huggingface_hub``, an optional dependency: ``pip install
"clinicadl[hub]"``; log in with ``hf auth login``), the repository being ``<ORGANIZATION>/<HF_MODEL_NAME>``, or a
local folder: when ORGANIZATION is a path (it holds a ``/``, which no Hugging Face name does: ``./hub``,
``/data/models/``), ``push`` writes ``<ORGANIZATION>/<HF_MODEL_NAME>/`` (a second push replaces it) and ``pull``
reads it, offline. Both directions stage the files in a temporary folder
renamed at the end, so an interrupted transfer leaves no half-copied MAPS.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import InputError, MAPSError
from clinicadl.maps.maps_json import MAPS_JSON, is_maps, read_maps_json

__all__ = ["SHARED_PATTERNS", "HubTransfer", "model_card", "pull_maps", "push_maps"]

SHARED_PATTERNS: tuple[str, ...] = (
    MAPS_JSON, "replicates.tsv", "groups/train+validation.tsv", "split-*/best-*/model.pth.tar",
    f"replicate-*/{MAPS_JSON}", "replicate-*/groups/train+validation.tsv", "replicate-*/split-*/best-*/model.pth.tar",
)
"""Paths of a MAPS (relative, ``fnmatch`` patterns) that a push shares."""

_INSTALL = ('the Hugging Face Hub needs huggingface_hub: pip install "clinicadl[hub]" (then log in with '
            "'hf auth login'), or give as ORGANIZATION the path of a local folder to use as the hub, offline "
            "(e.g. ./hub/)")


@dataclass(frozen=True)
class HubTransfer:
    """What a push or pull did.

    Attributes
    ----------
    destination : str
        The repository (``<organization>/<name>``) or folder written.
    files : tuple of str
        The relative paths transferred, sorted.
    local : bool
        Whether the hub was a local folder.
    """

    destination: str
    files: tuple[str, ...]
    local: bool


def _is_local(organization: str) -> bool:
    """A path (it holds a '/', which no Hugging Face name does) names a local hub, which must exist."""
    if "/" not in organization and os.sep not in organization and organization not in (".", ".."):
        return False
    if not Path(organization).is_dir():
        raise InputError(f"The local hub {organization} is not a folder: create it (mkdir) or correct the path.")
    return True


def _hub_api():
    if importlib.util.find_spec("huggingface_hub") is None:
        raise InputError(f"{_INSTALL}.")
    import huggingface_hub

    return huggingface_hub


def _check_name(name: str, what: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise InputError(f"{what} {name!r} must be one folder name (no '/').")
    return name


def _shared_files(maps: Path) -> list[str]:
    files = []
    for path in sorted(maps.rglob("*")):
        relative = path.relative_to(maps).as_posix()
        if path.is_file() and any(fnmatch.fnmatchcase(relative, pattern) for pattern in SHARED_PATTERNS):
            files.append(relative)
    return files


def _format(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def model_card(parameters: Mapping[str, Any], model_name: str, files: list[str]) -> str:
    """The ``README.md`` of a shared MAPS: upstream's YAML header, the task, architecture and every parameter.

    Examples
    --------
    >>> print(model_card({"network_task": "classification", "architecture": "Conv5_FC3"}, "m", [])[:40])
    ---
    language: en
    library_name: clinicadl
    """
    models = sorted(file for file in files if file.endswith("model.pth.tar"))
    lines = ["---", "language: en", "library_name: clinicadl", "tags:", "- clinicadl", "---", "",
             f"# Model Card for {model_name}", "",
             "This model was trained with ClinicaDL. You can find here all the information.", "",
             "## General information", "",
             f"This model was trained for **{parameters.get('network_task', '?')}** and the architecture chosen is "
             f"**{parameters.get('architecture', '?')}**.", "",
             f"Models shared ({len(models)}): " + ", ".join(f"`{model}`" for model in models), "",
             "Predict a new group with `clinicadl predict <MAPS> <group> --participants_tsv <tsv> "
             "--caps_directory <caps>` after `clinicadl hugging-face pull`.", "",
             "## Parameters", "", "| parameter | value |", "| --- | --- |"]
    lines += [f"| {key} | {_format(value).replace('|', '/')} |" for key, value in sorted(parameters.items())]
    return "\n".join(lines) + "\n"


def _stage(maps: Path, model_name: str, parent: Path) -> tuple[Path, list[str]]:
    """Copy the shared files and the model card into a new temporary folder of ``parent``."""
    if not is_maps(maps):
        raise MAPSError(f"{maps} is not a MAPS (no {MAPS_JSON}): give the output folder of 'clinicadl train'.")
    files = _shared_files(maps)
    if not any(file.endswith("model.pth.tar") for file in files):
        raise MAPSError(f"{maps} holds no trained model (split-<i>/best-<m>/model.pth.tar): train it first.")
    staging = Path(tempfile.mkdtemp(prefix=f".{model_name}.", suffix=".tmp", dir=parent))
    try:
        for file in files:
            (staging / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(maps / file, staging / file)
        atomic_write_text(staging / "README.md", model_card(read_maps_json(maps), model_name, files))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, [*files, "README.md"]


def _replace_folder(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, replacing a previous ``target`` only once the new one is complete."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def push_maps(organization: str, maps_directory: str | Path, model_name: str) -> HubTransfer:
    """Share the MAPS ``maps_directory`` as ``model_name`` (see the module docstring for the files and the hubs).

    Raises
    ------
    MAPSError
        ``maps_directory`` is not a MAPS or holds no trained model.
    InputError
        A model name that is not one folder name, or the Hugging Face Hub asked without ``huggingface_hub``.
    """
    maps, model_name = Path(maps_directory), _check_name(model_name, "HF_MODEL_NAME")
    if _is_local(organization):
        hub = Path(organization)
        staging, files = _stage(maps, model_name, hub)
        _replace_folder(staging, hub / model_name)
        return HubTransfer(str(hub / model_name), tuple(sorted(files)), True)
    api = _hub_api()
    repo_id = f"{'ClinicaDL' if organization.lower() == 'clinicadl' else organization}/{model_name}"
    with tempfile.TemporaryDirectory() as parent:
        staging, files = _stage(maps, model_name, Path(parent))
        client = api.HfApi()
        client.create_repo(repo_id, private=True, exist_ok=True)
        client.upload_folder(repo_id=repo_id, folder_path=str(staging),
                             commit_message=f"Uploading {model_name} from {maps.name}")
    return HubTransfer(repo_id, tuple(sorted(files)), False)


def pull_maps(organization: str, model_name: str, output_maps_directory: str | Path) -> HubTransfer:
    """Copy the shared MAPS ``model_name`` of the hub into ``output_maps_directory`` (which must not exist).

    Raises
    ------
    InputError
        The output folder exists, the local hub has no such model, or the Hugging Face Hub asked without
        ``huggingface_hub``.
    """
    output, model_name = Path(output_maps_directory), _check_name(model_name, "MAPS_NAME")
    local = _is_local(organization)
    if output.exists() and any(output.iterdir()):
        raise InputError(f"{output} already exists and is not empty: choose a new OUTPUT_MAPS_DIRECTORY.")
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    try:
        if local:
            source = Path(organization) / model_name
            if not is_maps(source):
                available = sorted(child.name for child in Path(organization).iterdir() if is_maps(child))
                raise InputError(f"{source} is not a shared MAPS; the local hub {organization} holds: "
                                 f"{', '.join(available) or 'none'}.")
            shutil.copytree(source, staging, dirs_exist_ok=True)
            destination = str(source)
        else:
            destination = f"{'ClinicaDL' if organization.lower() == 'clinicadl' else organization}/{model_name}"
            _hub_api().snapshot_download(repo_id=destination, local_dir=str(staging))
            shutil.rmtree(staging / ".cache", ignore_errors=True)  # huggingface_hub's download metadata
        if output.exists():
            output.rmdir()
        os.replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = sorted(path.relative_to(output).as_posix() for path in output.rglob("*") if path.is_file())
    return HubTransfer(destination, tuple(files), local)
