"""Motion and Ghosting augmentations (upstream's TorchIO choices): oracles in the image domain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clinicadl.data.augmentation import Augmentation
from clinicadl.data.mri_artefacts import RandGhosting, RandMotion, ghost


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("num_ghosts", [2, 4, 8])
def test_ghosting_subtracts_the_shifted_copies_of_the_image(axis, num_ghosts):
    """Scaling the planes k = 0 mod n of the spectrum (k = 0 kept) by 1 - s is, in the image, x - s (mean of the n
    copies of x shifted by N/n voxels - mean of x along the axis): the comb's inverse Fourier transform."""
    rng = np.random.default_rng(0)
    image = rng.random((32, 32, 32)).astype(np.float64)
    s = 0.7
    copies = np.mean([np.roll(image, j * 32 // num_ghosts, axis=axis) for j in range(num_ghosts)], axis=0)
    expected = image - s * (copies - image.mean(axis=axis, keepdims=True))
    np.testing.assert_allclose(ghost(image, axis=axis, num_ghosts=num_ghosts, intensity=s), expected, atol=1e-5)


def test_no_artefact_at_zero_strength():
    image = np.random.default_rng(1).random((1, 12, 14, 10)).astype(np.float32)
    np.testing.assert_allclose(RandGhosting(intensity=(0.0, 0.0))(image).numpy(), image, atol=1e-6)
    np.testing.assert_allclose(RandMotion(degrees=0.0, translation=0.0)(image).numpy(), image, atol=1e-5)
    slice_ = image[:, :, :, 0]
    np.testing.assert_allclose(RandMotion(degrees=0.0, translation=0.0)(slice_).numpy(), slice_, atol=1e-5)


@pytest.mark.parametrize("name", ["Motion", "Ghosting"])
@pytest.mark.parametrize("shape", [(1, 16, 18, 14), (1, 16, 18)])
def test_the_upstream_names_augment_with_the_seeded_stream(name, shape):
    image = torch.rand(shape)
    augment = Augmentation([name], seed=2)
    first = augment(image, key=(0, 3))
    assert first.shape == image.shape and not torch.allclose(first, image, atol=1e-3)
    assert torch.equal(first, augment(image, key=(0, 3)))  # same seed and key: same artefact
    assert not torch.equal(first, augment(image, key=(1, 3)))  # another epoch: another draw
