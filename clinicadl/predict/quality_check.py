"""``quality-check t1-linear``: the probability that each t1-linear image is correctly registered, by a QC network.

As ClinicaDL 1.x (``clinicadl/quality_check/t1_linear/quality_check.py``): upstream's pretrained 2D network
(``--network darq | deep_qc | sq101``, :mod:`clinicadl.models.qc_networks`) sees three middle slices of each image
(:func:`clinicadl.data.qc_slices.qc_slices`); the softmax probability of its class 1 is ``pass_probability`` and
``pass`` is ``pass_probability > threshold``. The output TSV has upstream's columns ``participant_id session_id
pass_probability pass``, sorted by decreasing probability. Upstream reads the uncropped t1-linear image
(``*_space-MNI152NLin2009cSym_res-1x1x1_T1w.nii.gz``), or with ``--use_tensor`` its tensor extracted by
``prepare-data image``. The weights are a local file (:func:`clinicadl.data.qc_references.locate_reference`).

References
----------
Fonov V. et al. (2022). DARQ: Deep learning of quality control for stereotaxic registration of human brain MRI to
the T1w MNI-ICBM 152 template. NeuroImage 257, 119266.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import torch

from clinicadl.atomic import atomic_write_text
from clinicadl.data.caps import CAPSImage, file_type, find_images, list_sessions, modality_folder
from clinicadl.data.qc_references import QC_WEIGHTS, locate_reference
from clinicadl.data.qc_slices import qc_slices
from clinicadl.errors import CAPSError, InputError
from clinicadl.models.checkpoint import strip_wrapper_prefixes
from clinicadl.models.qc_networks import QC_NETWORKS, build_qc_network
from clinicadl.runtime.device import autocast, select_device
from clinicadl.runtime.loaders import make_loader

__all__ = ["QC_COLUMNS", "load_qc_network", "quality_check_t1_linear"]

QC_COLUMNS = ("participant_id", "session_id", "pass_probability", "pass")
"""Columns of the output TSV (upstream's)."""

_logger = logging.getLogger(__name__)


def load_qc_network(network: str, weights: str | Path) -> torch.nn.Module:
    """Upstream's QC network ``network`` with the weights of the file ``weights``, in evaluation mode.

    The file holds a state dict (as upstream's files), possibly inside ``{"model": ...}`` or ``{"state_dict": ...}``;
    it is read with ``torch.load(weights_only=True)``. A file for another network is refused, naming the keys.
    """
    if network not in QC_NETWORKS:
        raise InputError(f"--network {network!r}: choose among {', '.join(QC_NETWORKS)}.")
    path = Path(weights)
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a corrupt or unsafe file
        raise InputError(f"Cannot read the QC network weights {path}: {' '.join(str(error).split())[:200]}; give "
                         "a state dict saved with torch.save (e.g. upstream's file).") from None
    if isinstance(content, dict):
        for key in ("model", "state_dict"):
            if isinstance(content.get(key), dict):
                content = content[key]
    model = build_qc_network(network)
    if not isinstance(content, dict):
        raise InputError(f"{path} holds no state dict; give the weights file of the {network} network.")
    result = model.load_state_dict(strip_wrapper_prefixes(content), strict=False)
    wrong = [*result.missing_keys, *result.unexpected_keys]
    if wrong:
        raise InputError(f"{path} is not a state dict of the {network} QC network ({len(result.missing_keys)} "
                         f"missing and {len(result.unexpected_keys)} unexpected keys, e.g. {wrong[0]}): choose the "
                         f"--network it was saved from ({', '.join(QC_NETWORKS)}).")
    return model.eval()


@dataclass(frozen=True)
class _QCSet:
    """The QC input of each image (a map-style dataset for the loader)."""

    images: tuple[CAPSImage, ...]
    use_tensor: bool

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        image = self.images[index]
        if self.use_tensor:
            volume = torch.load(image.path, map_location="cpu", weights_only=True)
        else:
            volume = np.asarray(nib.load(image.path).get_fdata(dtype=np.float32))
        return {"image": qc_slices(volume, from_tensor=self.use_tensor), "participant_id": image.participant_id,
                "session_id": image.session_id}


def _tensor_images(caps: Path, images: list[CAPSImage]) -> list[CAPSImage]:
    """The extracted image tensor of each NIfTI image (``prepare-data image``), as upstream's ``--use_tensor``."""
    found, missing = [], []
    for image in images:
        tensor = (caps / "subjects" / image.participant_id / image.session_id / "deeplearning_prepare_data"
                  / "image_based" / modality_folder("t1-linear") / image.path.name.replace(".nii.gz", ".pt"))
        (found if tensor.is_file() else missing).append(CAPSImage(image.participant_id, image.session_id, tensor))
    if missing:
        raise CAPSError(f"--use_tensor: {len(missing)} image tensor(s) missing, e.g. {missing[0].path}; run "
                        f"'clinicadl prepare-data image {caps} t1-linear --use_uncropped_image' first, or drop "
                        "--use_tensor.")
    return found


def quality_check_t1_linear(
    caps_directory: str | Path, output_tsv: str | Path, *, participants_tsv: str | Path | None = None,
    threshold: float = 0.5, batch_size: int = 1, n_proc: int = 0, gpu: bool = False, amp: bool = False,
    network: str = "darq", use_tensor: bool = False, network_weights: str | Path | None = None,
) -> pd.DataFrame:
    """Write ``output_tsv`` (upstream's columns, see the module docstring) and return its table.

    Raises
    ------
    InputError
        No weights (the message says where to get them), an output that is not a ``.tsv`` file, AMP without GPU.
    CAPSError
        A session without its uncropped t1-linear image (or tensor with ``use_tensor``).
    """
    output_tsv = Path(output_tsv)
    if output_tsv.suffix != ".tsv":
        raise InputError(f"Output path {output_tsv} must be a TSV file (ending in .tsv).")
    if amp and not gpu:
        raise InputError("AMP is designed to work with modern GPUs: add --gpu, or remove --amp.")
    weights = locate_reference(QC_WEIGHTS[network], network_weights, "quality-check t1-linear")
    model = load_qc_network(network, weights)
    device = select_device(gpu)
    model = model.to(device)
    sessions = list_sessions(caps_directory, participants_tsv)
    images = find_images(caps_directory, sessions, file_type("t1-linear", use_uncropped_image=True))
    if use_tensor:
        images = _tensor_images(Path(caps_directory), images)
    loader = make_loader(_QCSet(tuple(images), use_tensor), batch_size=batch_size, n_proc=n_proc)
    rows = []
    _logger.info("Quality check will be performed over %d images.", len(images))
    with torch.no_grad():
        for batch in loader:
            with autocast(device, amp):
                probabilities = torch.softmax(model(batch["image"].to(device)).float(), dim=1)[:, 1]
            for participant, session, probability in zip(batch["participant_id"], batch["session_id"],
                                                         probabilities.cpu().tolist()):
                rows.append((participant, session, float(probability), bool(probability > threshold)))
    table = pd.DataFrame(rows, columns=list(QC_COLUMNS)).sort_values("pass_probability", ascending=False,
                                                                         kind="stable")
    buffer = io.StringIO()
    table.to_csv(buffer, sep="\t", index=False)
    atomic_write_text(output_tsv, buffer.getvalue())
    return table.reset_index(drop=True)
