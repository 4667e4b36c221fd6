"""The registry of network names: what ``--architecture`` accepts, and how to build each network.

:data:`MODELS` maps an architecture name (ClinicaDL 1.x names where they exist) to a :class:`ModelEntry`;
:func:`build_model` validates the options once and constructs the network, optionally under a weight-initialisation
seed; :func:`list_models` describes the registry (for ``--help`` texts and the documentation).

This module imports torch; ``clinicadl.models`` itself does not (its names are loaded on first use).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from clinicadl.errors import InputError
from clinicadl.models.autoencoder import AE_Conv4_FC3, AE_Conv5_FC3
from clinicadl.models.cae_half import CAE_half
from clinicadl.models.conv_fc import Conv4_FC3, Conv5_FC3
from clinicadl.models.cvae import CVAE_3D, CVAE_3D_final_conv, CVAE_3D_half
from clinicadl.models.generator_unet import GeneratorUNet
from clinicadl.models.initialization import seeded
from clinicadl.models.layers import NORMALIZATIONS
from clinicadl.models.monai_nets import DenseNet3D, DenseNet121, SEResNet3D, SEResNet50
from clinicadl.models.random_architecture import RandomArchitecture
from clinicadl.models.resnet import ResNet3D
from clinicadl.models.resnet18 import resnet18
from clinicadl.models.squeeze_excitation import SqueezeExcitationCNN
from clinicadl.models.ssda import Conv5_FC3_SSDA
from clinicadl.models.stride_conv import Stride_Conv5_FC3
from clinicadl.models.tiny import TinyAE, TinyCNN
from clinicadl.models.unet import TinyUNet3D, UNet3D
from clinicadl.models.vanilla_vae import Vanilla3DdenseVAE, Vanilla3DspacialVAE, VanillaDenseVAE, VanillaSpatialVAE

TASKS: tuple[str, ...] = ("classification", "regression", "reconstruction", "segmentation")
"""Network tasks (``clinicadl train NETWORK_TASK``)."""

REFERENCE_INPUT_SIZE: tuple[int, ...] = (1, 169, 208, 179)
"""Input of :attr:`ModelInfo.n_parameters`: a t1-linear cropped image (ClinicaDL's image mode)."""

REFERENCE_OUTPUT_SIZE = 2
"""Output size of :attr:`ModelInfo.n_parameters` for classification or regression networks."""


@dataclass(frozen=True)
class ModelEntry:
    """One registered architecture.

    Attributes
    ----------
    constructor : callable
        ``constructor(input_size, output_size, *, dropout, normalization) -> nn.Module``.
    tasks : tuple of str
        Tasks the network can learn (a subset of :data:`TASKS`).
    description : str
        One line for ``--help`` and the documentation.
    spatial_dims : tuple of int
        Supported numbers of spatial dimensions: 2 (slices, ``[C, H, W]``), 3 (images, patches, ROIs,
        ``[C, D, H, W]``).
    options : tuple of str
        Further keyword arguments of the constructor, taken from the training parameters (``maps.json``) of
        the same names (e.g. ``convolutions_dict`` of ``RandomArchitecture``).
    reference_input_size : tuple of int or None
        Input of the parameter count of :func:`list_models` and :func:`describe_model` when the network does not
        take :data:`REFERENCE_INPUT_SIZE` (upstream's input size of the network); None: the default.
    fixed_normalization : str or None
        The normalisation the network always has (upstream's), whatever ``normalization`` says; None when the
        network honours ``normalization``.
    """

    constructor: Callable[..., nn.Module]
    tasks: tuple[str, ...]
    description: str
    spatial_dims: tuple[int, ...]
    options: tuple[str, ...] = ()
    reference_input_size: tuple[int, ...] | None = None
    fixed_normalization: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """Description of a registered architecture, as listed by :func:`list_models`.

    Attributes
    ----------
    name : str
        Architecture name (``--architecture``).
    tasks : tuple of str
        Tasks it supports.
    description : str
        One-line description.
    spatial_dims : tuple of int
        Supported numbers of spatial dimensions (2 and/or 3).
    n_parameters : int
        Number of parameters (learnable or not, buffers excluded) for input :data:`REFERENCE_INPUT_SIZE` (or the
        entry's ``reference_input_size``) and, unless the task is reconstruction, :data:`REFERENCE_OUTPUT_SIZE`
        outputs.
    """

    name: str
    tasks: tuple[str, ...]
    description: str
    spatial_dims: tuple[int, ...]
    n_parameters: int


_PREDICT = ("classification", "regression")
_RECONSTRUCTION = ("reconstruction",)
_VAE_LOSS = ("recons_weight", "kl_weight", "loss")
_REDUCED = (1, 80, 96, 80)
"""Upstream's input of the networks built for ``size_reduction_factor`` 2."""

MODELS: dict[str, ModelEntry] = {
    "Conv5_FC3": ModelEntry(
        Conv5_FC3, _PREDICT, "ClinicaDL 1.x default CNN: 5 conv blocks (8-128 channels), FC 1300-50.", (2, 3)
    ),
    "Conv4_FC3": ModelEntry(
        Conv4_FC3, _PREDICT, "ClinicaDL 1.x CNN: the same 5 conv blocks as upstream, FC 50-40.", (2, 3)
    ),
    "Stride_Conv5_FC3": ModelEntry(
        Stride_Conv5_FC3, _PREDICT, "ClinicaDL 1.x CNN: 5 stride-2 conv blocks (8-128 channels), FC 1300-50.", (2, 3)
    ),
    "resnet18": ModelEntry(
        resnet18, ("classification",), "ClinicaDL 1.x 2D ResNet-18 (upstream's keys; no ImageNet download).", (2,)
    ),
    "SqueezeExcitationCNN": ModelEntry(
        SqueezeExcitationCNN, ("classification",), "ClinicaDL 1.x 3D CNN: 5 residual squeeze-excitation blocks "
        "(8-128 channels), FC 256.", (3,)
    ),
    "ResNet3D": ModelEntry(
        ResNet3D, _PREDICT, "Small 3D ResNet (4 basic blocks, 16-128 channels, global pooling).", (3,)
    ),
    "AE_Conv5_FC3": ModelEntry(
        AE_Conv5_FC3, ("reconstruction",), "Autoencoder: Conv5_FC3's conv blocks, mirrored decoder.", (2, 3)
    ),
    "AE_Conv4_FC3": ModelEntry(
        AE_Conv4_FC3, ("reconstruction",), "Autoencoder: Conv4_FC3's conv blocks (same as AE_Conv5_FC3).", (2, 3)
    ),
    "TinyCNN": ModelEntry(
        TinyCNN, _PREDICT, "Tiny CNN for tests (2 conv blocks, global pooling, a few thousand parameters).", (2, 3)
    ),
    "TinyAE": ModelEntry(TinyAE, ("reconstruction",), "Tiny autoencoder for tests (1 conv block, 4 channels).", (2, 3)),
    "DenseNet121": ModelEntry(
        DenseNet121, _PREDICT, "MONAI DenseNet-121 (64 features, growth 32, blocks 6-12-24-16).", (2, 3)
    ),
    "DenseNet3D": ModelEntry(
        DenseNet3D, _PREDICT, "Small MONAI DenseNet (16 features, growth 8, blocks 2-4-6-4).", (2, 3)
    ),
    "SEResNet50": ModelEntry(
        SEResNet50, _PREDICT, "MONAI SE-ResNet-50 (squeeze-excitation bottlenecks 3-4-6-3).", (2, 3)
    ),
    "SEResNet3D": ModelEntry(
        SEResNet3D, _PREDICT, "MONAI SE-ResNet with one bottleneck per stage (SE-ResNet-14-like).", (2, 3)
    ),
    "Conv5_FC3_SSDA": ModelEntry(
        Conv5_FC3_SSDA, _PREDICT, "ClinicaDL 1.x domain adaptation CNN: Conv5_FC3 convolutions, source, target and "
        "domain heads (built and loaded; training needs target-domain data, not provided).", (2, 3)
    ),
    "CAE_half": ModelEntry(
        CAE_half, _RECONSTRUCTION, "ClinicaDL 1.x 3D autoencoder: 3 stride-2 blocks (32-128), dense code of "
        "latent_space_size (parameters for 1@80x96x80).", (3,), ("latent_space_size",), _REDUCED
    ),
    "CVAE_3D": ModelEntry(
        CVAE_3D, _RECONSTRUCTION, "ClinicaDL 1.x 3D VAE: 3 stride-2 convolutions (32-128), dense latent space, "
        "its own loss (squared error + 5 KL).", (3,), ("latent_space_size",)
    ),
    "CVAE_3D_half": ModelEntry(
        CVAE_3D_half, _RECONSTRUCTION, "ClinicaDL 1.x 3D VAE: CVAE_3D with leaky ReLU and a sigmoid output "
        "(parameters for 1@80x96x80).", (3,), ("latent_space_size", *_VAE_LOSS), _REDUCED
    ),
    "CVAE_3D_final_conv": ModelEntry(
        CVAE_3D_final_conv, _RECONSTRUCTION, "ClinicaDL 1.x 3D VAE: CVAE_3D_half with instance normalisation and "
        "a final convolution (parameters for 1@80x96x80).", (3,), ("latent_space_size", *_VAE_LOSS), _REDUCED,
        "instance"
    ),
    "Vanilla3DdenseVAE": ModelEntry(
        Vanilla3DdenseVAE, _RECONSTRUCTION, "ClinicaDL 1.x 3D VAE, dense latent space: n_conv blocks from "
        "io_layer_channels, feature_size units (parameters for 1@80x96x80).", (3,),
        ("latent_space_size", "feature_size", "n_conv", "io_layer_channels", *_VAE_LOSS), _REDUCED
    ),
    "Vanilla3DspacialVAE": ModelEntry(
        Vanilla3DspacialVAE, _RECONSTRUCTION, "ClinicaDL 1.x 3D VAE, spatial latent space: 4 blocks (32-256), "
        "one latent channel at 1/32 of the size.", (3,), _VAE_LOSS
    ),
    "VanillaDenseVAE": ModelEntry(
        VanillaDenseVAE, _RECONSTRUCTION, "ClinicaDL 1.x 2D VAE, dense latent space: 4 blocks (32-256), "
        "feature_size units (parameters for 1@128x128).", (2,), ("latent_space_size", "feature_size", *_VAE_LOSS),
        (1, 128, 128)
    ),
    "VanillaSpatialVAE": ModelEntry(
        VanillaSpatialVAE, _RECONSTRUCTION, "ClinicaDL 1.x 2D VAE, spatial latent space: 4 blocks (32-256), "
        "one latent channel at 1/16 of the size.", (2,), _VAE_LOSS, (1, 128, 128)
    ),
    "GeneratorUNet": ModelEntry(
        GeneratorUNet, _RECONSTRUCTION, "ClinicaDL 1.x 3D U-Net generator (64-512 channels, instance norm, tanh); "
        "sizes multiple of 32 (parameters for 1@128x128x128).", (3,), (), (1, 128, 128, 128), "instance"
    ),
    "RandomArchitecture": ModelEntry(
        RandomArchitecture, _PREDICT, "Upstream's random-search CNN: conv blocks and FC layers of convolutions_dict, "
        "n_fcblocks, network_normalization (maps.json keys).", (2, 3),
        ("convolutions_dict", "n_fcblocks", "network_normalization"),
    ),
    "UNet3D": ModelEntry(
        UNet3D, ("segmentation",), "3D U-Net (MONAI UNet, 16-256 channels, residual units).", (3,)
    ),
    "TinyUNet3D": ModelEntry(
        TinyUNet3D, ("segmentation",), "Tiny 3D U-Net for tests (4-8-16 channels, no residual unit).", (3,)
    ),
}
"""Registered architectures, by name. Add one here to make it available to ``train --architecture``."""


def _entry(name: str) -> ModelEntry:
    if name not in MODELS:
        raise InputError(f"Unknown architecture {name!r}; choose one of {', '.join(MODELS)}.")
    return MODELS[name]


def _check_task(task: str, allowed: Sequence[str], what: str) -> str:
    if task not in allowed:
        raise InputError(f"{what} does not support the task {task!r}; choose one of {', '.join(allowed)}.")
    return task


def _build_iv(
    name: str,
    input_size: Sequence[int],
    output_size: int | None,
    task: str,
    dropout: float,
    normalization: str,
) -> tuple[ModelEntry, list[int], int | None]:
    """Validate the options of :func:`build_model` and return the entry, input size and output size."""
    entry = _entry(name)
    _check_task(task, TASKS, "clinicadl")
    _check_task(task, entry.tasks, f"Architecture {name}")
    try:
        size = [int(s) for s in input_size]
        ok = all(float(s) == i for s, i in zip(input_size, size))
    except (TypeError, ValueError):
        ok = False
    if not ok or len(size) not in (3, 4) or min(size) < 1:
        raise InputError(
            f"input_size must be [C, H, W] (2D) or [C, D, H, W] (3D) with positive integers, got {input_size!r}."
        )
    spatial_dims = len(size) - 1
    if spatial_dims not in entry.spatial_dims:
        supported = " or ".join(f"{d}D" for d in entry.spatial_dims)
        raise InputError(
            f"Architecture {name} needs {supported} inputs, got input_size {size} ({spatial_dims}D); "
            f"choose another architecture or another extraction mode."
        )
    if task == "reconstruction":
        if output_size is not None and (not isinstance(output_size, Sequence) or list(output_size) != size):
            raise InputError(
                f"A reconstruction network outputs an image of the input's size; leave output_size unset "
                f"(got {output_size!r} for input_size {size})."
            )
        output_size = None
    else:
        if isinstance(output_size, bool) or not isinstance(output_size, int) or output_size < 1:
            raise InputError(
                f"output_size must be a positive integer (number of classes, 1 for a regression), got {output_size!r}."
            )
        if task == "segmentation" and output_size < 2:
            raise InputError(f"A segmentation network needs output_size >= 2 (background + labels), got {output_size}.")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise InputError(f"dropout must be a rate in [0, 1), got {dropout!r}.")
    if normalization not in NORMALIZATIONS:
        raise InputError(f"Unknown normalization {normalization!r}; choose one of {', '.join(NORMALIZATIONS)}.")
    return entry, size, output_size


def build_model(
    name: str,
    *,
    input_size: Sequence[int],
    output_size: int | None = None,
    task: str = "classification",
    dropout: float = 0.0,
    normalization: str = "batch",
    seed: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> nn.Module:
    """Build the registered network ``name`` for inputs of shape ``input_size``.

    Parameters
    ----------
    name : str
        Architecture name, a key of :data:`MODELS` (``Conv5_FC3``, ``ResNet3D``, ...).
    input_size : sequence of int
        Shape of one input without the batch dimension: ``[C, H, W]`` (slice mode) or ``[C, D, H, W]`` (image,
        patch, ROI modes), as in ClinicaDL 1.x.
    output_size : int or None
        Number of outputs: classes for classification, 1 for regression; None for reconstruction; for
        segmentation the number of classes of each voxel, background included.
    task : {"classification", "regression", "reconstruction", "segmentation"}
        Must be one of the tasks of the architecture.
    dropout : float
        Dropout rate in [0, 1). Masks are drawn from the global generator of the device during the forward pass
        (see :mod:`clinicadl.models.initialization`).
    normalization : {"batch", "instance", "group"}
        Normalisation layers of the network.
    seed : int or None
        Weight-initialisation seed (the ``init`` source of variance). With a seed, the network is constructed
        under :func:`~clinicadl.models.initialization.seeded`: the same seed gives bit-identical weights and the
        caller's random state is left unchanged. None draws from (and advances) the global generator, as PyTorch
        does.
    options : mapping, optional
        Training parameters; those named in the entry's ``options`` (e.g. ``convolutions_dict``) are passed to
        the constructor, the others are ignored.

    Returns
    -------
    torch.nn.Module
        The network on the CPU, in training mode. Its forward pass maps ``(N, *input_size)`` to ``(N, output_size)``
        (``(N, *input_size)`` for reconstruction, ``(N, output_size, *spatial)`` logits for segmentation).

    Raises
    ------
    clinicadl.errors.InputError
        Unknown name (the message lists the registered ones), unsupported task or dimension, bad sizes or options.

    Examples
    --------
    >>> import torch
    >>> a = build_model("TinyCNN", input_size=[1, 16, 16], output_size=2, seed=0)
    >>> b = build_model("TinyCNN", input_size=[1, 16, 16], output_size=2, seed=0)
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    entry, size, output_size = _build_iv(name, input_size, output_size, task, dropout, normalization)
    kwargs = {"dropout": float(dropout), "normalization": normalization,
              **{key: value for key, value in (options or {}).items() if key in entry.options}}
    if seed is None:
        return entry.constructor(size, output_size, **kwargs)
    with seeded(seed):
        return entry.constructor(size, output_size, **kwargs)


def _reference_size(entry: ModelEntry) -> tuple[int, ...]:
    """Input of the parameter count: the entry's own, else :data:`REFERENCE_INPUT_SIZE` (without depth in 2D)."""
    if entry.reference_input_size is not None:
        return entry.reference_input_size
    return REFERENCE_INPUT_SIZE if 3 in entry.spatial_dims else (1, *REFERENCE_INPUT_SIZE[2:])


def count_parameters(model: nn.Module) -> int:
    """Number of elements of the parameters of ``model`` (buffers such as running statistics excluded)."""
    return sum(p.numel() for p in model.parameters())


def list_models(task: str | None = None) -> list[ModelInfo]:
    """Describe the registered architectures, in registry order; only those supporting ``task`` if given.

    Parameter counts are computed on the ``meta`` device (no memory is allocated, no random number drawn).

    Examples
    --------
    >>> [m.name for m in list_models("reconstruction")][:3]
    ['AE_Conv5_FC3', 'AE_Conv4_FC3', 'TinyAE']
    """
    if task is not None:
        _check_task(task, TASKS, "clinicadl")
    infos = []
    for name, entry in MODELS.items():
        if task is not None and task not in entry.tasks:
            continue
        reference = list(_reference_size(entry))
        output_size = None if entry.tasks == ("reconstruction",) else REFERENCE_OUTPUT_SIZE
        with torch.device("meta"):
            model = entry.constructor(reference, output_size, dropout=0.0, normalization="batch")
        infos.append(ModelInfo(name, entry.tasks, entry.description, entry.spatial_dims, count_parameters(model)))
    return infos


def parse_input_size(text: str) -> tuple[int, ...]:
    """Read upstream's input-size notation ``C@HxW`` (2D) or ``C@DxHxW`` (3D) as ``(C, H, W)`` / ``(C, D, H, W)``.

    Raises
    ------
    clinicadl.errors.InputError
        If ``text`` is not in this notation.

    Examples
    --------
    >>> parse_input_size("1@169x208x179")
    (1, 169, 208, 179)
    """
    channels, _, spatial = text.partition("@")
    parts = [channels, *spatial.split("x")]
    if not spatial or not 3 <= len(parts) <= 4 or not all(part.strip().isdigit() and int(part) > 0 for part in parts):
        raise InputError(f"Input size {text!r} is not C@HxW (2D) or C@DxHxW (3D) with positive integers; "
                         "give e.g. 1@169x208x179.")
    return tuple(int(part) for part in parts)


def describe_model(name: str, input_size: Sequence[int] | None = None, *, layers: bool = False) -> str:
    """What ``clinicadl train list_models -a NAME [-i SIZE] [-m]`` prints about one architecture.

    The network is built on the ``meta`` device (no memory allocated, no random number drawn) for
    ``input_size`` (default: :data:`REFERENCE_INPUT_SIZE`, without its depth for 2D-only networks).

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    input_size : sequence of int, optional
        ``(C, H, W)`` or ``(C, D, H, W)``.
    layers : bool
        Also give the layers of the network (``print(model)``).

    Returns
    -------
    str
        Lines of text: tasks, description, supported dimensions, input size, parameter count, and layers.

    Raises
    ------
    clinicadl.errors.InputError
        Unknown architecture, or an input size the network does not accept.
    """
    entry = _entry(name)
    if input_size is None:
        input_size = _reference_size(entry)
    task = entry.tasks[0]
    output_size = None if task == "reconstruction" else REFERENCE_OUTPUT_SIZE
    _, size, output_size = _build_iv(name, input_size, output_size, task, 0.0, "batch")
    with torch.device("meta"):
        model = entry.constructor(size, output_size, dropout=0.0, normalization="batch")
    shape = "x".join(map(str, size[1:]))
    lines = [f"Information about '{name}' network:",
             f"  {entry.description}",
             f"  Tasks: {', '.join(entry.tasks)}",
             f"  Inputs: {' and '.join(f'{d}D' for d in entry.spatial_dims)} (input size C@HxW or C@DxHxW)",
             f"  For input size {size[0]}@{shape}: {count_parameters(model):,} parameters"]
    if entry.fixed_normalization:
        lines.append(f"  Normalisation: {entry.fixed_normalization} (fixed, as upstream; --normalization is not used)")
    if layers:
        lines += ["", str(model)]
    return "\n".join(lines)
