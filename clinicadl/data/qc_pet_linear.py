"""``quality-check pet-linear``: reject PET images whose signal spills outside the brain after pet-linear.

As ClinicaDL 1.x (``clinicadl/quality_check/pet_linear/``): each SUVR image is min-max normalised to [0, 1] and
its voxels below 0.35 are set to 0; ``pass_probability`` is one minus the mean of the normalised image over the
voxels of a contour mask around the MNI brain (:data:`clinicadl.data.qc_references.PET_CONTOUR_MASK`), and ``pass``
is ``pass_probability > threshold``. A well registered image has little signal on the contour (a probability near
1); a misregistered one, or one with a bright artefact there, has much. The output TSV has upstream's columns
``participant_id session_id pass_probability pass``, sorted by increasing probability (the worst first). Upstream
loops over voxels; the same sum is computed here on whole arrays.
"""

from __future__ import annotations

import io
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from clinicadl.atomic import atomic_write_text
from clinicadl.data.caps import file_type, find_images, list_sessions
from clinicadl.data.qc_references import PET_CONTOUR_MASK, locate_reference
from clinicadl.errors import CAPSError, InputError

__all__ = ["CONTOUR_THRESHOLD", "contour_pass_probability", "quality_check_pet_linear"]

_logger = logging.getLogger(__name__)

CONTOUR_THRESHOLD = 0.35
"""Normalised intensities below this are ignored on the contour (upstream's value)."""


def contour_pass_probability(image: np.ndarray, contour: np.ndarray) -> float:
    """``1 - mean`` over the contour voxels (``contour == 1``) of the min-max normalised image, values below
    :data:`CONTOUR_THRESHOLD` set to 0.

    Examples
    --------
    >>> image = np.zeros((4, 4, 4)); image[1:3, 1:3, 1:3] = 1.0
    >>> contour = np.zeros((4, 4, 4)); contour[0] = 1
    >>> contour_pass_probability(image, contour)
    1.0
    """
    image = np.asarray(image, dtype=np.float64)
    low, high = image.min(), image.max()
    normalised = (image - low) / (high - low) if high > low else np.zeros_like(image)
    normalised[normalised < CONTOUR_THRESHOLD] = 0
    inside = np.asarray(contour).astype(int) == 1
    return float(1 - normalised[inside].sum() / np.sum(contour))


def _score(task: tuple[str, str, str, np.ndarray]) -> tuple[str, str, float]:
    participant, session, path, contour = task
    try:
        image = np.asarray(nib.load(path).get_fdata(dtype=np.float64))
    except Exception as error:  # nibabel raises many types for unreadable files
        raise CAPSError(f"Cannot read PET image {path}: {error}") from None
    if image.shape != contour.shape:
        raise CAPSError(f"{path} has shape {image.shape}, the contour mask {contour.shape}: use the uncropped "
                        "images (--use_uncropped_image) or a contour mask of the same grid.")
    return participant, session, contour_pass_probability(image, contour)


def quality_check_pet_linear(
    caps_directory: str | Path, output_tsv: str | Path, tracer: str, suvr_reference_region: str, *,
    use_uncropped_image: bool = False, participants_tsv: str | Path | None = None, threshold: float = 0.9,
    n_proc: int = 1, contour_mask: str | Path | None = None,
) -> pd.DataFrame:
    """Write ``output_tsv`` (see the module docstring) and return its table.

    Raises
    ------
    InputError
        ``output_tsv`` exists already (as upstream, it is never replaced), or no contour mask given nor cached.
    CAPSError
        A session without its pet-linear image, or an image of another grid than the mask.
    """
    output_tsv = Path(output_tsv)
    if output_tsv.exists():
        raise InputError(f"{output_tsv} already exists: choose another output file name (it is never replaced).")
    mask_path = locate_reference(PET_CONTOUR_MASK, contour_mask, "quality-check pet-linear")
    try:
        contour = np.asarray(nib.load(mask_path).get_fdata())
    except Exception as error:  # nibabel raises many types for unreadable files
        raise InputError(f"Cannot read the contour mask {mask_path}: {error}") from None
    sessions = list_sessions(caps_directory, participants_tsv)
    pattern = file_type("pet-linear", use_uncropped_image=use_uncropped_image, tracer=tracer,
                        suvr_reference_region=suvr_reference_region)
    images = find_images(caps_directory, sessions, pattern)
    tasks = [(image.participant_id, image.session_id, str(image.path), contour) for image in images]
    with ThreadPoolExecutor(max_workers=max(1, n_proc)) as pool:  # threads: reading gzip and numpy release the GIL
        scores = list(pool.map(_score, tasks))
    table = pd.DataFrame([(participant, session, probability, probability > threshold)
                          for participant, session, probability in scores],
                         columns=["participant_id", "session_id", "pass_probability", "pass"])
    table = table.sort_values("pass_probability", kind="stable")
    buffer = io.StringIO()
    table.to_csv(buffer, sep="\t", index=False)
    atomic_write_text(output_tsv, buffer.getvalue())
    _logger.info("Quality check metrics written to %s.", output_tsv)
    return table.reset_index(drop=True)
