"""The architecture names of the registry and the tasks each learns, without importing torch.

``clinicadl train`` checks ``--architecture`` against this table before anything heavy is imported, so that
a typo is reported in a fraction of a second. A test keeps it equal to :data:`clinicadl.models.registry.MODELS`.
"""

from __future__ import annotations

__all__ = ["ARCHITECTURE_TASKS", "NOT_TRAINABLE", "check_architecture"]

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
    "Conv5_FC3_SSDA": _PREDICT,
    "CAE_half": ("reconstruction",),
    "CVAE_3D": ("reconstruction",),
    "CVAE_3D_half": ("reconstruction",),
    "CVAE_3D_final_conv": ("reconstruction",),
    "Vanilla3DdenseVAE": ("reconstruction",),
    "Vanilla3DspacialVAE": ("reconstruction",),
    "VanillaDenseVAE": ("reconstruction",),
    "VanillaSpatialVAE": ("reconstruction",),
    "GeneratorUNet": ("reconstruction",),
}
"""Architecture name -> tasks, in the order of the registry."""

NOT_TRAINABLE: dict[str, str] = {
    "Conv5_FC3_SSDA": "Conv5_FC3_SSDA is ClinicaDL 1.x's semi-supervised domain adaptation network: each training "
                      "step needs labelled source images, labelled target-domain images and unlabelled "
                      "target-domain images (upstream's --ssda_network with --caps_target, --tsv_target_lab and "
                      "--tsv_target_unlab), and clinicadl train does not provide domain adaptation. The network can "
                      "be listed ('clinicadl train list_models -a Conv5_FC3_SSDA') and an upstream model of it "
                      "loaded; to train on one domain, use Conv5_FC3 (the same convolutions and classifier).",
}
"""Architectures that are registered but that ``clinicadl train`` cannot train, with the reason and the way out."""


def check_architecture(name: str, task: str) -> None:
    """Refuse an unknown architecture, one that does not learn ``task`` (naming those that do), or one that
    ``clinicadl train`` cannot train (:data:`NOT_TRAINABLE`, saying what is missing).

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
    if name in NOT_TRAINABLE:
        raise InputError(NOT_TRAINABLE[name])
