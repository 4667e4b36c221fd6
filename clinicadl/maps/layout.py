"""Where things are in a MAPS: version, splits, selection metrics, data groups and file paths.

Two layouts are understood (see FORMATS.md, sections 2 and 3):

- ClinicaDL 1.x (``"1.x"``), recognised by ``maps.json``::

      <maps>/split-<i>/best-<m>/<group>/<group>_<mode>_level_prediction.tsv

  Old MAPS name split folders ``fold-<i>``; both names are accepted when reading.
- ClinicaDL 2.0 (``"2.0"``, read only), recognised by ``model.json`` + ``training/``::

      <maps>/test/group-<g>/results/split-<i>/<best-<m>|final>/metrics/details.tsv

Selection metrics are given by name (``"loss"``); the folder prefix ``best-`` is accepted and
removed. In a 2.0 MAPS the last model, folder ``final``, counts as the selection metric ``"final"``.
"""

from __future__ import annotations

import re
from pathlib import Path

from clinicadl.errors import MAPSError

__all__ = [
    "FINAL_SELECTION",
    "MAPS_VERSIONS",
    "details_tsv_path",
    "group_data_tsv_path",
    "group_dir",
    "list_data_groups",
    "list_selection_metrics",
    "list_splits",
    "maps_version",
    "metrics_tsv_path",
    "normalize_selection_metric",
    "parse_split_name",
    "prediction_tsv_path",
    "selection_dir",
    "split_dir",
]

MAPS_VERSIONS = ("1.x", "2.0")
"""Versions of the MAPS layout that :func:`maps_version` recognises."""

FINAL_SELECTION = "final"
"""Selection name of the last model of a 2.0 MAPS (folder ``final``)."""

_SPLIT_RE = re.compile(r"^(?:split|fold)-(\d+)$")
_BEST_PREFIX = "best-"
_V2_GROUP_PREFIX = "group-"


def _as_path(maps_path: str | Path) -> Path:
    path = Path(maps_path)
    if not path.is_dir():
        raise MAPSError(f"MAPS folder {path} does not exist or is not a folder; give the path of a MAPS.")
    return path


def _sorted_names(names: set[str] | list[str]) -> str:
    return ", ".join(sorted(names)) if names else "none"


def maps_version(maps_path: str | Path) -> str:
    """Detect the layout version of a MAPS.

    Parameters
    ----------
    maps_path : str or Path
        Folder of the MAPS.

    Returns
    -------
    str
        ``"1.x"`` when the folder holds ``maps.json``; ``"2.0"`` when it holds ``model.json``
        and a ``training/`` folder.

    Raises
    ------
    MAPSError
        If the folder is neither.
    """
    path = _as_path(maps_path)
    if (path / "maps.json").is_file():
        return "1.x"
    if (path / "model.json").is_file() and (path / "training").is_dir():
        return "2.0"
    raise MAPSError(
        f"{path} is not a MAPS: expected maps.json (ClinicaDL 1.x) or model.json + training/ "
        "(ClinicaDL 2.0); give the output folder of `clinicadl train`."
    )


def parse_split_name(name: str) -> int | None:
    """Split index of a folder name ``split-<i>`` or ``fold-<i>``, None for other names.

    Examples
    --------
    >>> parse_split_name("split-2"), parse_split_name("fold-0"), parse_split_name("tmp")
    (2, 0, None)
    """
    match = _SPLIT_RE.match(name)
    return int(match.group(1)) if match else None


def normalize_selection_metric(selection_metric: str) -> str:
    """Selection metric name without the folder prefix ``best-``.

    Examples
    --------
    >>> normalize_selection_metric("best-loss"), normalize_selection_metric("BA")
    ('loss', 'BA')
    """
    name = str(selection_metric)
    return name[len(_BEST_PREFIX) :] if name.startswith(_BEST_PREFIX) else name


def _split_folders(parent: Path) -> dict[int, Path]:
    """Split folders directly under ``parent``, by index (``split-<i>`` preferred over ``fold-<i>``)."""
    found: dict[int, Path] = {}
    if not parent.is_dir():
        return found
    for child in sorted(parent.iterdir()):
        index = parse_split_name(child.name)
        if index is None or not child.is_dir():
            continue
        if index not in found or child.name.startswith("split-"):
            found[index] = child
    return found


def _v2_group_folders(maps: Path) -> dict[str, Path]:
    test = maps / "test"
    if not test.is_dir():
        return {}
    return {
        child.name[len(_V2_GROUP_PREFIX) :]: child
        for child in test.iterdir()
        if child.is_dir() and child.name.startswith(_V2_GROUP_PREFIX)
    }


def list_splits(maps_path: str | Path) -> list[int]:
    """Indices of the splits of a MAPS, sorted.

    1.x: the ``split-<i>`` (or ``fold-<i>``) folders at the root. 2.0: those of ``training/``
    and of ``test/group-*/results/``.
    """
    maps = _as_path(maps_path)
    if maps_version(maps) == "1.x":
        return sorted(_split_folders(maps))
    splits = set(_split_folders(maps / "training"))
    for group in _v2_group_folders(maps).values():
        splits.update(_split_folders(group / "results"))
    return sorted(splits)


def split_dir(maps_path: str | Path, split: int) -> Path:
    """Existing folder of a split of a 1.x MAPS (``split-<i>``, or ``fold-<i>`` in old MAPS).

    Raises
    ------
    MAPSError
        If the split does not exist; the message lists the available ones.
    """
    maps = _as_path(maps_path)
    folders = _split_folders(maps)
    if split not in folders:
        available = ", ".join(str(i) for i in sorted(folders)) or "none"
        raise MAPSError(
            f"split {split} not found in MAPS {maps} (no split-{split}/ or fold-{split}/); "
            f"available splits: {available}."
        )
    return folders[split]


def _v1_selection_names(folder: Path) -> set[str]:
    return {
        child.name[len(_BEST_PREFIX) :]
        for child in folder.iterdir()
        if child.is_dir() and child.name.startswith(_BEST_PREFIX)
    }


def _v2_selection_names(folder: Path) -> set[str]:
    if not folder.is_dir():
        return set()
    names = _v1_selection_names(folder)
    if (folder / FINAL_SELECTION).is_dir():
        names.add(FINAL_SELECTION)
    return names


def _v2_results_split_dirs(maps: Path, data_group: str | None) -> list[tuple[int, Path]]:
    groups = _v2_group_folders(maps)
    if data_group is not None:
        groups = {data_group: groups[data_group]} if data_group in groups else {}
    return [
        (index, folder)
        for group in groups.values()
        for index, folder in _split_folders(group / "results").items()
    ]


def list_selection_metrics(
    maps_path: str | Path, split: int | None = None, data_group: str | None = None
) -> list[str]:
    """Selection metrics of a MAPS (names without ``best-``), sorted.

    Parameters
    ----------
    maps_path : str or Path
        Folder of the MAPS.
    split : int, optional
        Only this split (default: all splits).
    data_group : str, optional
        Only the models with predictions on this group (default: any model).

    Returns
    -------
    list of str
        e.g. ``["BA", "loss"]``; a 2.0 MAPS also lists ``"final"``.
    """
    maps = _as_path(maps_path)
    names: set[str] = set()
    if maps_version(maps) == "1.x":
        splits = [split_dir(maps, split)] if split is not None else list(_split_folders(maps).values())
        for folder in splits:
            for name in _v1_selection_names(folder):
                if data_group is None or (folder / f"{_BEST_PREFIX}{name}" / data_group).is_dir():
                    names.add(name)
        return sorted(names)
    for index, folder in _v2_results_split_dirs(maps, data_group):
        if split is None or index == split:
            names.update(_v2_selection_names(folder))
    if data_group is None:
        for index, folder in _split_folders(maps / "training").items():
            if split is None or index == split:
                names.update(_v2_selection_names(folder / "models" / "best_models"))
                names.update(_v2_selection_names(folder / "models"))
    return sorted(names)


def list_data_groups(
    maps_path: str | Path, *, split: int | None = None, selection_metric: str | None = None
) -> list[str]:
    """Data groups of a MAPS, sorted.

    1.x: the folders of ``groups/`` and the ``<group>`` folders under ``split-<i>/best-<m>/``
    (restricted to ``split`` and ``selection_metric`` when given). 2.0: the ``test/group-<g>/`` folders.
    """
    maps = _as_path(maps_path)
    if maps_version(maps) == "2.0":
        groups = _v2_group_folders(maps)
        if split is None and selection_metric is None:
            return sorted(groups)
        return sorted(
            name
            for name, folder in groups.items()
            if any(
                (split is None or index == split)
                and (selection_metric is None or _v2_selection_folder(results, selection_metric).is_dir())
                for index, results in _split_folders(folder / "results").items()
            )
        )
    names: set[str] = set()
    if split is None and selection_metric is None and (maps / "groups").is_dir():
        names.update(child.name for child in (maps / "groups").iterdir() if child.is_dir())
    splits = [split_dir(maps, split)] if split is not None else list(_split_folders(maps).values())
    for folder in splits:
        if selection_metric is not None:
            selections = [folder / f"{_BEST_PREFIX}{normalize_selection_metric(selection_metric)}"]
        else:
            selections = [child for child in folder.iterdir() if child.name.startswith(_BEST_PREFIX)]
        for selection in selections:
            if selection.is_dir():
                names.update(child.name for child in selection.iterdir() if child.is_dir())
    return sorted(names)


def _v2_selection_folder(results_split: Path, selection_metric: str) -> Path:
    name = normalize_selection_metric(selection_metric)
    return results_split / (FINAL_SELECTION if name == FINAL_SELECTION else f"{_BEST_PREFIX}{name}")


def selection_dir(maps_path: str | Path, split: int, selection_metric: str) -> Path:
    """Folder ``split-<i>/best-<m>/`` of a 1.x MAPS (must exist).

    Raises
    ------
    MAPSError
        If the split or selection metric does not exist; the message lists the available ones.
    """
    folder = split_dir(maps_path, split)
    name = normalize_selection_metric(selection_metric)
    path = folder / f"{_BEST_PREFIX}{name}"
    if not path.is_dir():
        raise MAPSError(
            f"selection metric {name!r} not found in {folder} (no {path.name}/); "
            f"available selection metrics: {_sorted_names(_v1_selection_names(folder))}."
        )
    return path


def group_dir(maps_path: str | Path, data_group: str, *, split: int, selection_metric: str) -> Path:
    """Folder of the outputs of one model on one data group (must exist).

    1.x: ``split-<i>/best-<m>/<group>/``. 2.0: ``test/group-<g>/results/split-<i>/<best-<m>|final>/``.

    Raises
    ------
    MAPSError
        If the data group, split or selection metric does not exist; the message lists the available ones.
    """
    maps = _as_path(maps_path)
    if maps_version(maps) == "2.0":
        groups = _v2_group_folders(maps)
        if data_group not in groups:
            raise MAPSError(
                f"data group {data_group!r} not found in MAPS {maps} (no test/group-{data_group}/); "
                f"available data groups: {_sorted_names(set(groups))}."
            )
        splits = _split_folders(groups[data_group] / "results")
        if split not in splits:
            available = ", ".join(str(i) for i in sorted(splits)) or "none"
            raise MAPSError(
                f"split {split} not found for data group {data_group!r} in "
                f"{groups[data_group] / 'results'}; available splits: {available}."
            )
        path = _v2_selection_folder(splits[split], selection_metric)
        if not path.is_dir():
            raise MAPSError(
                f"selection metric {normalize_selection_metric(selection_metric)!r} not found in "
                f"{splits[split]}; available selection metrics: "
                f"{_sorted_names(_v2_selection_names(splits[split]))}."
            )
        return path
    selection = selection_dir(maps, split, selection_metric)
    path = selection / data_group
    if not path.is_dir():
        available = {child.name for child in selection.iterdir() if child.is_dir()}
        raise MAPSError(
            f"data group {data_group!r} has no predictions in {selection} (no {data_group}/ folder); "
            f"available data groups: {_sorted_names(available)}; run `clinicadl predict` to make it."
        )
    return path


def prediction_tsv_path(
    maps_path: str | Path, data_group: str, *, split: int, selection_metric: str, level: str
) -> Path:
    """Path of ``<group>_<level>_level_prediction.tsv`` of a 1.x MAPS (the file may not exist).

    ``level`` is ``"image"`` or the mode (``"slice"``, ``"patch"``, ``"roi"``).
    """
    folder = group_dir(maps_path, data_group, split=split, selection_metric=selection_metric)
    return folder / f"{data_group}_{level}_level_prediction.tsv"


def metrics_tsv_path(
    maps_path: str | Path, data_group: str, *, split: int, selection_metric: str, level: str
) -> Path:
    """Path of the upstream metrics of one model on one group (the file may not exist).

    1.x: ``<group>_<level>_level_metrics.tsv``; 2.0: ``metrics/aggregated.tsv`` (``level`` ignored).
    """
    folder = group_dir(maps_path, data_group, split=split, selection_metric=selection_metric)
    if maps_version(maps_path) == "2.0":
        return folder / "metrics" / "aggregated.tsv"
    return folder / f"{data_group}_{level}_level_metrics.tsv"


def details_tsv_path(maps_path: str | Path, data_group: str, *, split: int, selection_metric: str) -> Path:
    """Path of the per-image values ``metrics/details.tsv`` of a 2.0 MAPS (the file may not exist)."""
    folder = group_dir(maps_path, data_group, split=split, selection_metric=selection_metric)
    return folder / "metrics" / "details.tsv"


def group_data_tsv_path(maps_path: str | Path, data_group: str, *, split: int | None = None) -> Path:
    """Path of the ``data.tsv`` listing the images of a data group (must exist).

    1.x: ``groups/<group>/data.tsv``, or ``groups/<group>/split-<i>/data.tsv`` for the
    per-split groups ``train`` and ``validation``. 2.0: ``test/group-<g>/data.tsv``, or
    ``training/data/<train|validation>/split-<i>/data.tsv``.

    Raises
    ------
    MAPSError
        If the group (or its split) does not exist; the message lists the available ones.
    """
    maps = _as_path(maps_path)
    if maps_version(maps) == "2.0":
        groups = _v2_group_folders(maps)
        if data_group in groups:
            folder = groups[data_group]
        elif data_group in ("train", "validation"):
            folder = maps / "training" / "data" / data_group
        else:
            raise MAPSError(
                f"data group {data_group!r} not found in MAPS {maps} (no test/group-{data_group}/); "
                f"available data groups: {_sorted_names({*groups, 'train', 'validation'})}."
            )
    else:
        folder = maps / "groups" / data_group
        if not folder.is_dir():
            groups_root = maps / "groups"
            available = (
                {child.name for child in groups_root.iterdir() if child.is_dir()}
                if groups_root.is_dir()
                else set()
            )
            raise MAPSError(
                f"data group {data_group!r} not found in MAPS {maps} (no groups/{data_group}/); "
                f"available data groups: {_sorted_names(available)}."
            )
    if (folder / "data.tsv").is_file() and split is None:
        return folder / "data.tsv"
    splits = _split_folders(folder)
    if split is None:
        if len(splits) == 1:
            split = next(iter(splits))
        else:
            raise MAPSError(
                f"data group {data_group!r} of MAPS {maps} has one data.tsv per split in {folder}; "
                f"give split= one of {', '.join(str(i) for i in sorted(splits)) or 'none'}."
            )
    if split not in splits:
        if (folder / "data.tsv").is_file():
            return folder / "data.tsv"
        raise MAPSError(
            f"split {split} not found in {folder}; available splits: "
            f"{', '.join(str(i) for i in sorted(splits)) or 'none'}."
        )
    path = splits[split] / "data.tsv"
    if not path.is_file():
        raise MAPSError(
            f"{path} is missing; the MAPS is incomplete, re-run the command that made group {data_group!r}."
        )
    return path
