"""Torch datasets over the tensor cache of a CAPS (written by ``clinicadl prepare-data``).

One :class:`CapsDataset` serves the four modes. Item ``i`` is element ``i % n`` (patch, slice or ROI; the
image itself in image mode) of image ``i // n``, ``n`` being the number of elements per image. Items are dicts
like ClinicaDL 1.x's: ``image`` (float32 tensor), ``label``, ``participant_id``, ``session_id``, ``image_id``
(0: one image per session), ``<mode>_id`` (patch_id, slice_id or roi_id; image mode has image_id only; a slice is
numbered by its index in the volume, as upstream: :meth:`CapsDataset.element_id`) and
``image_path`` (the tensor file read).

Processing order, as upstream: read tensor (from the cache) -> cut the element (when ``prepare_dl`` is false)
-> min-max normalisation of that element (:func:`~clinicadl.data.normalization.min_max_normalize`) ->
augmentation (:class:`~clinicadl.data.augmentation.Augmentation`, keyed by ``(epoch, index)``).

The in-memory cache (:data:`TENSOR_CACHE`) is shared by every dataset of the process and keyed by file
(path, modification time, size): however many epochs, replicates or datasets read a file, it is read from disk
once while it fits in the byte budget (least recently used files leave first). DataLoader workers are processes
with their own cache: use ``persistent_workers=True`` so the workers' caches survive across epochs.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch.utils.data import Dataset

from clinicadl.data.augmentation import Augmentation
from clinicadl.data.caps import check_caps, find_images
from clinicadl.data.extraction import (
    check_parameters,
    discarded_pair,
    element_count,
    element_shape,
    extract_element,
    find_roi_masks,
    load_extraction_json,
    load_mask,
    nifti_shape,
    tensor_paths,
    tensor_shape,
)
from clinicadl.data.normalization import min_max_normalize
from clinicadl.errors import CAPSError, InputError

DEFAULT_CACHE_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class CacheInfo:
    """Counters of :class:`TensorCache`: ``hits`` and ``misses`` (disk reads) since the last clear."""

    hits: int
    misses: int
    n_items: int
    n_bytes: int
    max_bytes: int


class TensorCache:
    """A least-recently-used cache of tensor files with a byte budget (thread-safe).

    Files are keyed by (resolved path, mtime_ns, size), so a file rewritten by ``prepare-data`` is read again.
    A file larger than the budget is read every time and never stored.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[tuple[str, int, int], torch.Tensor] = OrderedDict()
        self._bytes = self._hits = self._misses = 0
        self._lock = threading.Lock()

    def get(self, path: str | Path) -> torch.Tensor:
        """The tensor saved in ``path``; do not modify it in place (it is shared)."""
        try:
            status = os.stat(path)
        except OSError:
            raise CAPSError(f"Tensor file {path} is missing; run 'clinicadl prepare-data' again.") from None
        key = (os.path.realpath(path), status.st_mtime_ns, status.st_size)
        with self._lock:
            tensor = self._items.get(key)
            if tensor is not None:
                self._items.move_to_end(key)
                self._hits += 1
                return tensor
            self._misses += 1
        tensor = _read_tensor(path)
        size = tensor.element_size() * tensor.nelement()
        with self._lock:
            if size <= self.max_bytes and key not in self._items:
                self._items[key] = tensor
                self._bytes += size
                while self._bytes > self.max_bytes:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= old.element_size() * old.nelement()
        return tensor

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._items), self._bytes, self.max_bytes)

    def clear(self) -> None:
        """Empty the cache and reset the counters."""
        with self._lock:
            self._items.clear()
            self._bytes = self._hits = self._misses = 0

    def resize(self, max_bytes: int) -> None:
        """Change the byte budget (evicting the oldest files if needed)."""
        with self._lock:
            self.max_bytes = int(max_bytes)
            while self._items and self._bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.element_size() * old.nelement()


TENSOR_CACHE = TensorCache()
"""The cache shared by every :class:`CapsDataset` of this process."""


def _read_tensor(path: str | Path) -> torch.Tensor:
    try:
        tensor = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:
        raise CAPSError(f"Cannot read tensor file {path} ({type(error).__name__}); rerun 'clinicadl prepare-data', "
                        "which rewrites invalid tensors.") from None
    if not isinstance(tensor, torch.Tensor):
        raise CAPSError(f"{path} does not hold a tensor; rerun 'clinicadl prepare-data'.")
    return tensor.to(torch.float32)


class CapsDataset(Dataset):
    """Images, patches, slices or ROIs of a CAPS tensor cache, with labels.

    Parameters
    ----------
    caps_directory : path
        The CAPS, prepared with ``clinicadl prepare-data``.
    data : DataFrame or path of a TSV
        Rows with participant_id, session_id and the label column.
    preprocessing : dict or str
        The extraction JSON (a dict, e.g. ``maps.json``'s ``preprocessing_dict``) or its file name in
        ``<caps>/tensor_extraction/``.
    label : str, optional
        Label column; None (reconstruction) gives NaN labels.
    label_code : mapping, optional
        Label value -> integer class (classification); without it labels are floats (regression).
    normalize : bool
        Min-max normalisation of each returned tensor (ClinicaDL's ``normalize``, default true).
    augmentation : sequence of str
        Data augmentations (see :mod:`clinicadl.data.augmentation`); empty for evaluation.
    seed : int
        Seed of the augmentation stream.
    cache : bool
        Use the process-wide :data:`TENSOR_CACHE`.

    Raises
    ------
    CAPSError
        When the extraction JSON does not match the CAPS: its pattern finds no image for some sessions, the
        tensors it describes are missing (the message says which tensors the session has instead), or they do
        not have the shape of its mode.
    """

    def __init__(
        self,
        caps_directory: str | Path,
        data: pd.DataFrame | str | Path,
        preprocessing: Mapping | str,
        *,
        label: str | None = None,
        label_code: Mapping | None = None,
        normalize: bool = True,
        augmentation: Sequence[str] = (),
        seed: int = 0,
        cache: bool = True,
    ):
        self.caps_directory = check_caps(caps_directory)
        if isinstance(preprocessing, str):
            self.preprocessing = load_extraction_json(self.caps_directory, preprocessing)
            source = f"extraction JSON {preprocessing}"
        else:
            source = f"extraction JSON {preprocessing.get('extract_json', '(dict)')}"
            self.preprocessing = check_parameters(dict(preprocessing), source=source)
        self.data = self._check_data(data, label)
        self.mode = self.preprocessing["mode"]
        self.prepare_dl = bool(self.preprocessing.get("prepare_dl", self.mode == "image"))
        self.label, self.label_code = label, dict(label_code) if label_code is not None else None
        self.normalize, self.cache = normalize, cache
        self.augmentation = Augmentation(augmentation, seed=seed)
        self.epoch = 0
        pattern = self.preprocessing["file_type"]["pattern"]
        try:
            self.images = find_images(self.caps_directory, self.data, pattern)
        except CAPSError as error:
            raise CAPSError(f"The {source} (preprocessing {self.preprocessing['preprocessing']}) does not match "
                            f"the CAPS: {error}") from None
        self.n_elements = self._count_elements()
        if self.n_elements < 1:
            raise CAPSError(f"The {source} gives no {self.mode} for images of shape {self._first_shape()}.")
        self._masks = self._roi_masks()
        self.paths = [tensor_paths(self.caps_directory, image, self.preprocessing, self.n_elements)
                      for image in self.images]
        self._check_tensors(source)

    # ------------------------------------------------------------------ construction helpers

    @staticmethod
    def _check_data(data, label) -> pd.DataFrame:
        if not isinstance(data, pd.DataFrame):
            data = pd.read_csv(data, sep="\t", dtype={"participant_id": str, "session_id": str})
        needed = ["participant_id", "session_id", *([label] if label else [])]
        missing = [column for column in needed if column not in data.columns]
        if missing:
            raise InputError(f"The data table lacks column(s) {', '.join(missing)} (columns found: "
                             f"{', '.join(map(str, data.columns))}).")
        return data.reset_index(drop=True)

    def _count_elements(self) -> int:
        parameters = self.preprocessing
        stored = {"patch": "num_patches", "slice": "num_slices", "roi": "num_rois"}.get(self.mode)
        if self.mode == "image":
            return 1
        if self.mode == "roi":
            return len(parameters["roi_list"])
        if stored in parameters:
            return int(parameters[stored])
        return element_count(self._first_shape(), parameters)

    def _first_shape(self) -> tuple[int, ...]:
        try:
            return nifti_shape(self.images[0].path)
        except CAPSError:  # the NIfTI may be a placeholder: use the saved image tensor
            image_paths = tensor_paths(self.caps_directory, self.images[0], {**self.preprocessing, "mode": "image"}, 1)
            shape = tensor_shape(image_paths[0])
            if shape is None:
                raise
            return shape[1:]

    def _roi_masks(self) -> list:
        if self.mode != "roi" or self.prepare_dl:
            return []
        found = find_roi_masks(self.caps_directory, self.preprocessing, self._first_shape())
        return [load_mask(found[roi]) for roi in self.preprocessing["roi_list"]]

    def _check_tensors(self, source: str) -> None:
        missing = [(image, path) for image, paths in zip(self.images, self.paths) for path in paths
                   if not path.is_file()]
        if missing:
            image, path = missing[0]
            session = self.caps_directory / "subjects" / image.participant_id / image.session_id
            present = sorted({f"{folder.parent.name}/{folder.name}"
                              for folder in (session / "deeplearning_prepare_data").glob("*_based/*")
                              if folder.is_dir() and any(folder.iterdir())})
            raise CAPSError(f"The {source} does not match the CAPS: {len(missing)} tensor file(s) it describes "
                            f"are missing, e.g. {path} (this session has tensors in: "
                            f"{', '.join(present) or 'none'}); run 'clinicadl prepare-data {self.mode}' with the "
                            "JSON's options, or give the JSON that was used for this CAPS.")
        first = self.paths[0][0]
        shape = tensor_shape(first)
        if shape is None:
            raise CAPSError(f"{first} is not a float32 tensor saved by prepare-data; rerun prepare-data.")
        parameters = self.preprocessing if self.prepare_dl else {**self.preprocessing, "mode": "image"}
        if not _compatible(shape, parameters):
            raise CAPSError(f"The {source} does not match the CAPS: it says mode {self.mode!r} "
                            f"({'features' if self.prepare_dl else 'image'} tensors) but {first} has shape "
                            f"{list(shape)}; give the JSON that was used for this CAPS, or rerun prepare-data.")

    # ------------------------------------------------------------------ dataset protocol

    def __len__(self) -> int:
        return len(self.images) * self.n_elements

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which keys the augmentation stream together with the item index."""
        self.epoch = int(epoch)

    def _read(self, path: Path) -> torch.Tensor:
        return TENSOR_CACHE.get(path) if self.cache else _read_tensor(path)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} items")
        image_index, element = divmod(int(index), self.n_elements)
        image = self.images[image_index]
        if self.prepare_dl:
            path = self.paths[image_index][element]
            tensor = self._read(path)
        else:
            path = self.paths[image_index][0]
            volume = self._read(path)
            shape = tuple(volume.shape[1:])
            if (shape != self._masks[element].shape if self._masks
                    else element_count(shape, self.preprocessing) != self.n_elements):
                raise CAPSError(f"{path} has shape {list(volume.shape)}, unlike the first image of the dataset: "
                                f"in {self.mode} mode all images must have the same shape.")
            tensor = extract_element(volume, self.preprocessing, element,
                                     mask=self._masks[element] if self._masks else None)
        tensor = min_max_normalize(tensor) if self.normalize else tensor.clone()
        if self.augmentation:
            tensor = self.augmentation(tensor, key=(self.epoch, index))
        item = {
            "image": tensor,
            "label": self._label(image_index),
            "participant_id": image.participant_id,
            "session_id": image.session_id,
            "image_id": 0,
            "image_path": str(path),
        }
        if self.mode != "image":
            item[f"{self.mode}_id"] = self.element_id(element)
        return item

    def element_id(self, element: int) -> int:
        """The ``<mode>_id`` of element ``element`` of an image, as upstream numbers it.

        Slices are numbered by their index in the volume (the first ``discarded_slices`` are skipped, so with 10
        discarded the first slice is 10, as in upstream's prediction TSVs and tensor file names); patches and
        ROIs by their rank.
        """
        if self.mode == "slice":
            return discarded_pair(self.preprocessing)[0] + int(element)
        return int(element)

    def _label(self, image_index: int):
        if not self.label:
            return float("nan")
        value = self.data.loc[image_index, self.label]
        if self.label_code is not None:
            if value not in self.label_code:
                raise InputError(f"Label {value!r} of {self.images[image_index].participant_id} "
                                 f"{self.images[image_index].session_id} is not in label_code "
                                 f"{sorted(self.label_code)}.")
            return int(self.label_code[value])
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InputError(f"Label {value!r} of column {self.label!r} is not a number: give label_code "
                             "(class name -> code) for classification.") from None

    @property
    def size(self) -> tuple[int, ...]:
        """Shape of the tensor of one item (the network's input size)."""
        return tuple(self[0]["image"].shape)


def _compatible(shape: tuple[int, ...], parameters: dict) -> bool:
    mode = parameters["mode"]
    if mode in ("image", "roi"):
        return len(shape) == 4 and shape[0] == 1
    if mode == "patch":
        return tuple(shape) == element_shape((), parameters)
    channels = 3 if parameters["slice_mode"] == "rgb" else 1
    return len(shape) == 3 and shape[0] == channels


def cache_info() -> CacheInfo:
    """Counters of the process-wide tensor cache."""
    return TENSOR_CACHE.info()


def clear_cache() -> None:
    """Empty the process-wide tensor cache and reset its counters."""
    TENSOR_CACHE.clear()


def set_cache_size(max_bytes: int) -> None:
    """Set the byte budget of the process-wide tensor cache (default 2 GiB)."""
    TENSOR_CACHE.resize(max_bytes)
