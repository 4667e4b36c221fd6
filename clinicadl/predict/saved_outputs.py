"""Network outputs saved per element by ``clinicadl predict --save_tensor | --save_latent_tensor | --save_nifti``.

In ``split-<i>/best-<m>/<group>/``, with ClinicaDL 1.6.1's folder and file names (``<mode>`` is ``image``,
``patch``, ``slice`` or ``roi``, ``<id>`` the element's ``<mode>_id``):

=======================  ======================================================================================
option                   files
=======================  ======================================================================================
``--save_tensor``        ``tensors/<participant>_<session>_<mode>-<id>_input.pt`` and ``_output.pt``: the input
                         given to the network and its output, without the batch dimension
``--save_latent_tensor`` ``latent_tensors/<participant>_<session>_<mode>-<id>_latent.pt``: the code of an
                         autoencoder (a VAE: the posterior mean)
``--save_nifti``         ``nifti_images/<participant>_<session>_image_input.nii.gz`` and ``_image_output.nii.gz``:
                         first channel of input and reconstruction (image mode, reconstruction task)
=======================  ======================================================================================

Tensors are saved on the CPU in float32 (``torch.load(..., weights_only=True)`` reads them). The NIfTI images have
an identity affine, as upstream's (the extracted tensors do not carry the affine of their image); a batch that
holds ``affine`` (segmentation datasets) gives its own.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from clinicadl.atomic import atomic_write_bytes
from clinicadl.errors import InputError

__all__ = ["LATENT_FOLDER", "NIFTI_FOLDER", "TENSOR_FOLDER", "LatentCapture", "chain", "element_names", "output_steps",
           "write_nifti",
           "write_tensors"]

TENSOR_FOLDER = "tensors"
LATENT_FOLDER = "latent_tensors"
NIFTI_FOLDER = "nifti_images"


def element_names(batch: dict, mode: str) -> list[str]:
    """``<participant>_<session>_<mode>-<id>`` of each element of a batch (upstream's file-name stem)."""
    ids = batch.get(f"{mode}_id", batch.get("image_id"))
    ids = ids.tolist() if torch.is_tensor(ids) else list(ids) if ids is not None else [0] * len(batch["image"])
    return [f"{p}_{s}_{mode}-{int(i)}" for p, s, i in zip(batch["participant_id"], batch["session_id"], ids)]


def _save(tensor: torch.Tensor, path: Path) -> Path:
    buffer = io.BytesIO()
    torch.save(tensor.detach().float().cpu().contiguous().clone(), buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def write_tensors(outputs: torch.Tensor, batch: dict, folder: str | Path, mode: str) -> list[Path]:
    """Write input and output of each element of a batch in ``folder`` (``--save_tensor``)."""
    folder = Path(folder)
    written = []
    for i, stem in enumerate(element_names(batch, mode)):
        written.append(_save(batch["image"][i], folder / f"{stem}_input.pt"))
        written.append(_save(outputs[i], folder / f"{stem}_output.pt"))
    return written


def write_nifti(outputs: torch.Tensor, batch: dict, folder: str | Path) -> list[Path]:
    """Write the first channel of input and reconstruction of each image as NIfTI (``--save_nifti``)."""
    import nibabel as nib

    folder = Path(folder)
    written = []
    for i, (participant, session) in enumerate(zip(batch["participant_id"], batch["session_id"])):
        affine = batch["affine"][i].numpy() if "affine" in batch else np.eye(4)
        for name, tensor in (("input", batch["image"][i]), ("output", outputs[i])):
            image = nib.Nifti1Image(tensor[0].detach().float().cpu().numpy(), affine)
            data = gzip.compress(image.to_bytes(), compresslevel=1, mtime=0)
            written.append(atomic_write_bytes(folder / f"{participant}_{session}_image_{name}.nii.gz", data))
    return written


class LatentCapture:
    """Keeps the latent code of each forward pass of an autoencoder (``--save_latent_tensor``).

    A VAE (:class:`~clinicadl.models.variational.VariationalAutoEncoder`) gives the mean of its posterior; a
    convolutional autoencoder the output of its encoder (its bottleneck, before the decoder).

    Raises
    ------
    InputError
        When the network has no latent code (not an autoencoder).
    """

    def __init__(self, network: nn.Module, architecture: str) -> None:
        from clinicadl.models.autoencoder import ConvAutoEncoder

        self.network = network
        self.code: torch.Tensor | None = None
        self._handle = None
        if hasattr(network, "posterior"):
            return
        module = network.dropout if isinstance(network, ConvAutoEncoder) else getattr(network, "encoder", None)
        if not isinstance(module, nn.Module):
            raise InputError(f"--save_latent_tensor: the network {architecture!r} has no latent code (it is not an "
                             "autoencoder); remove --save_latent_tensor.")
        self._handle = module.register_forward_hook(self._keep)

    def _keep(self, module: nn.Module, inputs, output: torch.Tensor) -> None:
        self.code = output

    def latent(self) -> torch.Tensor:
        """The latent codes of the last batch, ``[batch, ...]``."""
        if self._handle is None:
            return self.network.posterior[0]
        return self.code

    def write(self, batch: dict, folder: str | Path, mode: str) -> list[Path]:
        """Write the latent code of each element of the last batch in ``folder``."""
        codes = self.latent()
        return [_save(codes[i], Path(folder) / f"{stem}_latent.pt")
                for i, stem in enumerate(element_names(batch, mode))]

    def close(self) -> None:
        """Remove the hook from the network."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


def chain(*steps: Callable | None) -> Callable | None:
    """One ``on_outputs(outputs, batch)`` calling each given step in turn (None when there is none)."""
    steps = tuple(step for step in steps if step is not None)
    if not steps:
        return None

    def run(outputs: torch.Tensor, batch: dict) -> None:
        for step in steps:
            step(outputs, batch)

    return run


def output_steps(network: nn.Module, parameters: dict, folder: Path, *, save_masks: bool = False,
                 save_tensor: bool = False, save_nifti: bool = False,
                 save_latent_tensor: bool = False) -> tuple[Callable | None, LatentCapture | None]:
    """The ``on_outputs(outputs, batch)`` step writing what the options ask for, in ``folder`` (a model's group).

    Returns the step (None when nothing is asked) and the latent capture to close after inference (or None).
    """
    task, mode = parameters["network_task"], parameters["mode"]
    steps: list[Callable] = []
    if save_masks and task == "segmentation":
        from clinicadl.predict.segmentation import write_masks

        steps.append(lambda outputs, batch: write_masks(outputs, batch, folder / "masks"))
    if save_tensor:
        steps.append(lambda outputs, batch: write_tensors(outputs, batch, folder / TENSOR_FOLDER, mode))
    if save_nifti:
        steps.append(lambda outputs, batch: write_nifti(outputs, batch, folder / NIFTI_FOLDER))
    capture = None
    if save_latent_tensor:
        capture = LatentCapture(network, str(parameters.get("architecture", "")))
        steps.append(lambda outputs, batch: capture.write(batch, folder / LATENT_FOLDER, mode))
    return chain(*steps), capture
