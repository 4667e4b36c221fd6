"""Data augmentation with MONAI transforms, driven by a seeded random stream.

The names are ClinicaDL 1.x's ``--data_augmentation`` choices, implemented with ``monai.transforms``
(numpy + torch only), plus ``Flip`` and ``Affine``:

===========  =====================================================================================
Noise        ``RandGaussianNoise(prob=1, std=0.1)`` (upstream: Gaussian noise, std 0.1)
Erasing      ``RandCoarseDropout``: one box of 1/8 to 1/4 of each side set to 0 (upstream: random erasing)
CropPad      ``SpatialPad`` by 4 voxels then ``RandSpatialCrop`` back to the shape: a random shift of up to 4
Smoothing    ``RandGaussianSmooth(sigma in [0, 1])``
RandomBlur   ``RandGaussianSmooth(sigma in [0, 2])``
Spike        ``RandKSpaceSpikeNoise(prob=1)``
BiasField    ``RandBiasField(prob=1)``
RandomSwap   ``RandCoarseShuffle``: voxels shuffled within 4 boxes of 1/8 of each side
Flip         ``RandFlip(prob=0.5)`` along the first (left-right) axis
Affine       ``RandAffine(prob=1)``: rotations up to 0.1 rad, scaling up to 5 %, shifts up to 2 voxels
Motion       k-space motion artefact, TorchIO's defaults (:mod:`clinicadl.data.mri_artefacts`)
Ghosting     k-space ghosting artefact, TorchIO's defaults (:mod:`clinicadl.data.mri_artefacts`)
===========  =====================================================================================

MONAI has no ``Motion`` or ``Ghosting`` (upstream's TorchIO transforms): :mod:`clinicadl.data.mri_artefacts`
implements them as MONAI random transforms, seeded like the others.

Randomness: every call draws from a stream seeded by ``(seed, *key)`` with :class:`numpy.random.SeedSequence`
(the datasets use ``key = (epoch, index)``), so an augmented sample depends only on the seed, the epoch and the
sample's index: not on the worker, the batch order or what was drawn before. The same seed gives the same
tensors; another seed gives others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from clinicadl.errors import InputError

AUGMENTATIONS = ("Noise", "Erasing", "CropPad", "Smoothing", "RandomBlur", "Spike", "BiasField", "RandomSwap",
                 "Flip", "Affine", "Motion", "Ghosting")


def check_augmentations(names: Sequence[str] | None) -> tuple[str, ...]:
    """Return ``names`` as a tuple ('None' and empty entries dropped); unknown names raise :class:`InputError`."""
    names = tuple(name for name in (names or ()) if name and name != "None")
    for name in names:
        if name not in AUGMENTATIONS:
            raise InputError(f"Unknown data augmentation {name!r}: choose among {', '.join(AUGMENTATIONS)}.")
    return names


def _transform(name: str, shape: tuple[int, ...]):
    from monai import transforms

    k = len(shape)
    eighth = tuple(max(dim // 8, 1) for dim in shape)
    if name == "Noise":
        return [transforms.RandGaussianNoise(prob=1.0, mean=0.0, std=0.1)]
    if name == "Erasing":
        return [transforms.RandCoarseDropout(holes=1, spatial_size=eighth, prob=1.0, fill_value=0.0,
                                             max_spatial_size=tuple(max(dim // 4, 1) for dim in shape))]
    if name == "CropPad":
        return [transforms.SpatialPad(spatial_size=tuple(dim + 8 for dim in shape)),
                transforms.RandSpatialCrop(roi_size=shape, random_size=False)]
    if name in ("Smoothing", "RandomBlur"):
        high = 1.0 if name == "Smoothing" else 2.0
        ranges = {f"sigma_{axis}": (0.0, high) for axis in "xyz"[:k]}
        return [transforms.RandGaussianSmooth(prob=1.0, **ranges)]
    if name == "Spike":
        return [transforms.RandKSpaceSpikeNoise(prob=1.0)]
    if name == "BiasField":
        return [transforms.RandBiasField(prob=1.0)]
    if name == "RandomSwap":
        return [transforms.RandCoarseShuffle(holes=4, spatial_size=eighth, prob=1.0)]
    if name == "Flip":
        return [transforms.RandFlip(prob=0.5, spatial_axis=0)]
    if name in ("Motion", "Ghosting"):
        from clinicadl.data.mri_artefacts import RandGhosting, RandMotion

        return [RandMotion() if name == "Motion" else RandGhosting()]
    return [transforms.RandAffine(prob=1.0, rotate_range=(0.1,) * (1 if k == 2 else 3), scale_range=(0.05,) * k,
                                  translate_range=(2.0,) * k, padding_mode="zeros")]


class Augmentation:
    """A chain of MONAI random transforms applied to channel-first tensors ``[C, *spatial]`` (2D or 3D).

    Parameters
    ----------
    names : sequence of str
        Augmentations in the order applied (see the module docstring).
    seed : int
        Root seed of the random stream.

    Examples
    --------
    >>> augment = Augmentation(["Noise"], seed=3)
    >>> image = torch.zeros(1, 8, 8, 8)
    >>> torch.equal(augment(image, key=(0, 5)), augment(image, key=(0, 5)))
    True
    >>> torch.equal(augment(image, key=(0, 5)), Augmentation(["Noise"], seed=4)(image, key=(0, 5)))
    False
    """

    def __init__(self, names: Sequence[str], *, seed: int = 0):
        self.names = check_augmentations(names)
        self.seed = int(seed)
        self._chains: dict[tuple[int, ...], object] = {}

    def __bool__(self) -> bool:
        return bool(self.names)

    def __repr__(self) -> str:
        return f"Augmentation({list(self.names)!r}, seed={self.seed})"

    def _chain(self, shape: tuple[int, ...]):
        if shape not in self._chains:
            from monai.transforms import Compose

            self._chains[shape] = Compose([step for name in self.names for step in _transform(name, shape)])
        return self._chains[shape]

    def __call__(self, tensor: torch.Tensor, *, key: Sequence[int] = ()) -> torch.Tensor:
        """Augment ``tensor`` with the draws of stream ``(seed, *key)``; returns a new float32 tensor."""
        if not self.names:
            return tensor
        chain = self._chain(tuple(tensor.shape[1:]))
        state = np.random.SeedSequence([self.seed, *(int(part) for part in key)]).generate_state(1)[0]
        chain.set_random_state(state=np.random.RandomState(int(state)))
        result = chain(tensor)
        if hasattr(result, "as_tensor"):
            result = result.as_tensor()
        return torch.as_tensor(result, dtype=torch.float32).contiguous()
