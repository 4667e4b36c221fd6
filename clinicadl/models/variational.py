"""What every variational autoencoder of :mod:`clinicadl.models` shares: sampling, and its own training loss.

A VAE (Kingma and Welling, 2014) encodes an image into the mean ``mu`` and log-variance ``log_var`` of a Gaussian
posterior, decodes a sample of it in training mode (the reparameterisation trick) and its mean otherwise, and is
trained on a reconstruction term plus the Kullback-Leibler divergence of the posterior from the standard normal
prior. Its forward pass returns the reconstruction only, so that prediction treats it as any reconstruction network;
the posterior of the last forward pass is kept in :attr:`VariationalAutoEncoder.posterior` and
:meth:`VariationalAutoEncoder.compute_loss` turns ``(input, output)`` into the training loss. A training loop asks
``getattr(network, "compute_loss", None)`` and uses it instead of the criterion when present.

The loss terms are upstream's (ClinicaDL 1.x ``VAEGaussianLoss``, ``VAEBernoulliLoss``, ``VAEContinuousBernoulliLoss``):
the reconstruction error summed over the batch and the voxels, the KL divergence summed over the latent dimensions
and averaged over the batch.

References
----------
Kingma D. P. and Welling M. (2014). Auto-encoding variational Bayes. ICLR. https://arxiv.org/abs/1312.6114
Loaiza-Ganem G. and Cunningham J. P. (2019). The continuous Bernoulli: fixing a pervasive error in variational
autoencoders. NeurIPS. https://arxiv.org/abs/1907.06845
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

RECONSTRUCTION_TERMS = {"VAEGaussianLoss": "gaussian", "VAEBernoulliLoss": "bernoulli",
                        "VAEContinuousBernoulliLoss": "continuous_bernoulli"}
"""Upstream's VAE loss names (``loss`` in ``maps.json``) -> reconstruction term; any other name is Gaussian."""


def kl_divergence(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL divergence of N(mu, exp(log_var)) from N(0, I), summed over latent dimensions, averaged over the batch.

    Examples
    --------
    >>> float(kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)))
    0.0
    """
    return 0.5 * torch.sum(mu.pow(2) + log_var.exp() - 1.0 - log_var) / mu.shape[0]


def log_normaliser(probabilities: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Sum of ``log C(lambda)``, the log normalising constants of the continuous Bernoulli (Loaiza-Ganem 2019).

    ``C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda)``, and ``log 2 + log(1 + (1 - 2 lambda)^2 / 3)`` (its
    second-order Taylor expansion) within ``eps`` of 1/2, where the closed form is 0/0.
    """
    x = probabilities.clamp(eps, 1.0 - eps)
    centred = 1.0 - 2.0 * x
    near = centred.abs() < 2.0 * eps
    safe = torch.where(near, torch.full_like(x, 0.25), x)
    exact = torch.log((torch.log1p(-safe) - torch.log(safe)) / (1.0 - 2.0 * safe))
    taylor = math.log(2.0) + torch.log1p(centred.pow(2) / 3.0)
    return torch.where(near, taylor, exact).sum()


def reconstruction_error(term: str, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of ``inputs`` under the decoder's ``outputs``, summed over batch and voxels.

    ``gaussian``: sum of squared errors; ``bernoulli``: binary cross-entropy (``outputs`` in (0, 1));
    ``continuous_bernoulli``: binary cross-entropy minus the log normalising constants.
    """
    if term == "gaussian":
        return F.mse_loss(outputs, inputs, reduction="sum")
    bce = F.binary_cross_entropy(outputs.clamp(1e-7, 1 - 1e-7), inputs.clamp(0.0, 1.0), reduction="sum")
    if term == "bernoulli":
        return bce
    return bce - log_normaliser(outputs)


class VariationalAutoEncoder(nn.Module):
    """Base of the VAEs: subclasses define ``encode(x) -> (mu, log_var)`` and ``decode(z) -> reconstruction``.

    Parameters
    ----------
    recons_weight, kl_weight : float
        Weights of the reconstruction and KL terms of :meth:`compute_loss` (upstream's options of these names).
    loss : str
        Upstream's name of the VAE loss (``VAEGaussianLoss``, ``VAEBernoulliLoss``, ``VAEContinuousBernoulliLoss``);
        another name (``MSELoss``, the default loss of reconstruction) is the Gaussian term.
    sample_without_kl : bool
        Whether training samples the posterior when ``kl_weight`` is 0; upstream's ``CVAE_3D*`` then use the mean
        (a plain autoencoder).

    Attributes
    ----------
    posterior : tuple of Tensor or None
        ``(mu, log_var)`` of the last forward pass.
    """

    def __init__(self, *, recons_weight: float = 1.0, kl_weight: float = 1.0, loss: str = "VAEGaussianLoss",
                 sample_without_kl: bool = True) -> None:
        super().__init__()
        self.recons_weight = float(recons_weight)
        self.kl_weight = float(kl_weight)
        self.reconstruction_term = RECONSTRUCTION_TERMS.get(str(loss), "gaussian")
        self.sample_without_kl = sample_without_kl
        self.posterior: tuple[torch.Tensor, torch.Tensor] | None = None

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """``mu + exp(log_var / 2) * eps`` with standard normal ``eps`` (one draw per element)."""
        return mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, log_var = self.encode(x)
        self.posterior = (mu, log_var)
        sampling = self.training and (self.sample_without_kl or self.kl_weight != 0)
        return self.decode(self.sample(mu, log_var) if sampling else mu)

    def reconstruction_error(self, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """The reconstruction term of :meth:`compute_loss`."""
        return reconstruction_error(self.reconstruction_term, inputs, outputs)

    def compute_loss(self, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """Training loss of the last forward pass: ``recons_weight * reconstruction + kl_weight * KL``.

        Parameters
        ----------
        inputs : Tensor
            The batch given to the forward pass.
        outputs : Tensor
            What the forward pass returned.
        """
        if self.posterior is None:
            raise RuntimeError("compute_loss needs the posterior of a forward pass: call the network first.")
        mu, log_var = self.posterior
        self.posterior = None
        reconstruction = self.reconstruction_error(inputs.float(), outputs.float())
        return self.recons_weight * reconstruction + self.kl_weight * kl_divergence(mu.float(), log_var.float())
