"""Networks and the registry of their names (``--architecture``).

``import clinicadl.models`` does not import torch: the public names below are loaded from their modules on first
access (PEP 562 ``__getattr__``), so that the command line can list options cheaply. ``from clinicadl.models import
build_model`` (or importing any submodule) imports torch.

- :mod:`~clinicadl.models.registry`: ``MODELS``, ``build_model``, ``list_models``, ``ModelInfo``.
- :mod:`~clinicadl.models.checkpoint`: ``save_model``, ``load_model_state`` (ClinicaDL 1.x ``model.pth.tar``).
- :mod:`~clinicadl.models.initialization`: ``init_weights``, ``seeded`` (seeded weights, caller's RNG untouched).
- Networks: ``Conv5_FC3``, ``Conv4_FC3`` (:mod:`~clinicadl.models.conv_fc`), ``ResNet3D``
  (:mod:`~clinicadl.models.resnet`), ``AE_Conv5_FC3``, ``AE_Conv4_FC3`` (:mod:`~clinicadl.models.autoencoder`),
  ``TinyCNN``, ``TinyAE`` (:mod:`~clinicadl.models.tiny`), ``UNet3D``, ``TinyUNet3D`` (segmentation,
  :mod:`~clinicadl.models.unet`), ``DenseNet121``, ``DenseNet3D``, ``SEResNet50``, ``SEResNet3D`` (MONAI,
  :mod:`~clinicadl.models.monai_nets`).
- ClinicaDL 1.x's generative networks: ``CAE_half`` (:mod:`~clinicadl.models.cae_half`), ``CVAE_3D``,
  ``CVAE_3D_half``, ``CVAE_3D_final_conv`` (:mod:`~clinicadl.models.cvae`), ``VanillaDenseVAE``,
  ``VanillaSpatialVAE``, ``Vanilla3DdenseVAE``, ``Vanilla3DspacialVAE`` (:mod:`~clinicadl.models.vanilla_vae`),
  ``GeneratorUNet`` (:mod:`~clinicadl.models.generator_unet`); the domain-adaptation ``Conv5_FC3_SSDA``
  (:mod:`~clinicadl.models.ssda`).
"""

from __future__ import annotations

import importlib
from typing import Any

_LOCATIONS = {
    "MODELS": "registry",
    "TASKS": "registry",
    "ModelEntry": "registry",
    "ModelInfo": "registry",
    "build_model": "registry",
    "count_parameters": "registry",
    "list_models": "registry",
    "load_model_state": "checkpoint",
    "save_model": "checkpoint",
    "init_weights": "initialization",
    "seeded": "initialization",
    "Conv5_FC3": "conv_fc",
    "Conv4_FC3": "conv_fc",
    "ResNet3D": "resnet",
    "AE_Conv5_FC3": "autoencoder",
    "AE_Conv4_FC3": "autoencoder",
    "TinyCNN": "tiny",
    "TinyAE": "tiny",
    "UNet3D": "unet",
    "TinyUNet3D": "unet",
    "DenseNet121": "monai_nets",
    "DenseNet3D": "monai_nets",
    "SEResNet50": "monai_nets",
    "SEResNet3D": "monai_nets",
    "CAE_half": "cae_half",
    "CVAE_3D": "cvae",
    "CVAE_3D_half": "cvae",
    "CVAE_3D_final_conv": "cvae",
    "VanillaDenseVAE": "vanilla_vae",
    "VanillaSpatialVAE": "vanilla_vae",
    "Vanilla3DdenseVAE": "vanilla_vae",
    "Vanilla3DspacialVAE": "vanilla_vae",
    "GeneratorUNet": "generator_unet",
    "Conv5_FC3_SSDA": "ssda",
}

__all__ = sorted(_LOCATIONS)


def __getattr__(name: str) -> Any:
    if name in _LOCATIONS:
        module = importlib.import_module(f"clinicadl.models.{_LOCATIONS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'clinicadl.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LOCATIONS])
