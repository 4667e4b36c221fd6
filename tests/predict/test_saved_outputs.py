"""``predict --save_tensor --save_nifti --save_latent_tensor`` on an autoencoder: upstream's folders and names.

Oracles: the saved output is the network's output on the saved input; the latent code is the output of the
encoder run layer by layer; the NIfTI images hold the first channel of the saved tensors.
"""

from __future__ import annotations

import pandas as pd
import pytest
import tiny_caps as helpers
import torch


@pytest.fixture(scope="module")
def autoencoder(tmp_path_factory):
    from clinicadl.predict.predict import predict
    from clinicadl.training.seeds import replicate_seeds
    from clinicadl.training.trainer import train_replicate

    root = tmp_path_factory.mktemp("autoencoder")
    paths = helpers.make_dataset(root)
    parameters = helpers.resolved_parameters(paths, task="reconstruction", kfold=False, epochs=1,
                                             architecture="TinyAE")
    train_replicate(parameters, root / "maps", replicate_seeds(0, 0), progress=False)
    predict(root / "maps", "test", participants_tsv=paths["test"], progress=False, save_tensor=True,
            save_nifti=True, save_latent_tensor=True)
    return root / "maps", root / "maps" / "split-0" / "best-loss" / "test"


def test_latent_code_and_tensors_are_the_network_s(autoencoder):
    from clinicadl.maps import read_maps_json
    from clinicadl.models.layers import PadMaxPool
    from clinicadl.runtime.checkpoints import load_trained_network

    maps, group = autoencoder
    network = load_trained_network(maps, read_maps_json(maps), 0, "loss", torch.device("cpu"))
    prediction = pd.read_csv(group / "test_image_level_prediction.tsv", sep="\t")
    assert len(prediction) == 4
    for row in prediction.itertuples():
        stem = f"{row.participant_id}_{row.session_id}_image-0"
        image = torch.load(group / "tensors" / f"{stem}_input.pt", weights_only=True)
        output = torch.load(group / "tensors" / f"{stem}_output.pt", weights_only=True)
        latent = torch.load(group / "latent_tensors" / f"{stem}_latent.pt", weights_only=True)
        with torch.no_grad():
            assert torch.allclose(network(image[None])[0], output, atol=1e-5)
            code = image[None]
            for layer in network.encoder:
                code = layer.forward_with_indices(code)[0] if isinstance(layer, PadMaxPool) else layer(code)
        assert latent.shape == code.shape[1:] and torch.allclose(latent, code[0], atol=1e-5)


def test_nifti_images_hold_input_and_reconstruction(autoencoder):
    import nibabel as nib
    import numpy as np

    _, group = autoencoder
    files = sorted(p.name for p in (group / "nifti_images").iterdir())
    assert len(files) == 8 and all(f.endswith(("_image_input.nii.gz", "_image_output.nii.gz")) for f in files)
    stem = files[0].split("_image_")[0]
    for name in ("input", "output"):
        image = nib.load(group / "nifti_images" / f"{stem}_image_{name}.nii.gz")
        tensor = torch.load(group / "tensors" / f"{stem}_image-0_{name}.pt", weights_only=True)
        assert image.shape == helpers.SHAPE
        np.testing.assert_allclose(np.asarray(image.dataobj), tensor[0].numpy(), atol=1e-6)


def test_a_network_without_latent_code_is_refused():
    from clinicadl.errors import InputError
    from clinicadl.models.tiny import TinyCNN
    from clinicadl.predict.saved_outputs import LatentCapture

    with pytest.raises(InputError, match="no latent code"):
        LatentCapture(TinyCNN([1, 8, 8]), "TinyCNN")


def test_the_latent_code_of_a_vae_is_its_posterior_mean(tmp_path):
    from clinicadl.models.registry import build_model
    from clinicadl.predict.saved_outputs import LatentCapture

    network = build_model("Vanilla3DdenseVAE", input_size=(1, 16, 16, 16), output_size=None, task="reconstruction",
                          options={"latent_space_size": 4, "feature_size": 8, "n_conv": 2, "io_layer_channels": 4})
    network.eval()
    capture = LatentCapture(network, "Vanilla3DdenseVAE")
    batch = {"image": torch.rand(2, 1, 16, 16, 16), "participant_id": ["sub-1", "sub-2"],
             "session_id": ["ses-M000", "ses-M000"], "image_id": torch.tensor([0, 0])}
    with torch.no_grad():
        network(batch["image"])
        written = capture.write(batch, tmp_path, "image")
        mu, _ = network.encode(batch["image"])
    assert [p.name for p in written] == ["sub-1_ses-M000_image-0_latent.pt", "sub-2_ses-M000_image-0_latent.pt"]
    for i, path in enumerate(written):
        assert torch.allclose(torch.load(path, weights_only=True), mu[i])
