"""ClinicaDL 1.6.1's VAEs, CAE_half, GeneratorUNet and Conv5_FC3_SSDA: upstream's state-dict keys, shapes and
parameter counts at upstream's input sizes (upstream_state_dicts.json, measured on upstream's wheel), forward
shapes on small inputs, and the VAEs' own training loss."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from clinicadl.errors import InputError
from clinicadl.models.registry import MODELS, build_model, count_parameters
from clinicadl.models.ssda import GradientReversal
from clinicadl.models.variational import kl_divergence, log_normaliser

UPSTREAM = json.loads((Path(__file__).parent / "upstream_state_dicts.json").read_text())
UPSTREAM_OPTIONS = {"latent_space_size": 128, "feature_size": 1024, "n_conv": 4, "io_layer_channels": 8}

VAES = {  # smallest inputs each network takes in training, and small widths
    "VanillaDenseVAE": ([1, 16, 20], {"latent_space_size": 4, "feature_size": 16}),
    "VanillaSpatialVAE": ([1, 16, 20], {}),
    "Vanilla3DdenseVAE": ([1, 16, 16, 20], {"latent_space_size": 4, "feature_size": 16, "n_conv": 3}),
    "Vanilla3DspacialVAE": ([1, 32, 32, 32], {}),  # 22 million parameters whatever the input (upstream's widths)
    "CVAE_3D": ([1, 9, 10, 11], {"latent_space_size": 4}),
    "CVAE_3D_half": ([1, 8, 8, 16], {"latent_space_size": 4}),
    "CVAE_3D_final_conv": ([1, 16, 16, 16], {"latent_space_size": 4}),
}


def _reconstruction(name, input_size, options, **kwargs):
    return build_model(name, input_size=input_size, task="reconstruction", seed=0, options=options, **kwargs)


@pytest.mark.parametrize("name", [n for n in UPSTREAM if not n.startswith("_")])
def test_state_dict_and_parameter_count_are_upstreams(name):
    reference = UPSTREAM[name]
    entry = MODELS[name]
    output_size = 2 if name == "Conv5_FC3_SSDA" else None
    options = {key: value for key, value in UPSTREAM_OPTIONS.items() if key in entry.options}
    with torch.device("meta"):  # CVAE_3D has 867 million parameters at upstream's size: nothing is allocated
        network = entry.constructor(reference["input_size"], output_size, dropout=0.0, normalization="batch",
                                    **options)
    assert {key: list(value.shape) for key, value in network.state_dict().items()} == reference["state_dict"]
    assert count_parameters(network) == reference["n_parameters"]


@pytest.mark.parametrize("name", list(VAES))
def test_vae_reconstructs_its_input_size_and_samples_only_in_training(name):
    input_size, options = VAES[name]
    network = _reconstruction(name, input_size, options)
    x = torch.rand(2, *input_size, generator=torch.Generator().manual_seed(0))
    out = network(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
    mu, log_var = network.posterior
    assert mu.shape == log_var.shape and mu.shape[0] == 2
    network.eval()
    with torch.no_grad():
        assert torch.equal(network(x), network(x))  # the posterior mean: deterministic


@pytest.mark.parametrize("name", list(VAES))
def test_vae_loss_is_finite_and_decreases(name):
    input_size, options = VAES[name]
    network = _reconstruction(name, input_size, options)
    x = torch.rand(2, *input_size, generator=torch.Generator().manual_seed(1))
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    torch.manual_seed(2)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = network.compute_loss(x, network(x))
        assert loss.ndim == 0 and torch.isfinite(loss)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]


def test_vae_loss_terms_are_upstreams():
    network = _reconstruction("VanillaDenseVAE", [1, 16, 16], {"latent_space_size": 3, "feature_size": 8,
                                                               "recons_weight": 2, "kl_weight": 0.5})
    x = torch.rand(3, 1, 16, 16)
    out = network(x)
    mu, log_var = network.posterior
    prior = torch.distributions.Normal(0.0, 1.0)
    posterior = torch.distributions.Normal(mu, torch.exp(0.5 * log_var))
    kl = torch.distributions.kl_divergence(posterior, prior).sum() / 3
    assert torch.allclose(kl_divergence(mu, log_var), kl, rtol=1e-5)
    expected = 2 * torch.sum((out - x) ** 2) + 0.5 * kl  # upstream's VAEGaussianLoss: summed error, mean KL
    assert torch.allclose(network.compute_loss(x, out), expected, rtol=1e-5)
    with pytest.raises(RuntimeError, match="forward"):
        network.compute_loss(x, out)  # the posterior is used once


def test_cvae_3d_has_its_own_loss_and_other_vaes_follow_the_loss_option():
    network = _reconstruction("CVAE_3D", [1, 8, 8, 8], {"latent_space_size": 2, "kl_weight": 0.0})
    x = torch.rand(2, 1, 8, 8, 8)
    out = network(x)
    kl = kl_divergence(*network.posterior)
    assert torch.allclose(network.compute_loss(x, out), torch.sum((out - x) ** 2) / 2 + 5 * kl)  # beta 5, fixed
    bernoulli = _reconstruction("CVAE_3D_half", [1, 8, 8, 8], {"latent_space_size": 2, "loss": "VAEBernoulliLoss"})
    out = bernoulli(x)
    kl = kl_divergence(*bernoulli.posterior)
    bce = torch.nn.functional.binary_cross_entropy(out, x, reduction="sum")
    assert torch.allclose(bernoulli.compute_loss(x, out), bce + kl, rtol=1e-5)


def test_kl_weight_zero_trains_cvae_half_as_a_plain_autoencoder():
    network = _reconstruction("CVAE_3D_half", [1, 8, 8, 8], {"latent_space_size": 2, "kl_weight": 0})
    x = torch.rand(2, 1, 8, 8, 8)
    assert torch.equal(network(x), network(x))  # no sampling in training mode either (upstream: beta == 0)


def test_continuous_bernoulli_normaliser():
    lam = torch.tensor([0.1, 0.3, 0.7, 0.9], dtype=torch.float64)
    exact = torch.log(2 * torch.atanh(1 - 2 * lam) / (1 - 2 * lam)).sum()
    assert torch.allclose(log_normaliser(lam), exact)
    near = log_normaliser(torch.tensor([0.5 + 1e-6], dtype=torch.float64))
    assert torch.allclose(near, torch.log(torch.tensor(2.0, dtype=torch.float64)), atol=1e-6)  # C(1/2) = 2
    network = _reconstruction("VanillaSpatialVAE", [1, 16, 16], {"loss": "VAEContinuousBernoulliLoss"})
    x = torch.rand(2, 1, 16, 16)
    assert torch.isfinite(network.compute_loss(x, network(x)))


def test_cae_half_and_generator_unet_reconstruct_their_input_size():
    cae = _reconstruction("CAE_half", [1, 9, 10, 11], {"latent_space_size": 4})
    x = torch.rand(2, 1, 9, 10, 11)
    assert cae(x).shape == x.shape
    unet = _reconstruction("GeneratorUNet", [1, 64, 64, 64], {}, normalization="group").eval()
    with torch.no_grad():
        out = unet(torch.rand(1, 1, 64, 64, 64))
    assert out.shape == (1, 1, 64, 64, 64) and out.abs().max() <= 1  # tanh
    assert "InstanceNorm3d" in {type(m).__name__ for m in unet.modules()}  # upstream's, whatever --normalization
    with pytest.raises(InputError, match="multiple of 32"):
        _reconstruction("GeneratorUNet", [1, 64, 48, 64], {})


def test_too_small_inputs_are_refused_with_the_smallest_size():
    with pytest.raises(InputError, match="at least 16"):
        _reconstruction("Vanilla3DdenseVAE", [1, 16, 8, 16], {"latent_space_size": 4, "feature_size": 8})
    with pytest.raises(InputError, match="at least 32"):
        _reconstruction("Vanilla3DspacialVAE", [1, 32, 16, 32], {})


def test_ssda_forward_is_the_target_head_and_the_domain_gradient_is_reversed():
    network = build_model("Conv5_FC3_SSDA", input_size=[1, 32, 32], output_size=2, seed=0).eval()
    x = torch.rand(3, 1, 32, 32)
    source, target, domain = network.forward_domains(x, alpha=0.5)
    assert torch.equal(network(x), target)
    features = network.convolutions(x).detach().requires_grad_(True)
    network.fc_domain(features).sum().backward()
    plain = features.grad.clone()
    features.grad = None
    network.fc_domain(GradientReversal.apply(features, 0.5)).sum().backward()
    assert torch.allclose(features.grad, -0.5 * plain)
    assert source.shape == domain.shape == (3, 2)


def test_training_refuses_ssda_saying_what_is_missing():
    from clinicadl.models.names import check_architecture

    with pytest.raises(InputError, match=r"caps_target.*tsv_target_lab.*tsv_target_unlab"):
        check_architecture("Conv5_FC3_SSDA", "classification")


def test_list_models_shows_the_new_architectures():
    from clinicadl.cli.main import cli

    result = CliRunner().invoke(cli, ["train", "list_models", "--task", "reconstruction"])
    assert result.exit_code == 0, result.output
    for name in ("CAE_half", "CVAE_3D", "CVAE_3D_half", "CVAE_3D_final_conv", "Vanilla3DdenseVAE",
                 "Vanilla3DspacialVAE", "VanillaDenseVAE", "VanillaSpatialVAE", "GeneratorUNet"):
        assert name in result.output
    result = CliRunner().invoke(cli, ["train", "list_models", "-a", "CVAE_3D"])
    assert result.exit_code == 0 and "866,946,369 parameters" in result.output  # upstream's, at 1@169x208x179
    result = CliRunner().invoke(cli, ["train", "list_models", "-a", "Conv5_FC3_SSDA"])
    assert result.exit_code == 0 and "Conv5_FC3_SSDA" in result.output


def test_parity_page_says_every_upstream_architecture_is_registered():
    from clinicadl import models

    page = (Path(__file__).resolve().parents[2] / "docs" / "upstream-parity.md").read_text()
    table = page.split("## Architectures", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in table.splitlines() if line.startswith("| `")]
    named = {name: status.strip() for names, status in rows for name in re.findall(r"`(\w+)`", names)}
    for name in ("Conv5_FC3_SSDA", "CAE_half", "CVAE_3D", "CVAE_3D_half", "CVAE_3D_final_conv", "Vanilla3DdenseVAE",
                 "Vanilla3DspacialVAE", "VanillaDenseVAE", "VanillaSpatialVAE", "GeneratorUNet"):
        assert named[name] in ("same", "accepted") and MODELS[name].constructor is getattr(models, name)
