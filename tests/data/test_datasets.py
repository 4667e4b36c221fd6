"""CapsDataset: items equal the NIfTI voxels after min-max normalisation, JSON/CAPS mismatches, cache, augmentation."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from clinicadl.data.augmentation import AUGMENTATIONS, Augmentation
from clinicadl.data.datasets import CapsDataset, cache_info, clear_cache, set_cache_size
from clinicadl.data.extraction import extraction_parameters, prepare_data
from clinicadl.data.normalization import min_max_normalize
from clinicadl.errors import CAPSError, InputError

UPSTREAM = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "upstream" / "v1_clinicadl_1.6.1"
T1 = "space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_T1w.nii.gz"
SHAPE = (20, 24, 20)


def make_caps(root: Path, n: int = 3, shape=SHAPE) -> dict[str, np.ndarray]:
    """A t1-linear CAPS of ``n`` random images; returns their voxels."""
    rng = np.random.default_rng(1)
    voxels = {}
    for index in range(n):
        participant = f"sub-{index:02d}"
        path = root / "subjects" / participant / "ses-M000" / "t1_linear" / f"{participant}_ses-M000_{T1}"
        path.parent.mkdir(parents=True)
        nib.save(nib.Nifti1Image(rng.gamma(2.0, 50.0, size=shape).astype(np.float32), np.eye(4)), path)
        voxels[participant] = nib.load(path).get_fdata(dtype=np.float32)
    return voxels


def normalized(array: np.ndarray) -> np.ndarray:
    array = array.astype(np.float32)
    return (array - array.min()) / (array.max() - array.min())


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()
    set_cache_size(2 * 1024**3)


@pytest.fixture
def caps(tmp_path):
    root = tmp_path / "caps"
    voxels = make_caps(root)
    data = pd.DataFrame({"participant_id": list(voxels), "session_id": "ses-M000", "diagnosis": ["AD", "CN", "AD"]})
    return root, voxels, data


def _dataset(root, data, mode, **options):
    extra = {"roi_list": ["box"]} if mode == "roi" else {}
    parameters = extraction_parameters(mode, "t1-linear", extract_json=f"{mode}{len(options)}", **extra, **options)
    prepare_data(root, parameters, n_proc=1, progress=False)
    return CapsDataset(root, data, parameters["extract_json"], label="diagnosis", label_code={"AD": 0, "CN": 1})


def _mask(root: Path) -> np.ndarray:
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[2:10, 5:9, 4:16] = 1
    path = root / "masks" / "tpl-MNI152NLin2009cSym_desc-Crop_res-1x1x1_roi-box_mask.nii.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(mask, np.eye(4)), path)
    return mask.astype(bool)


@pytest.mark.parametrize("save_features", [False, True])
def test_items_equal_normalized_voxels(caps, save_features):
    root, voxels, data = caps
    mask = _mask(root)
    image = _dataset(root, data, "image")
    assert len(image) == 3 and image.size == (1, *SHAPE)
    item = image[1]
    assert (item["participant_id"], item["session_id"], item["label"], item["image_id"]) == ("sub-01", "ses-M000", 1, 0)
    np.testing.assert_allclose(item["image"][0].numpy(), normalized(voxels["sub-01"]), atol=1e-6, rtol=0)

    patch = _dataset(root, data, "patch", patch_size=10, stride_size=5, save_features=save_features)
    assert len(patch) == 3 * 27 and patch.preprocessing["prepare_dl"] is save_features
    item = patch[2 * 27 + 17]  # sub-02, patch (1, 2, 2) of the 3 x 3 x 3 grid
    assert item["patch_id"] == 17 and item["label"] == 0
    np.testing.assert_allclose(item["image"][0].numpy(), normalized(voxels["sub-02"][5:15, 10:20, 10:20]), atol=1e-6)

    slices = _dataset(root, data, "slice", slice_direction=0, discarded_slices=[3, 1], save_features=save_features)
    assert len(slices) == 3 * 16
    item = slices[16 + 4]
    # slice 4 of the kept ones is slice 3 + 4 = 7 of the volume, numbered as upstream by its index in the volume
    assert item["slice_id"] == 7 and item["image"].shape == (3, 24, 20)
    for channel in range(3):
        np.testing.assert_allclose(item["image"][channel].numpy(), normalized(voxels["sub-01"][7]), atol=1e-6)

    roi = _dataset(root, data, "roi", save_features=save_features)
    expected = np.where(mask, voxels["sub-00"], 0.0)[2:10, 5:9, 4:16]
    np.testing.assert_allclose(roi[0]["image"][0].numpy(), normalized(expected), atol=1e-6)
    assert roi[0]["roi_id"] == 0


def test_batches_from_a_dataloader(caps):
    root, _, data = caps
    dataset = _dataset(root, data, "slice", slice_direction=2, slice_mode="single")
    batch = next(iter(DataLoader(dataset, batch_size=4)))
    assert batch["image"].shape == (4, 1, 20, 24) and batch["image"].dtype == torch.float32
    assert batch["slice_id"].tolist() == [0, 1, 2, 3] and batch["participant_id"] == ["sub-00"] * 4


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="upstream fixtures absent")
def test_upstream_fixture_caps_is_read():
    caps = UPSTREAM / "caps_sl"
    data = pd.read_csv(caps / "data.tsv", sep="\t").drop_duplicates()
    dataset = CapsDataset(caps, data, "extract_1795748279.json", label="diagnosis", label_code={"AD": 0, "CN": 1})
    assert len(dataset) == 16 and dataset.n_elements == 1
    item = dataset[0]
    raw = torch.load(item["image_path"], weights_only=True)
    assert item["image"].shape == (1, 64, 64) and item["slice_id"] == 0
    assert torch.allclose(item["image"], min_max_normalize(raw), atol=1e-6)
    assert item["label"] == {"AD": 0, "CN": 1}[data.iloc[0]["diagnosis"]]


def test_extraction_json_that_does_not_match_the_caps(caps):
    root, _, data = caps
    parameters = extraction_parameters("image", "t1-linear", extract_json="image.json")
    prepare_data(root, parameters, n_proc=1, progress=False)
    slice_json = extraction_parameters("slice", "t1-linear", save_features=True, extract_json="slice.json")
    with pytest.raises(CAPSError, match=r"does not match the CAPS: .*missing.*has tensors in: image_based/t1_linear"):
        CapsDataset(root, data, slice_json)
    flair = extraction_parameters("image", "flair-linear", extract_json="flair.json")
    with pytest.raises(CAPSError, match=r"preprocessing flair-linear\) does not match the CAPS: .*no image matching"):
        CapsDataset(root, data, flair)
    with pytest.raises(CAPSError, match=r"does not exist \(found: image.json\)"):
        CapsDataset(root, data, "nope.json")
    broken = root / "tensor_extraction" / "broken.json"
    broken.write_text(json.dumps({"mode": "image"}))
    with pytest.raises(CAPSError, match=r"lacks key\(s\) preprocessing, file_type"):
        CapsDataset(root, data, "broken")
    tensor = next((root / "subjects" / "sub-00").rglob("*.pt"))
    torch.save(torch.zeros(3, 20, 24), tensor)  # a slice where the JSON says image
    with pytest.raises(CAPSError, match=r"says mode 'image'.*has shape \[3, 20, 24\]"):
        CapsDataset(root, data, "image.json")
    with pytest.raises(InputError, match=r"lacks column\(s\) age"):
        CapsDataset(root, data, "image.json", label="age")


def test_cache_reads_each_file_once_across_epochs_and_datasets(caps):
    root, _, data = caps
    first = _dataset(root, data, "patch", patch_size=10, stride_size=5)  # patches cut from cached images
    clear_cache()
    second = CapsDataset(root, data, first.preprocessing, label="diagnosis", label_code={"AD": 0, "CN": 1})
    for _ in range(3):  # epochs
        for dataset in (first, second):  # e.g. two replicates in one process
            for batch in DataLoader(dataset, batch_size=8, shuffle=True):
                assert batch["image"].shape[1:] == (1, 10, 10, 10)
    info = cache_info()
    assert info.misses == 3 and info.hits == 2 * 3 * len(first) - 3
    assert info.n_items == 3 and info.n_bytes == 3 * 4 * np.prod(SHAPE)
    clear_cache()
    set_cache_size(int(1.5 * 4 * np.prod(SHAPE)))  # room for one image: every change of image is a miss
    for index in (0, 27, 0, 27):
        first[index]
    assert cache_info().misses == 4 and cache_info().n_items == 1
    uncached = CapsDataset(root, data, first.preprocessing, cache=False)
    uncached[0]
    assert cache_info().misses == 4


def test_cached_tensors_are_never_modified(caps):
    root, voxels, data = caps
    dataset = CapsDataset(root, data, _dataset(root, data, "image").preprocessing, normalize=False,
                          augmentation=["Noise"], seed=1)
    for _ in range(2):
        dataset[0]["image"].add_(1000)
    plain = CapsDataset(root, data, dataset.preprocessing, normalize=False)
    assert torch.equal(plain[0]["image"][0], torch.from_numpy(voxels["sub-00"]))


def test_augmentation_is_reproducible_per_seed(caps):
    root, voxels, data = caps
    parameters = _dataset(root, data, "image").preprocessing
    names = ["Noise", "Flip", "Affine", "BiasField"]

    def epoch(seed, shuffle_seed, epoch_index=0):
        dataset = CapsDataset(root, data, parameters, augmentation=names, seed=seed)
        dataset.set_epoch(epoch_index)
        loader = DataLoader(dataset, batch_size=2, shuffle=True, generator=torch.Generator().manual_seed(shuffle_seed))
        return {pid: image for batch in loader for pid, image in zip(batch["participant_id"], batch["image"])}

    reference = epoch(seed=7, shuffle_seed=0)
    again = epoch(seed=7, shuffle_seed=1)  # another data order: the same augmented tensors
    assert all(torch.equal(reference[pid], again[pid]) for pid in reference)
    other_seed = epoch(seed=8, shuffle_seed=0)
    assert not any(torch.equal(reference[pid], other_seed[pid]) for pid in reference)
    next_epoch = epoch(seed=7, shuffle_seed=0, epoch_index=1)
    assert not any(torch.equal(reference[pid], next_epoch[pid]) for pid in reference)
    plain = torch.from_numpy(normalized(voxels["sub-00"]))
    assert not torch.allclose(reference["sub-00"][0], plain)


@pytest.mark.parametrize("shape", [(1, 12, 14, 10), (3, 16, 12)])
def test_every_augmentation_keeps_shape_and_dtype(shape):
    tensor = torch.rand(shape)
    for name in AUGMENTATIONS:
        augment = Augmentation([name], seed=0)
        result = augment(tensor, key=(0, 1))
        assert result.shape == tensor.shape and result.dtype == torch.float32, name
        assert type(result) is torch.Tensor, name
        assert torch.equal(result, augment(tensor, key=(0, 1))), name


def test_unknown_augmentations():
    with pytest.raises(InputError, match="Unknown data augmentation 'Rotate'"):
        Augmentation(["Rotate"])
    assert not Augmentation(["None"])
