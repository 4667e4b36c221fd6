"""Registry: names, validation, forward shapes of every network, seeded initialisation."""

import subprocess
import sys

import pytest
import torch

from clinicadl.errors import InputError
from clinicadl.models import init_weights
from clinicadl.models.registry import MODELS, TASKS, ModelInfo, build_model, count_parameters, list_models

SMALL_INPUTS = {2: [1, 24, 20], 3: [1, 17, 16, 15]}  # odd sizes exercise the padded pooling
LARGER_INPUTS = {("SqueezeExcitationCNN", 3): [1, 63, 64, 63], ("resnet18", 2): [3, 64, 48],
                 ("Stride_Conv5_FC3", 2): [1, 40, 36], ("Stride_Conv5_FC3", 3): [1, 40, 36, 33],
                 ("VanillaDenseVAE", 2): [1, 32, 36], ("VanillaSpatialVAE", 2): [1, 32, 36],
                 ("Vanilla3DdenseVAE", 3): [1, 32, 33, 32], ("Vanilla3DspacialVAE", 3): [1, 32, 33, 32]}
"""Networks that need more than SMALL_INPUTS (SqueezeExcitationCNN: five unpadded poolings; resnet18,
Stride_Conv5_FC3 and the vanilla VAEs: instance normalisation needs more than one voxel after their 32-fold or
16-fold reduction)."""

TESTED_ELSEWHERE = ("GeneratorUNet",)
"""Too heavy for these loops (50 million parameters and 64x64x64 inputs at least): its forward pass and
normalisation are tested in test_upstream_generative_architectures.py."""

UNUSED_IN_FORWARD = {"CVAE_3D": ("bn4.", "bn7."), "CVAE_3D_half": ("bn4.", "bn7."),
                     "Conv5_FC3_SSDA": ("fc_class_source.", "fc_domain.")}
"""Parameters the forward pass does not use: upstream declares ``bn4`` and ``bn7`` and never uses them (kept so
that its checkpoints load); the SSDA forward pass is the target-domain head."""


def _cases():
    for name, entry in MODELS.items():
        if name in TESTED_ELSEWHERE:
            continue
        for dims in entry.spatial_dims:
            for task in entry.tasks:
                yield pytest.param(name, dims, task, id=f"{name}-{dims}D-{task}")


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize(("name", "dims", "task"), list(_cases()))
def test_forward_shape_of_every_model(name, dims, task):
    input_size = LARGER_INPUTS.get((name, dims), SMALL_INPUTS[dims])
    output_size = {"classification": 3, "regression": 1, "reconstruction": None, "segmentation": 3}[task]
    model = build_model(name, input_size=input_size, output_size=output_size, task=task, seed=0)
    x = torch.rand(2, *input_size, generator=torch.Generator().manual_seed(1))
    out = model(x)  # training mode, batch of 2
    expected = {"reconstruction": (2, *input_size), "segmentation": (2, output_size, *input_size[1:])}.get(
        task, (2, output_size))
    assert out.shape == expected
    assert torch.isfinite(out).all()
    out.sum().backward()
    unused = UNUSED_IN_FORWARD.get(name, ())
    assert all(p.grad is not None for key, p in model.named_parameters() if not key.startswith(unused))


@pytest.mark.parametrize("normalization", ["batch", "instance", "group"])
@pytest.mark.parametrize("name", [name for name in MODELS if name not in TESTED_ELSEWHERE])
def test_every_normalization(name, normalization):
    entry = MODELS[name]
    if entry.fixed_normalization and normalization != "batch":
        pytest.skip(f"{name} always has {entry.fixed_normalization} normalisation: checked once, with 'batch'")
    dims = entry.spatial_dims[-1]
    task = entry.tasks[0]
    output_size = None if task == "reconstruction" else 2
    # instance normalisation needs more than one voxel at the deepest layer: ResNet3D divides sizes by 32
    input_size = [1, 40, 40, 40] if name == "ResNet3D" else LARGER_INPUTS.get((name, dims), SMALL_INPUTS[dims])
    model = build_model(
        name, input_size=input_size, output_size=output_size, task=task, normalization=normalization, seed=0
    ).eval()
    with torch.no_grad():
        out = model(torch.rand(2, *input_size))
    assert torch.isfinite(out).all()
    kinds = {type(m).__name__ for m in model.modules()}
    normalization = entry.fixed_normalization or normalization  # upstream's own, whatever the option says
    expected = {"batch": f"BatchNorm{dims}d", "instance": f"InstanceNorm{dims}d", "group": "GroupNorm"}[normalization]
    assert expected in kinds


def test_unknown_architecture_lists_the_names():
    with pytest.raises(InputError) as info:
        build_model("Conv6_FC9", input_size=[1, 64, 64], output_size=2)
    message = str(info.value)
    assert "Conv6_FC9" in message
    for name in MODELS:
        assert name in message


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "ResNet3D", "input_size": [1, 64, 64], "output_size": 2}, "3D inputs"),
        ({"name": "Conv5_FC3", "input_size": [1, 64], "output_size": 2}, "input_size"),
        ({"name": "Conv5_FC3", "input_size": [1, 0, 64], "output_size": 2}, "input_size"),
        ({"name": "Conv5_FC3", "input_size": [1, 6.5, 64], "output_size": 2}, "input_size"),
        ({"name": "Conv5_FC3", "input_size": [1, 64, 64], "output_size": 0}, "output_size"),
        ({"name": "Conv5_FC3", "input_size": [1, 64, 64], "output_size": None}, "output_size"),
        ({"name": "Conv5_FC3", "input_size": [1, 64, 64], "output_size": 2, "task": "reconstruction"}, "task"),
        ({"name": "Conv5_FC3", "input_size": [1, 64, 64], "output_size": 2, "task": "segmentation"}, "task"),
        ({"name": "AE_Conv5_FC3", "input_size": [1, 64, 64], "output_size": 2, "task": "reconstruction"}, "output"),
        ({"name": "Conv5_FC3", "input_size": [1, 64, 64], "output_size": 2, "dropout": 1.0}, "dropout"),
        ({"name": "Conv5_FC3", "input_size": [1, 64, 64], "output_size": 2, "normalization": "layer"}, "batch"),
        ({"name": "Conv5_FC3", "input_size": [1, 64, 64], "output_size": 2, "seed": -1}, "seed"),
    ],
)
def test_bad_options_raise_input_error(kwargs, match):
    kwargs = dict(kwargs)
    name = kwargs.pop("name")
    with pytest.raises(InputError, match=match):
        build_model(name, **kwargs)


def test_reconstruction_accepts_output_size_equal_to_input_size():
    model = build_model("TinyAE", input_size=(1, 8, 8), output_size=[1, 8, 8], task="reconstruction")
    assert model(torch.rand(1, 1, 8, 8)).shape == (1, 1, 8, 8)


def test_seeded_init_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = build_model("Conv5_FC3", input_size=[1, 32, 32], output_size=2, seed=7)
    b = build_model("Conv5_FC3", input_size=[1, 32, 32], output_size=2, seed=7)
    c = build_model("Conv5_FC3", input_size=[1, 32, 32], output_size=2, seed=8)
    assert torch.equal(torch.get_rng_state(), before)
    assert _same_weights(a, b)
    assert not torch.equal(a.convolutions[0].weight, c.convolutions[0].weight)
    assert not torch.equal(a.fc[6].weight, c.fc[6].weight)
    # unseeded construction draws from the global generator, as PyTorch does
    build_model("TinyCNN", input_size=[1, 8, 8], output_size=2)
    assert not torch.equal(torch.get_rng_state(), before)


def test_seed_does_not_depend_on_the_caller_state():
    torch.manual_seed(0)
    a = build_model("TinyCNN", input_size=[1, 8, 8, 8], output_size=2, seed=3)
    torch.manual_seed(99)
    torch.rand(10)
    b = build_model("TinyCNN", input_size=[1, 8, 8, 8], output_size=2, seed=3)
    assert _same_weights(a, b)


def test_init_weights_reinitialises_reproducibly():
    before = torch.get_rng_state()
    a = build_model("ResNet3D", input_size=[1, 16, 16, 16], output_size=2, seed=1)
    b = build_model("ResNet3D", input_size=[1, 16, 16, 16], output_size=2, seed=2)
    assert not _same_weights(a, b)
    assert init_weights(a, 5) is a
    init_weights(b, 5)
    assert _same_weights(a, b)
    assert torch.equal(torch.get_rng_state(), before)
    init_weights(b, 6)
    assert not _same_weights(a, b)


def test_list_models():
    infos = list_models()
    assert [i.name for i in infos] == list(MODELS)
    assert all(isinstance(i, ModelInfo) for i in infos)
    by_name = {i.name: i for i in infos}
    assert by_name["ResNet3D"].spatial_dims == (3,)
    assert by_name["Conv5_FC3"].tasks == ("classification", "regression")
    assert 1_000 < by_name["TinyCNN"].n_parameters < 10_000
    # Conv5_FC3 on a 169x208x179 image: 128 x 6 x 7 x 6 features into the 1300-unit layer
    assert by_name["Conv5_FC3"].n_parameters == count_parameters(
        build_model("Conv5_FC3", input_size=[1, 169, 208, 179], output_size=2)
    )
    with pytest.raises(AttributeError):  # frozen
        infos[0].name = "x"
    for task in TASKS:
        names = [i.name for i in list_models(task)]
        assert names and all(task in MODELS[n].tasks for n in names)
    assert [i.name for i in list_models("reconstruction")] == [
        "AE_Conv5_FC3", "AE_Conv4_FC3", "TinyAE", "CAE_half", "CVAE_3D", "CVAE_3D_half", "CVAE_3D_final_conv",
        "Vanilla3DdenseVAE", "Vanilla3DspacialVAE", "VanillaDenseVAE", "VanillaSpatialVAE", "GeneratorUNet"]
    with pytest.raises(InputError, match="classification"):
        list_models("detection")


def test_package_import_does_not_import_torch():
    code = "import sys, clinicadl.models as m; assert 'torch' not in sys.modules; print(len(m.__all__))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    from clinicadl import models

    assert models.build_model is build_model
    with pytest.raises(AttributeError):
        _ = models.not_a_name
