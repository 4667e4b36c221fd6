"""A tiny CAPS with split folders for the training and predict tests (importable: ``import tiny_caps``).

20 participants of 16x20x16 voxels (AD images carry a bright block), image and slice tensors, a 2-fold
k-fold of 16 participants, a single split and a test group of 4.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

T1 = "space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_T1w.nii.gz"
SHAPE = (16, 20, 16)
ARCHITECTURE = "TinyCNN"


def make_dataset(root: Path) -> dict[str, Path]:
    """A CAPS of 20 participants (10 AD with a bright block, 10 CN), image and slice tensors, and split folders.

    Returns paths: ``caps``, ``kfold`` (2 folds of the 16 training participants), ``split`` (one split), ``test``
    (4 other participants), ``data`` (all).
    """
    from clinicadl.data.extraction import extraction_parameters, prepare_data

    rng = np.random.default_rng(0)
    caps = root / "caps"
    rows = []
    for index in range(20):
        diagnosis = "AD" if index % 2 == 0 else "CN"
        participant = f"sub-{index:03d}"
        image = rng.normal(100.0, 10.0, size=SHAPE).astype(np.float32)
        if diagnosis == "AD":
            image[4:12, 5:15, 4:12] += 60.0
        path = caps / "subjects" / participant / "ses-M000" / "t1_linear" / f"{participant}_ses-M000_{T1}"
        path.parent.mkdir(parents=True)
        nib.save(nib.Nifti1Image(image, np.eye(4)), path)
        rows.append({"participant_id": participant, "session_id": "ses-M000", "diagnosis": diagnosis,
                     "age": 60.0 + index, "sex": "F" if index % 3 else "M"})
    prepare_data(caps, extraction_parameters("image", "t1-linear", extract_json="image.json"), n_proc=1,
                 progress=False)
    prepare_data(caps, extraction_parameters("slice", "t1-linear", extract_json="slice.json", slice_direction=2,
                                             slice_mode="single", discarded_slices=6), n_proc=1, progress=False)
    data = pd.DataFrame(rows)
    labels = root / "labels"
    labels.mkdir()
    data.to_csv(labels / "data.tsv", sep="\t", index=False)
    pool, test = data.iloc[:16], data.iloc[16:]
    test.to_csv(labels / "test_baseline.tsv", sep="\t", index=False)
    kfold = labels / "2_fold"
    for split in range(2):
        folder = kfold / f"split-{split}"
        folder.mkdir(parents=True)
        in_valid = (np.arange(16) // 2) % 2 == split
        _write_split(folder, pool[~in_valid], pool[in_valid])
    single = labels / "split"
    single.mkdir()
    _write_split(single, pool.iloc[:12], pool.iloc[12:])
    return {"caps": caps, "kfold": kfold, "split": single, "test": labels / "test_baseline.tsv",
            "data": labels / "data.tsv"}


def _write_split(folder: Path, train: pd.DataFrame, validation: pd.DataFrame) -> None:
    train.to_csv(folder / "train.tsv", sep="\t", index=False)
    train.to_csv(folder / "train_baseline.tsv", sep="\t", index=False)
    validation.to_csv(folder / "validation_baseline.tsv", sep="\t", index=False)


def train_arguments(paths: dict[str, Path], maps: Path, *, json: str = "image.json", kfold: bool = True) -> list:
    """Arguments of a fast ``clinicadl train classification`` run."""
    arguments = [str(paths["caps"]), json, str(paths["kfold"] if kfold else paths["split"]), str(maps),
                 "-a", ARCHITECTURE, "--no-gpu", "-np", "1", "-b", "4", "--epochs", "2", "--learning_rate", "0.01",
                 "--deterministic", "-sm", "loss", "-sm", "BA"]
    return arguments + (["--n_splits", "2"] if kfold else [])


def resolved_parameters(paths: dict[str, Path], *, json: str = "image.json", task: str = "classification",
                        kfold: bool = True, **options) -> dict:
    from clinicadl.training.config import load_config, resolve_parameters

    cli = {"architecture": ARCHITECTURE, "gpu": False, "n_proc": 1, "batch_size": 4, "epochs": 2,
           "learning_rate": 0.01, "deterministic": True, "selection_metrics": ["loss", "BA"] if task ==
           "classification" else ["loss"], "n_splits": 2 if kfold else 0, **options}
    parameters = load_config(task, cli)
    return resolve_parameters(parameters, network_task=task, caps_directory=paths["caps"], preprocessing_json=json,
                              tsv_directory=paths["kfold"] if kfold else paths["split"])
