"""MRI acquisition artefacts as random augmentations: ``Motion`` and ``Ghosting`` (ClinicaDL 1.x's TorchIO choices).

Both act in k-space, on each channel of a channel-first array (2D or 3D), with the draws of a MONAI random state
(so that :class:`clinicadl.data.augmentation.Augmentation` seeds them like its other transforms):

- ``Motion``: ``num_transforms`` rigid movements (rotation angles in degrees, translations in voxels, each uniform
  in ``(-degrees, degrees)`` / ``(-translation, translation)`` per axis) happen at random times of the acquisition;
  k-space is filled from the image in the position it had at each time (:func:`clinicadl.data.generate.artifacts.
  add_motion`, the model of TorchIO's ``RandomMotion``; defaults 10 degrees, 10 voxels (10 mm at t1-linear's 1 mm),
  2 movements).
- ``Ghosting``: periodic signal changes along the phase-encode axis; every ``n``-th plane of the centred k-space
  along a random axis is scaled by ``1 - intensity``, the central plane kept (TorchIO's ``RandomGhosting``:
  ``n`` uniform in 4-10, intensity in 0.5-1). In the image, that subtracts ``intensity`` times the mean of the image
  and its ``n - 1`` copies shifted by ``N / n`` voxels, less the mean along the axis (:func:`ghost`).

References
----------
Perez-Garcia F., Sparks R., Ourselin S. (2021). TorchIO: a Python library for efficient loading, preprocessing,
augmentation and patch-based sampling of medical images in deep learning. Comput. Methods Programs Biomed. 208.
Shaw R. et al. (2019). MRI k-space motion artefact augmentation. MIDL, PMLR 102, 427-436.
"""

from __future__ import annotations

import numpy as np
import torch
from monai.transforms import RandomizableTransform

from clinicadl.data.generate.artifacts import ArtefactOptions, add_motion, rigid

__all__ = ["RandGhosting", "RandMotion", "ghost"]


def ghost(image: np.ndarray, *, axis: int, num_ghosts: int, intensity: float) -> np.ndarray:
    """``image`` with ghosts along ``axis``: every ``num_ghosts``-th plane of its centred spectrum scaled by
    ``1 - intensity``, the central plane kept; the real part of the inverse transform."""
    if num_ghosts < 1 or intensity == 0:
        return image.astype(np.float32)
    spectrum = np.fft.fftshift(np.fft.fftn(image))
    centre = image.shape[axis] // 2
    index = [slice(None)] * image.ndim
    index[axis] = centre
    kept = spectrum[tuple(index)].copy()
    index[axis] = slice(None, None, num_ghosts)
    spectrum[tuple(index)] *= 1.0 - intensity
    index[axis] = centre
    spectrum[tuple(index)] = kept
    return np.real(np.fft.ifftn(np.fft.ifftshift(spectrum))).astype(np.float32)


def _as_array(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy() if isinstance(tensor, torch.Tensor) else np.asarray(tensor)


class RandGhosting(RandomizableTransform):
    """Ghosting artefact on a channel-first array (module docstring); one draw per call, shared by the channels."""

    def __init__(self, num_ghosts: tuple[int, int] = (4, 10), intensity: tuple[float, float] = (0.5, 1.0)):
        super().__init__(prob=1.0)
        self.num_ghosts = num_ghosts
        self.intensity = intensity

    def __call__(self, data):
        array = _as_array(data)
        axis = int(self.R.randint(0, array.ndim - 1))
        n = int(self.R.randint(self.num_ghosts[0], self.num_ghosts[1] + 1))
        intensity = float(self.R.uniform(*self.intensity))
        out = np.stack([ghost(channel, axis=axis, num_ghosts=n, intensity=intensity) for channel in array])
        return torch.as_tensor(out)


class RandMotion(RandomizableTransform):
    """Motion artefact on a channel-first 3D array (module docstring; a 2D slice moves in its plane)."""

    def __init__(self, degrees: float = 10.0, translation: float = 10.0, num_transforms: int = 2):
        super().__init__(prob=1.0)
        self.degrees, self.translation, self.num_transforms = float(degrees), float(translation), int(num_transforms)

    def __call__(self, data):
        array = _as_array(data)
        rng = np.random.default_rng(int(self.R.randint(0, 2**31 - 1)))
        options = ArtefactOptions(motion=True, rotation=(-self.degrees, self.degrees),
                                  translation=(-self.translation, self.translation),
                                  num_transforms=self.num_transforms)
        out = []
        for channel in array:
            if channel.ndim == 2:
                out.append(_planar_motion(channel[..., None], rng, options)[..., 0])
            else:
                out.append(add_motion(channel, rng, options, np.ones(3)))
        return torch.as_tensor(np.stack(out).astype(np.float32))


def _planar_motion(volume: np.ndarray, rng: np.random.Generator, options: ArtefactOptions) -> np.ndarray:
    """Motion of a slice (``[X, Y, 1]``): in-plane rotations and shifts, k-space segments along Y."""
    times = np.sort(rng.uniform(0.0, 1.0, size=options.num_transforms))
    positions = [volume]
    for _ in range(options.num_transforms):
        angles = np.array([0.0, 0.0, rng.uniform(*options.rotation)])
        shifts = np.array([*rng.uniform(*options.translation, size=2), 0.0])
        positions.append(rigid(volume, angles, shifts, np.ones(3)))
    length = volume.shape[1]
    bounds = [0, *np.round(times * length).astype(int).tolist(), length]
    spectrum = np.empty(volume.shape, dtype=np.complex128)
    for position, start, stop in zip(positions, bounds[:-1], bounds[1:]):
        if stop > start:
            spectrum[:, start:stop] = np.fft.fftshift(np.fft.fftn(position))[:, start:stop]
    return np.abs(np.fft.ifftn(np.fft.ifftshift(spectrum))).astype(np.float32)
