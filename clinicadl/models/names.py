"""The architecture names of the registry and the tasks each learns, without importing torch.

``clinicadl train`` checks ``--architecture`` against this table before anything heavy is imported, so that
a typo is reported in a fraction of a second. A test keeps it equal to :data:`clinicadl.models.registry.MODELS`.
"""

from __future__ import annotations

__all__ = ["ARCHITECTURE_TASKS", "check_architecture"]

_PREDICT = ("classification", "regression")

ARCHITECTURE_TASKS: dict[str, tuple[str, ...]] = {
    "Conv5_FC3": _PREDICT,
    "Conv4_FC3": _PREDICT,
    "ResNet3D": _PREDICT,
    "AE_Conv5_FC3": ("reconstruction",),
    "AE_Conv4_FC3": ("reconstruction",),
    "TinyCNN": _PREDICT,
    "TinyAE": ("reconstruction",),
    "DenseNet121": _PREDICT,
    "DenseNet3D": _PREDICT,
    "SEResNet50": _PREDICT,
    "SEResNet3D": _PREDICT,
    "UNet3D": ("segmentation",),
    "TinyUNet3D": ("segmentation",),
    "resnet18": ("classification",),
    "Stride_Conv5_FC3": _PREDICT,
    "SqueezeExcitationCNN": ("classification",),
    "RandomArchitecture": _PREDICT,
}
"""Architecture name -> tasks, in the order of the registry."""


def check_architecture(name: str, task: str) -> None:
    """Refuse an unknown architecture, or one that does not learn ``task``, naming those that do.

    Raises
    ------
    InputError

    Examples
    --------
    >>> check_architecture("Conv5_FC3", "classification")
    """
    from clinicadl.errors import InputError

    suited = [n for n, tasks in ARCHITECTURE_TASKS.items() if task in tasks]
    if name not in ARCHITECTURE_TASKS:
        raise InputError(f"Unknown architecture {name!r}; available architectures for {task}: {', '.join(suited)} "
                         "(see 'clinicadl train list_models').")
    if name not in suited:
        raise InputError(f"Architecture {name!r} does not do {task}; choose among {', '.join(suited)}.")
