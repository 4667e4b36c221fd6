"""A VAE trains through ``clinicadl train reconstruction`` on its own loss (``compute_loss``: reconstruction + KL),
and ``clinicadl train`` refuses the domain-adaptation network with what it would need."""

from __future__ import annotations

import pytest
import tiny_caps as helpers

from clinicadl.errors import InputError
from clinicadl.models.cvae import CVAE_3D_half
from clinicadl.training.seeds import replicate_seeds


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("data"))


def test_a_vae_trains_on_its_own_loss(dataset, tmp_path, monkeypatch):
    from clinicadl.training.trainer import train_replicate

    calls = []
    own = CVAE_3D_half.compute_loss

    def counting(self, inputs, outputs):
        loss = own(self, inputs, outputs)
        calls.append(float(loss.detach()))
        return loss

    monkeypatch.setattr(CVAE_3D_half, "compute_loss", counting)
    parameters = helpers.resolved_parameters(dataset, task="reconstruction", kfold=False, epochs=1,
                                             architecture="CVAE_3D_half", latent_space_size=4)
    maps = tmp_path / "maps"
    train_replicate(parameters, maps, replicate_seeds(0, 0), progress=False)
    assert calls and all(value == value for value in calls)  # used at every training step, finite
    assert (maps / "split-0/best-loss/model.pth.tar").is_file()


def test_training_the_ssda_network_is_refused(dataset, tmp_path):
    with pytest.raises(InputError, match="domain adaptation"):
        helpers.resolved_parameters(dataset, kfold=False, architecture="Conv5_FC3_SSDA")
