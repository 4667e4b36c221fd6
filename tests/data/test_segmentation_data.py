"""Readers of the Decathlon and BraTS layouts, their conversion to a CAPS with masks, and the segmentation dataset."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from clinicadl.data.brats import brats_to_caps, read_brats
from clinicadl.data.decathlon import decathlon_to_caps, read_decathlon
from clinicadl.errors import CAPSError, InputError

SHAPE = (12, 14, 10)


def save(path, data, zooms=(1.0, 1.0, 1.0)):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data), np.diag([*zooms, 1.0])), path)


def write_decathlon(root, n_cases=4, *, n_test=1):
    """A Decathlon task: 2-channel (T1, FLAIR) images; labels 1 (a cube) and 2 (a smaller cube)."""
    rng = np.random.default_rng(0)
    training, test = [], []
    for i in range(n_cases):
        label = np.zeros(SHAPE, dtype=np.uint8)
        label[2:6, 3:8, 2:6] = 1
        label[7:9, 9:12, 5:8] = 2
        image = rng.normal(0, 0.1, (*SHAPE, 2)).astype(np.float32)
        image[..., 1] += label * 1.0
        save(root / "imagesTr" / f"br_{i:03d}.nii.gz", image, (2.0, 2.0, 2.0))
        save(root / "labelsTr" / f"br_{i:03d}.nii.gz", label, (2.0, 2.0, 2.0))
        training.append({"image": f"./imagesTr/br_{i:03d}.nii.gz", "label": f"./labelsTr/br_{i:03d}.nii.gz"})
    for i in range(n_test):
        save(root / "imagesTs" / f"br_{100 + i:03d}.nii.gz", rng.normal(size=(*SHAPE, 2)).astype(np.float32))
        test.append(f"./imagesTs/br_{100 + i:03d}.nii.gz")
    (root / "dataset.json").write_text(json.dumps({
        "name": "Toy", "description": "test", "modality": {"0": "T1", "1": "FLAIR"},
        "labels": {"0": "background", "1": "lesion", "2": "core"}, "numTraining": n_cases, "numTest": n_test,
        "training": training, "test": test}))
    return root


def test_read_decathlon(tmp_path):
    task = read_decathlon(write_decathlon(tmp_path / "Task99"))
    assert task.name == "Toy" and task.n_labels == 2 and task.modalities == {0: "T1", 1: "FLAIR"}
    assert [c.case_id for c in task.training] == ["br_000", "br_001", "br_002", "br_003"]
    assert task.test[0].label is None


def test_decathlon_to_caps_keeps_the_channel_and_the_labels(tmp_path):
    source = write_decathlon(tmp_path / "Task99")
    data_tsv = decathlon_to_caps(source, tmp_path / "caps", channel="FLAIR", include_test=True)
    data = pd.read_csv(data_tsv, sep="\t")
    assert list(data["participant_id"]) == ["sub-br000", "sub-br001", "sub-br002", "sub-br003", "sub-br100"]
    assert data.loc[0, "volume_label1"] == pytest.approx(4 * 5 * 4 * 8 / 1000)
    assert list(data["diagnosis"]) == ["lesion"] * 4 + ["unlabelled"]  # what tsvtools split stratifies on
    folder = tmp_path / "caps" / "subjects" / "sub-br001" / "ses-M000" / "custom"
    image = nib.load(folder / "sub-br001_ses-M000_image.nii.gz").get_fdata()
    mask = np.asarray(nib.load(folder / "sub-br001_ses-M000_dseg.nii.gz").dataobj)
    original = nib.load(source / "imagesTr" / "br_001.nii.gz").get_fdata()[..., 1]
    np.testing.assert_allclose(image, original, rtol=1e-6)
    assert image.shape == mask.shape == SHAPE and set(np.unique(mask)) == {0, 1, 2}
    assert not (tmp_path / "caps" / "subjects" / "sub-br100" / "ses-M000" / "custom" /
                "sub-br100_ses-M000_dseg.nii.gz").exists()


def test_decathlon_errors(tmp_path):
    with pytest.raises(InputError, match=r"no dataset\.json"):
        read_decathlon(tmp_path)
    source = write_decathlon(tmp_path / "Task99")
    (source / "labelsTr" / "br_002.nii.gz").unlink()
    with pytest.raises(InputError, match=r"1 file\(s\) that do not exist \(first: labelsTr/br_002.nii.gz"):
        read_decathlon(source)
    source = write_decathlon(tmp_path / "Task98")
    with pytest.raises(InputError, match="Modality 'PET' is not in"):
        decathlon_to_caps(source, tmp_path / "caps", channel="PET")


def test_brats_layout_and_label_remapping(tmp_path):
    root = tmp_path / "brats"
    for i in range(2):
        case = f"BraTS2021_{i:05d}"
        label = np.zeros(SHAPE, dtype=np.uint8)
        label[1:3, 1:3, 1:3], label[4:6, 4:6, 4:6], label[7:9, 7:9, 7:9] = 1, 2, 4
        for sequence in ("flair", "t1", "t1ce", "t2"):
            save(root / case / f"{case}_{sequence}.nii.gz", np.ones(SHAPE, dtype=np.float32))
        save(root / case / f"{case}_seg.nii.gz", label)
    save(root / "BraTS2021_00009" / "BraTS2021_00009_flair.nii.gz", np.ones(SHAPE, dtype=np.float32))  # unlabelled
    cases = read_brats(root)
    assert [c.case_id for c in cases] == ["BraTS2021_00000", "BraTS2021_00001", "BraTS2021_00009"]
    assert sorted(cases[0].sequences) == ["flair", "t1", "t1ce", "t2"] and cases[2].segmentation is None
    data = pd.read_csv(brats_to_caps(root, tmp_path / "caps", sequence="flair"), sep="\t")
    assert len(data) == 2 and list(data.columns[-3:]) == ["volume_label1", "volume_label2", "volume_label3"]
    mask = np.asarray(nib.load(next((tmp_path / "caps").rglob("*_dseg.nii.gz"))).dataobj)
    assert set(np.unique(mask)) == {0, 1, 2, 3}  # 4 -> 3
    with pytest.raises(InputError, match="have no 't1ce' image"):
        brats_to_caps(root, tmp_path / "caps2", sequence="t1ce", include_unlabelled=True)
    with pytest.raises(InputError, match="holds no BraTS case"):
        read_brats(tmp_path / "caps")


def test_segmentation_dataset_items_and_errors(tmp_path):
    from clinicadl.data.extraction import extraction_parameters, prepare_data
    from clinicadl.data.segmentation_dataset import SegmentationDataset

    data_tsv = decathlon_to_caps(write_decathlon(tmp_path / "Task99"), tmp_path / "caps", channel=1)
    caps = tmp_path / "caps"
    prepare_data(caps, extraction_parameters("image", "custom", custom_suffix="image.nii.gz",
                                             extract_json="image.json"), n_proc=1, progress=False)
    data = pd.read_csv(data_tsv, sep="\t")
    dataset = SegmentationDataset(caps, data, "image.json", n_labels=2)
    item = dataset[0]
    assert item["image"].shape == (1, *SHAPE) and item["mask"].shape == SHAPE
    assert item["spacing"].tolist() == [2.0, 2.0, 2.0] and item["affine"].shape == (4, 4)
    with pytest.raises(CAPSError, match="has label 2 but n_labels is 1"):
        SegmentationDataset(caps, data, "image.json", n_labels=1)[0]
    with pytest.raises(CAPSError, match=r"Masks matching '\*_roi\.nii\.gz' are missing"):
        SegmentationDataset(caps, data, "image.json", mask_pattern="*_roi.nii.gz")
    with pytest.raises(InputError, match="Flip moves voxels"):
        SegmentationDataset(caps, data, "image.json", augmentation=["Flip"])
    assert "mask" not in SegmentationDataset(caps, data, "image.json", require_masks=False)[0]
