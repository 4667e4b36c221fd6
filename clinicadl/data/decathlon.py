"""Reading the Medical Segmentation Decathlon layout, and converting it to a CAPS for ``train segmentation``.

A Decathlon task folder (Antonelli et al. 2022; Simpson et al. 2019) holds::

    dataset.json    {"name", "description", "modality": {"0": "FLAIR", ...}, "labels": {"0": "background", ...},
                     "numTraining", "numTest", "training": [{"image": "./imagesTr/x.nii.gz",
                     "label": "./labelsTr/x.nii.gz"}, ...], "test": ["./imagesTs/y.nii.gz", ...]}
    imagesTr/       training images (3D, or 4D with one volume per modality)
    labelsTr/       their label maps (0 background, 1..K the labels of dataset.json)
    imagesTs/       test images, without labels

:func:`read_decathlon` checks the file and that every listed image exists; :func:`decathlon_to_caps` writes the
training cases (and optionally the test images) as a CAPS with masks (:mod:`clinicadl.data.segmentation_caps`),
keeping one ``channel`` of multi-modal images. Then::

    clinicadl prepare-data image CAPS custom --custom_suffix image.nii.gz --extract_json image.json
    clinicadl train segmentation CAPS image.json SPLIT_DIR MAPS --n_labels K

References
----------
Simpson A. L. et al. (2019). A large annotated medical image dataset for the development and evaluation of
segmentation algorithms. arXiv:1902.09063.
Antonelli M. et al. (2022). The Medical Segmentation Decathlon. Nature Communications 13, 4128.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from clinicadl.data.segmentation_caps import SegmentationCase, write_segmentation_caps
from clinicadl.errors import InputError

__all__ = ["DecathlonTask", "decathlon_to_caps", "read_decathlon"]

_N_LISTED = 3


@dataclass(frozen=True)
class DecathlonTask:
    """A Decathlon task folder, as read from its ``dataset.json``.

    Attributes
    ----------
    folder : Path
    name, description : str
    modalities : dict of int to str
        Channel index -> modality name.
    labels : dict of int to str
        Label value -> structure name (0 is the background).
    training : tuple of SegmentationCase
        Images with their label maps, case ids from the file names (``la_003``).
    test : tuple of SegmentationCase
        Test images (``label`` None).
    """

    folder: Path
    name: str
    description: str
    modalities: dict[int, str]
    labels: dict[int, str]
    training: tuple[SegmentationCase, ...]
    test: tuple[SegmentationCase, ...]

    @property
    def n_labels(self) -> int:
        """Number of foreground labels (the largest label value)."""
        return max(self.labels, default=0)


def _case_id(path: str) -> str:
    name = Path(path).name
    for extension in (".nii.gz", ".nii"):
        if name.endswith(extension):
            return name[: -len(extension)]
    return name


def _int_keys(mapping, what: str, path: Path) -> dict[int, str]:
    if not isinstance(mapping, dict):
        raise InputError(f"{path}: {what!r} must be an object such as {{\"0\": \"background\"}}.")
    try:
        return {int(key): str(value) for key, value in mapping.items()}
    except ValueError:
        raise InputError(f"{path}: the keys of {what!r} must be integers, got {', '.join(mapping)}.") from None


def read_decathlon(folder: str | Path) -> DecathlonTask:
    """Read a Decathlon task folder (``dataset.json``, ``imagesTr/``, ``labelsTr/``, ``imagesTs/``).

    Raises
    ------
    InputError
        No or invalid ``dataset.json``, missing keys, listed files that do not exist (the first ones are named),
        non-integer label keys.
    """
    folder = Path(folder)
    path = folder / "dataset.json"
    if not path.is_file():
        raise InputError(f"{folder} has no dataset.json: give a Medical Segmentation Decathlon task folder "
                         "(dataset.json, imagesTr/, labelsTr/).")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path} is not valid JSON ({error}); fix the file.") from None
    missing = [key for key in ("labels", "training") if key not in content]
    if missing:
        raise InputError(f"{path} lacks {', '.join(missing)}; a Decathlon dataset.json lists its labels and "
                         "training cases.")
    labels = _int_keys(content["labels"], "labels", path)
    modalities = _int_keys(content.get("modality", {"0": "image"}), "modality", path)
    training, absent = [], []
    for entry in content["training"]:
        if not isinstance(entry, dict) or "image" not in entry or "label" not in entry:
            raise InputError(f"{path}: each training entry needs 'image' and 'label', got {entry!r}.")
        image, label = folder / entry["image"], folder / entry["label"]
        absent += [str(p.relative_to(folder)) for p in (image, label) if not p.is_file()]
        training.append(SegmentationCase(_case_id(entry["image"]), image, label,
                                         channel=0 if len(modalities) > 1 else None))
    test = []
    for entry in content.get("test", []):
        image = folder / (entry["image"] if isinstance(entry, dict) else entry)
        if not image.is_file():
            absent.append(str(image.relative_to(folder)))
        test.append(SegmentationCase(_case_id(image.name), image, None, channel=0 if len(modalities) > 1 else None))
    if absent:
        raise InputError(f"{path} lists {len(absent)} file(s) that do not exist (first: "
                         f"{', '.join(absent[:_N_LISTED])}); complete the folder or fix dataset.json.")
    if not training:
        raise InputError(f"{path} lists no training case.")
    return DecathlonTask(folder, str(content.get("name", folder.name)), str(content.get("description", "")),
                         modalities, labels, tuple(training), tuple(test))


def decathlon_to_caps(folder: str | Path, output: str | Path, *, channel: int | str = 0,
                      include_test: bool = False) -> Path:
    """Convert a Decathlon task folder to a CAPS with masks; returns its ``data.tsv``.

    Parameters
    ----------
    folder : path
        The task folder.
    output : path
        The CAPS to create (must not exist, or be empty).
    channel : int or str
        Modality kept from multi-modal images: its index or its name in ``dataset.json`` (``"FLAIR"``).
    include_test : bool
        Also convert the test images (without masks; predict them with ``--no_labels``).

    Returns
    -------
    Path
        ``<output>/data.tsv``: participant_id (``sub-`` + the case id without ``_``), session_id ``ses-M000``,
        diagnosis (``lesion``, ``no_lesion`` or ``unlabelled``), case_id, ``volume_label<k>`` (mL, 0 for test
        images).
    """
    task = read_decathlon(folder)
    if isinstance(channel, str) and not channel.isdigit():
        names = {name.lower(): index for index, name in task.modalities.items()}
        if channel.lower() not in names:
            raise InputError(f"Modality {channel!r} is not in {task.folder / 'dataset.json'} (modalities: "
                             f"{', '.join(task.modalities.values())}).")
        index = names[channel.lower()]
    else:
        index = int(channel)
        if index not in task.modalities:
            raise InputError(f"channel {index} is not a modality of {task.folder / 'dataset.json'} (modalities: "
                             f"{', '.join(f'{k}: {v}' for k, v in task.modalities.items())}).")
    cases = [*task.training, *(task.test if include_test else ())]
    cases = [SegmentationCase(c.case_id, c.image, c.label, channel=index if c.channel is not None else None)
             for c in cases]
    return write_segmentation_caps(cases, output, source="decathlon", description={
        "name": task.name, "folder": str(task.folder.resolve()), "channel": index,
        "modality": task.modalities.get(index, ""), "labels": {str(k): v for k, v in task.labels.items()}})
