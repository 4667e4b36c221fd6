"""Layers and networks: padded pooling, upstream layout, determinism, dropout randomness, trainability."""

import pytest
import torch
from torch import nn

from clinicadl.models import AE_Conv5_FC3, Conv4_FC3, Conv5_FC3, TinyCNN
from clinicadl.models.layers import CropMaxUnpool, PadMaxPool, pooled_size
from clinicadl.models.registry import build_model


@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (1, 2, 5, 6, 9), (1, 1, 1, 1)])
def test_pad_max_pool_sizes_and_inverse(shape):
    dims = len(shape) - 2
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    pool, unpool = PadMaxPool(dims), CropMaxUnpool(dims)
    pooled, indices, original = pool.forward_with_indices(x)
    assert pooled.shape[2:] == tuple(pooled_size(s, 1) for s in shape[2:])
    assert torch.equal(pooled, pool(x))
    restored = unpool(pooled, indices, original)
    assert restored.shape == x.shape
    # each pooled maximum is put back where it came from, everything else is zero
    kept = restored != 0
    assert torch.equal(restored[kept], x[kept])
    assert int(kept.sum()) == pooled.numel()


def test_pad_max_pool_pads_the_low_side_with_zeros():
    x = -torch.ones(1, 1, 3, 3)
    x[0, 0, 2, 2] = 5.0
    # padded to 4x4 with a row and a column of zeros in front: windows are {pad, x[0]}, {x[1], x[2]}
    expected = torch.tensor([[[[0.0, 0.0], [0.0, 5.0]]]])
    assert torch.equal(PadMaxPool(2)(x), expected)


def test_conv5_fc3_layout_matches_upstream():
    model = Conv5_FC3([1, 64, 64], 2)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["convolutions.0.weight"] == (8, 1, 3, 3)
    assert shapes["convolutions.17.running_var"] == (128,)
    assert shapes["fc.2.weight"] == (1300, 512)
    assert shapes["fc.4.weight"] == (50, 1300)
    assert shapes["fc.6.weight"] == (2, 50)
    assert isinstance(model.fc[1], nn.Dropout)
    assert Conv5_FC3([1, 169, 208, 179], 2).fc[2].in_features == 128 * 6 * 7 * 6


def test_conv4_fc3_layout_matches_upstream():
    shapes = {k: tuple(v.shape) for k, v in Conv4_FC3([1, 64, 64], 3).state_dict().items()}
    assert shapes["convolutions.16.weight"] == (128, 64, 3, 3)  # five conv blocks, as upstream
    assert shapes["fc.2.weight"] == (50, 512)
    assert shapes["fc.4.weight"] == (40, 50)
    assert shapes["fc.6.weight"] == (3, 40)


def test_autoencoder_encoder_matches_classifier_trunk():
    ae, cnn = AE_Conv5_FC3([1, 32, 32]), Conv5_FC3([1, 32, 32], 2)
    encoder = {k.removeprefix("encoder."): v.shape for k, v in ae.state_dict().items() if k.startswith("encoder.")}
    trunk = {k.removeprefix("convolutions."): v.shape for k, v in cnn.state_dict().items() if "convolutions." in k}
    assert encoder == trunk


@pytest.mark.parametrize("name", ["Conv5_FC3", "ResNet3D", "AE_Conv5_FC3", "TinyCNN"])
def test_eval_output_is_deterministic(name):
    dims = 3 if name == "ResNet3D" else 2
    size = [1, 16, 16, 16] if dims == 3 else [1, 32, 32]
    task = "reconstruction" if name.startswith("AE") else "classification"
    output_size = None if task == "reconstruction" else 2
    a = build_model(name, input_size=size, output_size=output_size, task=task, dropout=0.5, seed=11).eval()
    b = build_model(name, input_size=size, output_size=output_size, task=task, dropout=0.5, seed=11).eval()
    x = torch.rand(2, *size, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ya, ya2, yb = a(x), a(x), b(x)
    assert torch.equal(ya, ya2)
    assert torch.equal(ya, yb)


def test_dropout_follows_the_global_generator():
    model = build_model("TinyCNN", input_size=[1, 8, 8], output_size=4, dropout=0.5, seed=0).train()
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    a = model(x)
    torch.manual_seed(1)
    b = model(x)
    torch.manual_seed(2)
    c = model(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_tiny_cnn_size_and_training():
    assert sum(p.numel() for p in TinyCNN([1, 8, 8], 2).parameters()) == 1330
    assert sum(p.numel() for p in TinyCNN([1, 8, 8, 8], 2).parameters()) == 3778
    # learn to tell bright from dark volumes in a few dozen steps
    g = torch.Generator().manual_seed(0)
    y = torch.arange(32) % 2
    x = torch.rand(32, 1, 8, 8, 8, generator=g) * 0.5 + y.view(-1, 1, 1, 1, 1) * 0.5
    model = build_model("TinyCNN", input_size=[1, 8, 8, 8], output_size=2, seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    with torch.random.fork_rng(devices=[]):
        for _ in range(40):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean()
    assert accuracy == 1.0
