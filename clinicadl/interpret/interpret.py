"""``clinicadl interpret``: attribution maps of every trained model of a MAPS on a data group.

For each MAPS (each finished ``replicate-<r>/`` of a replicate MAPS), split and selection metric, the model
``split-<i>/best-<m>/model.pth.tar`` explains output node ``target_node`` on every image of the group, and
upstream's files are written (ClinicaDL 1.x documentation, ``interpret``, "Outputs")::

    split-<i>/best-<m>/<group>/interpret-<name>/
        mean_<mode>-<k>_map.pt                        mean map of element k (image-0 in image mode), (C, *spatial)
        mean_<mode>-<k>_map.png                       its figure (one mean_slice_map.png in slice mode with
                                                      several slices: the slice maps stacked into a volume)
        <participant>_<session>_<mode>-<k>_map.pt     with save_individual (and .nii.gz with save_nifti)

All or nothing: every model and the group are checked before anything is computed; the maps of each model are
written in a hidden folder and moved into place once every model is done; a new group is registered then
(``groups/<group>/``), so a failed run leaves nothing behind. An existing ``interpret-<name>`` is refused unless
``overwrite_name``.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clinicadl.atomic import atomic_write_bytes
from clinicadl.errors import InputError, MAPSError
from clinicadl.interpret.group import GroupPlan, plan_group, register_group
from clinicadl.maps.maps_json import is_maps, read_maps_json
from clinicadl.maps.replicates import finished_replicate_folders

__all__ = ["InterpretationResult", "interpret", "models_of"]


@dataclass(frozen=True)
class InterpretationResult:
    """The maps one model wrote.

    Attributes
    ----------
    maps_dir : Path
        The 1.x MAPS (a ``replicate-<r>`` folder in a replicate MAPS).
    split : int
    selection_metric : str
    folder : Path
        ``split-<i>/best-<m>/<group>/interpret-<name>/``.
    n_images : int
        Images of the group (each gives one map per element).
    mean_maps : tuple of Path
        ``mean_<mode>-<k>_map.pt``, in element order.
    figures : tuple of Path
    """

    maps_dir: Path
    split: int
    selection_metric: str
    folder: Path
    n_images: int
    mean_maps: tuple[Path, ...]
    figures: tuple[Path, ...]


@dataclass(frozen=True)
class _Request:
    method: str
    target_node: int
    level: int | None
    save_individual: bool
    save_nifti: bool
    amp: bool


def models_of(maps: Path, selection_metrics: Sequence[str] | None, splits: Sequence[int] | None = None
              ) -> list[tuple[int, str]]:
    """The (split, selection metric) pairs with a ``model.pth.tar`` to interpret (all, or those asked)."""
    available = sorted(int(p.name[len("split-"):]) for p in maps.glob("split-*") if p.name[len("split-"):].isdigit())
    if not available:
        raise MAPSError(f"{maps} holds no split-<i>/ folder: it is not a trained MAPS (or training did not finish).")
    wanted = sorted({int(s) for s in splits}) if splits else available
    absent = [s for s in wanted if s not in available]
    if absent:
        raise MAPSError(f"split(s) {', '.join(map(str, absent))} not found in {maps}; available: "
                        f"{', '.join(map(str, available))}.")
    models = []
    for split in wanted:
        present = sorted(p.parent.name[len("best-"):] for p in (maps / f"split-{split}").glob("best-*/model.pth.tar"))
        chosen = [m.removeprefix("best-") for m in selection_metrics] if selection_metrics else present
        missing = [m for m in chosen if m not in present]
        if missing or not chosen:
            raise MAPSError(f"split {split} of {maps} has no model selected on {', '.join(missing) or 'any metric'};"
                            f" available: {', '.join(present) or 'none'}.")
        models += [(split, m) for m in chosen]
    return models


def _check_request(maps: Path, data_group: str, name: str, method: str, target_node: int, multi_cohort: bool) -> None:
    from clinicadl.interpret.saliency import METHODS

    if not is_maps(maps):
        raise MAPSError(f"{maps} is not a MAPS (no maps.json); give the output folder of 'clinicadl train'.")
    for what, value in (("data group", data_group), ("interpretation name", name)):
        if not value or "/" in value or value.startswith("."):
            raise InputError(f"Invalid {what} {value!r}; use a plain name such as test.")
    if method not in METHODS:
        raise InputError(f"Unknown interpretation method {method!r}; choose one of {', '.join(METHODS)}.")
    if target_node < 0:
        raise InputError(f"--target_node {target_node}: give an output node number of 0 or more.")
    if multi_cohort:
        raise InputError("Multi-cohort data groups are not provided: give one CAPS (--caps_directory) and one "
                         "--participants_tsv, without --multi_cohort.")


def _output_folder(maps: Path, split: int, metric: str, group: str, name: str) -> Path:
    return maps / f"split-{split}" / f"best-{metric}" / group / f"interpret-{name}"


def _torch_bytes(tensor) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(tensor.contiguous().clone(), buffer)
    return buffer.getvalue()


def _save_nifti(path: Path, values: np.ndarray) -> None:
    """A map as NIfTI with an identity affine (upstream's): one channel dropped, several put last."""
    import nibabel as nib

    array = values[0] if values.shape[0] == 1 else np.moveaxis(values, 0, -1)
    image = nib.Nifti1Image(np.asarray(array, dtype=np.float32), np.eye(4))
    atomic_write_bytes(path, gzip.compress(image.to_bytes(), mtime=0))


def _interpret_model(maps: Path, parameters: Mapping[str, Any], split: int, metric: str, frame, caps: Path,
                     folder: Path, request: _Request, *, loader_options: Mapping[str, Any], device,
                     title: str) -> tuple[int, list[Path], list[Path]]:
    """Write the maps of one model into ``folder``; returns the image count, mean maps and figures."""
    from clinicadl.data.datasets import CapsDataset
    from clinicadl.interpret.saliency import saliency_maps
    from clinicadl.runtime.checkpoints import load_trained_network
    from clinicadl.runtime.loaders import make_loader

    mode = parameters["mode"]
    dataset = CapsDataset(caps, frame, parameters["preprocessing_dict"], label=None,
                          normalize=bool(parameters.get("normalize", True)))
    loader = make_loader(dataset, **loader_options)
    network = load_trained_network(maps, parameters, split, metric, device)
    sums: dict[int, Any] = {}
    counts: dict[int, int] = {}
    for batch in loader:
        values = saliency_maps(network, batch["image"].to(device), method=request.method,
                               target_node=request.target_node, level=request.level, amp=request.amp).cpu()
        ids = batch.get(f"{mode}_id", batch["image_id"])
        for i, element in enumerate(int(k) for k in ids):
            sums[element] = values[i].double() + sums[element] if element in sums else values[i].double()
            counts[element] = counts.get(element, 0) + 1
            if request.save_individual:
                stem = f"{batch['participant_id'][i]}_{batch['session_id'][i]}_{mode}-{element}_map"
                atomic_write_bytes(folder / f"{stem}.pt", _torch_bytes(values[i]))
                if request.save_nifti:
                    _save_nifti(folder / f"{stem}.nii.gz", values[i].numpy())
    means = {k: (sums[k] / counts[k]).float() for k in sorted(sums)}
    written = []
    for k, mean in means.items():
        written.append(atomic_write_bytes(folder / f"mean_{mode}-{k}_map.pt", _torch_bytes(mean)))
        if request.save_nifti:
            _save_nifti(folder / f"mean_{mode}-{k}_map.nii.gz", mean.numpy())
    figures = _figures(folder, mode, means, parameters, title=title, signed=request.method == "gradients")
    return len(dataset.images), written, figures


def _figures(folder: Path, mode: str, means: Mapping[int, Any], parameters: Mapping[str, Any], *, title: str,
             signed: bool) -> list[Path]:
    from clinicadl.interpret.figure import write_map_figure

    if mode == "slice" and len(means) > 1:  # the slice maps, stacked back along the slice direction
        axis = 1 + int(parameters["preprocessing_dict"].get("slice_direction", 0))
        volume = np.stack([means[k].numpy() for k in sorted(means)], axis=axis)
        return [write_map_figure(folder / "mean_slice_map.png", volume, title=f"{title}, slices stacked",
                                 signed=signed)]
    return [write_map_figure(folder / f"mean_{mode}-{k}_map.png", mean.numpy(), title=f"{title}, {mode} {k}",
                             signed=signed) for k, mean in means.items()]


def interpret(
    maps_dir: str | Path,
    data_group: str,
    name: str,
    method: str,
    *,
    caps_directory: str | Path | None = None,
    participants_tsv: str | Path | None = None,
    selection_metrics: Sequence[str] | None = None,
    splits: Sequence[int] | None = None,
    diagnoses: Sequence[str] = (),
    multi_cohort: bool = False,
    target_node: int = 0,
    level: int | None = None,
    save_individual: bool = False,
    save_nifti: bool = False,
    overwrite: bool = False,
    overwrite_name: bool = False,
    batch_size: int | None = None,
    n_proc: int | None = None,
    gpu: bool | None = None,
    amp: bool | None = None,
) -> list[InterpretationResult]:
    """Attribution maps of every trained model of a MAPS on a data group, in upstream's layout.

    Parameters
    ----------
    maps_dir : path
        A 1.x MAPS, or a replicate MAPS (every replicate with status ``done`` is interpreted).
    data_group : str
        An existing group (``train``, ``validation``, a predicted one), or a new one with ``participants_tsv``.
    name : str
        Name of the interpretation: the maps go to ``split-<i>/best-<m>/<group>/interpret-<name>/``.
    method : {"gradients", "grad-cam"}
        See :mod:`clinicadl.interpret.saliency`.
    caps_directory, participants_tsv : path, optional
        The CAPS and the ``participant_id``/``session_id`` TSV of a new group.
    selection_metrics, splits : sequence, optional
        Models to interpret (default: all).
    diagnoses : sequence of str
        Keep only the sessions of these diagnoses (``diagnosis`` column of the group).
    multi_cohort : bool
        Not provided (an error when true).
    target_node : int
        Output node explained (default 0, the first).
    level : int, optional
        grad-cam: explain the feature map after this layer of ``convolutions`` (default: the last one).
    save_individual, save_nifti : bool
        Also write each image's map; write NIfTI copies (identity affine, as upstream) of the written maps.
    overwrite : bool
        Replace an existing group given again with other participants (never ``train`` or ``validation``).
    overwrite_name : bool
        Replace an existing ``interpret-<name>``.
    batch_size, n_proc, gpu, amp : optional
        Override the training values of the MAPS.

    Returns
    -------
    list of InterpretationResult
        One per model, replicate by replicate.
    """
    maps = Path(maps_dir)
    _check_request(maps, data_group, name, method, target_node, multi_cohort)
    request = _Request(method, int(target_node), level, save_individual, save_nifti, False)
    plans = []
    for folder in finished_replicate_folders(maps):  # every check before anything is computed
        parameters = read_maps_json(folder)
        models = models_of(folder, selection_metrics, splits)
        group = plan_group(folder, parameters, data_group, sorted({s for s, _ in models}),
                           participants_tsv=participants_tsv, caps_directory=caps_directory, overwrite=overwrite,
                           diagnoses=diagnoses)
        for split, metric in models:  # a replaced group loses its results, its interpretations included
            target = _output_folder(folder, split, metric, data_group, name)
            if target.exists() and not overwrite_name and not group.replace:
                raise MAPSError(f"Interpretation {name!r} already exists ({target}); choose another NAME, or add "
                                "--overwrite_name (-on) to replace it.")
        plans.append((folder, parameters, models, group))
    options = dict(batch_size=batch_size, n_proc=n_proc, gpu=gpu, amp=amp)
    return _run(plans, data_group, name, request, options)


def _run(plans, data_group: str, name: str, request: _Request, options: Mapping[str, Any]
         ) -> list[InterpretationResult]:
    from dataclasses import replace

    from clinicadl.runtime.device import select_device

    staged: list[tuple[Path, Path, Path, GroupPlan, Mapping[str, Any]]] = []
    results = []
    try:
        for maps, parameters, models, group in plans:
            device = select_device(bool(parameters.get("gpu", False) if options["gpu"] is None else options["gpu"]))
            amp = bool(parameters.get("amp", False) if options["amp"] is None else options["amp"])
            n_proc = parameters.get("n_proc", 0) if options["n_proc"] is None else options["n_proc"]
            loader_options = dict(batch_size=options["batch_size"] or parameters["batch_size"], n_proc=n_proc)
            for split, metric in models:
                staging = Path(tempfile.mkdtemp(prefix=f".{data_group}.interpret-{name}.",
                                                dir=maps / f"split-{split}" / f"best-{metric}"))
                staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; give the usual permissions
                target = _output_folder(maps, split, metric, data_group, name)
                staged.append((staging, target, maps, group, parameters))
                replicate = f"{maps.name}, " if maps.name.startswith("replicate-") else ""
                title = f"{request.method}, group {data_group}, {replicate}split {split}, best-{metric}"
                n_images, means, figures = _interpret_model(
                    maps, parameters, split, metric, group.frames[split], group.caps, staging,
                    replace(request, amp=amp), loader_options=loader_options, device=device, title=title)
                results.append(InterpretationResult(maps, split, metric, target, n_images,
                                                     tuple(target / p.name for p in means),
                                                     tuple(target / p.name for p in figures)))
        _commit(staged, data_group)
    finally:
        for staging, *_ in staged:
            shutil.rmtree(staging, ignore_errors=True)
    return results


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _commit(staged, data_group: str) -> None:
    """Register new groups, then move each model's staged folder into place (replacing an older one)."""
    registered = set()
    for _staging, _target, maps, group, parameters in staged:
        if maps not in registered:
            register_group(maps, data_group, group, parameters)
            registered.add(maps)
    for staging, target, *_ in staged:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
