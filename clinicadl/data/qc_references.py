"""The reference files of ``clinicadl quality-check``: upstream's QC network weights and masks, found locally.

ClinicaDL 1.x downloads them from the Aramis lab server into ``~/.cache/clinicadl/<folder>/`` on first use. This
clinicadl never downloads: a file is taken from the option that names it (``--network_weights``,
``--eyes_segmentation``, ``--contour_mask``) or from upstream's cache (so a machine on which ClinicaDL 1.x has run
already has them); otherwise the command stops with one message saying where to get the file and which option takes
it. A file whose SHA-256 differs from upstream's is used (it may be a network you trained) and the difference is
logged.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from clinicadl.errors import InputError

__all__ = ["EYES_SEGMENTATION", "PET_CONTOUR_MASK", "QC_WEIGHTS", "ReferenceFile", "locate_reference"]

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReferenceFile:
    """One file that upstream downloads for a quality check.

    Attributes
    ----------
    filename : str
        Its name on the server and in the cache.
    url : str
        The folder of the server that holds it.
    sha256 : str
        Upstream's checksum.
    cache_folder : str
        Sub-folder of ``~/.cache/clinicadl`` where ClinicaDL 1.x keeps it.
    option : str
        Our option that takes a local copy.
    what : str
        What it is, for messages.
    """

    filename: str
    url: str
    sha256: str
    cache_folder: str
    option: str
    what: str

    @property
    def cached(self) -> Path:
        """Where ClinicaDL 1.x keeps the file after downloading it."""
        return Path.home() / ".cache" / "clinicadl" / self.cache_folder / self.filename


_MODELS = "https://aramislab.paris.inria.fr/files/data/models/dl/qc/"
QC_WEIGHTS: dict[str, ReferenceFile] = {
    "darq": ReferenceFile("resnet_18_darq.pth", _MODELS,
                          "321928e0532f1be7a8dd7f5d805b747c7147ff52594f77ffed0858ab19c5df03", "models",
                          "--network_weights", "the weights of upstream's darq QC network"),
    "deep_qc": ReferenceFile("resnet18.pth.tar", _MODELS,
                             "a97a781be3820b06424fe891ec405c78b87ad51a27b6b81614dbdb996ce60104", "models",
                             "--network_weights", "the weights of upstream's deep_qc QC network"),
    "sq101": ReferenceFile("sq101_darq.pth", _MODELS,
                           "1f4f3ebd20aaa726d634165a89df12461d9b7c6f2f45931bd29d16cf2616d00f", "models",
                           "--network_weights", "the weights of upstream's sq101 QC network"),
}
"""Upstream's pretrained networks of ``quality-check t1-linear --network``."""

EYES_SEGMENTATION = ReferenceFile(
    "eyes_segmentation.nii.gz", "https://aramislab.paris.inria.fr/files/data/template/",
    "56f699c06cafc62ad8bb5b41b188c7c412d684d810a11d6f4cbb441c0ce944ee", "segmentation", "--eyes_segmentation",
    "the eyes segmentation in the DARTEL template space (frontal similarity of quality-check t1-volume)")
PET_CONTOUR_MASK = ReferenceFile(
    "qc_pet_mask_contour.nii.gz", "https://aramislab.paris.inria.fr/files/data/masks/",
    "0c561ce7de343219e42861b87a359420f9d485da37a8f64d1366ee9bb5460ee6", "mask", "--contour_mask",
    "the contour mask of the MNI brain (quality-check pet-linear)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate_reference(reference: ReferenceFile, given: str | Path | None, command: str) -> Path:
    """The local file of ``reference``: ``given`` if set, else upstream's cached copy.

    Parameters
    ----------
    reference : ReferenceFile
        The file needed.
    given : path or None
        The value of ``reference.option``.
    command : str
        The command, for the message (e.g. ``quality-check t1-linear``).

    Raises
    ------
    InputError
        ``given`` is not a file, or no file was given and none is cached: the message names the URL to fetch it
        from, the option that takes it and the cache folder where ClinicaDL 1.x keeps it.
    """
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise InputError(f"{reference.option} {path}: no such file; give the path of {reference.filename} "
                             f"({reference.what}).")
    else:
        path = reference.cached
        if not path.is_file():
            raise InputError(
                f"clinicadl {command} needs {reference.what} ({reference.filename}), which this clinicadl does "
                f"not download: fetch it from {reference.url}{reference.filename} (sha256 {reference.sha256}) "
                f"and give it with {reference.option} PATH, or put it at {path}, where ClinicaDL 1.x keeps it.")
    if _sha256(path) != reference.sha256:
        _logger.info("%s is not upstream's %s (its SHA-256 differs); using it as given.", path, reference.filename)
    return path
