"""Synthetic replicate MAPS written without training (importable: ``from evaluate.test_procedure_maps import ...``),
and the tests of the reader of procedures (:mod:`clinicadl.evaluate.procedure_inputs`).

A procedure of "skill" ``s`` gives, for the image of a participant of class ``y`` (code 0 = AD, positive),
``logit P(class 1) = s * (2y - 1) + u_participant + e_model + noise``. ``u`` is shared by every model and
procedure (the same test participants), ``e_model`` depends on the replicate's init seed (shared by paired
procedures) plus a part of its own, so the true difference between two procedures is known from their skills.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clinicadl.errors import InputError, MAPSError
from clinicadl.training.seeds import DEFAULT_VARIED, SOURCES, replicate_seeds


def _participants(n: int, sessions: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"participant_id": f"sub-{j:03d}", "session_id": f"ses-M{6 * k:03d}", "label": j % 2,
             "u": rng.normal(0, 0.8)} for j in range(n) for k in range(1 + (sessions > 1 and j % 3 == 0))]
    return pd.DataFrame(rows)


def write_procedure(
    root: Path,
    *,
    skill: float = 1.5,
    n_replicates: int = 6,
    n_splits: int = 1,
    n_participants: int = 60,
    sessions: int = 1,
    root_seed: int = 0,
    varied=DEFAULT_VARIED,
    group: str = "test",
    salt: int = 0,
    model_sd: float = 0.3,
    data_seed: int = 7,
    task: str = "classification",
    statuses: dict | None = None,
    plain: bool = False,
) -> Path:
    """A MAPS with ``n_replicates`` replicates of ``n_splits`` splits, each predicted on ``group``."""
    root = Path(root)
    test = _participants(n_participants, sessions, data_seed)
    pool = [f"sub-{j:03d}" for j in range(1000, 1000 + 40)]
    replicate_rows = []
    for r in range(n_replicates):
        seeds = replicate_seeds(root_seed, r, varied)
        folder = root if plain else root / f"replicate-{r}"
        params = {"network_task": task, "mode": "image", "architecture": "Fake", "seed": seeds["init"],
                  "seeds": seeds, "replicate": r, "root_seed": root_seed, "varied_sources": list(varied),
                  "validation": "KFoldSplit" if n_splits > 1 else "SingleSplit", "n_splits": n_splits}
        if task == "classification":
            params["label_code"] = {"AD": 0, "CN": 1}
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "maps.json").write_text(json.dumps(params))
        test_dir = folder / "groups" / group
        test_dir.mkdir(parents=True, exist_ok=True)
        test[["participant_id", "session_id"]].assign(cohort="single").to_csv(test_dir / "data.tsv", sep="\t",
                                                                                index=False)
        partition = np.random.default_rng(seeds["split"]).permutation(pool)
        folds = np.array_split(partition, max(n_splits, 2) if n_splits > 1 else 5)
        for s in range(n_splits):
            validation = folds[s]
            train = [p for p in partition if p not in set(validation)]
            for name, ids in (("train", train), ("validation", validation)):
                d = folder / "groups" / name / f"split-{s}"
                d.mkdir(parents=True, exist_ok=True)
                pd.DataFrame({"participant_id": ids, "session_id": "ses-M000", "cohort": "single"}).to_csv(
                    d / "data.tsv", sep="\t")
            rng_model = np.random.default_rng([seeds["init"], s])
            rng_own = np.random.default_rng([salt, r, s, 99])
            e = model_sd * (rng_model.normal() + rng_own.normal())
            noise = rng_own.normal(0, 0.5, size=len(test))
            y = test["label"].to_numpy()
            out = test[["participant_id", "session_id"]].copy()
            if task == "classification":
                logit = skill * (2 * y - 1) + test["u"].to_numpy() + e + noise
                p1 = 1 / (1 + np.exp(-logit))
                out["true_label"] = y
                out["predicted_label"] = (p1 > 0.5).astype(int)
                out["proba0"] = 1 - p1
                out["proba1"] = p1
            else:
                out["true_label"] = 70.0 + 5 * y
                out["predicted_label"] = out["true_label"] + (3 - skill) * (test["u"].to_numpy() + noise) + e
            pred = folder / f"split-{s}" / "best-loss" / group
            pred.mkdir(parents=True, exist_ok=True)
            out.to_csv(pred / f"{group}_image_level_prediction.tsv", sep="\t", index=False)
        status = (statuses or {}).get(r, "done")
        replicate_rows.append({"replicate": r, "status": status, **{f"seed_{k}": seeds[k] for k in SOURCES},
                               "error": ""})
    if not plain:
        shared = {"network_task": task, "mode": "image",
                  "replicates": {"count": n_replicates, "root_seed": root_seed, "varied_sources": list(varied)}}
        if task == "classification":
            shared["label_code"] = {"AD": 0, "CN": 1}
        (root / "maps.json").write_text(json.dumps(shared))
        pd.DataFrame(replicate_rows).to_csv(root / "replicates.tsv", sep="\t", index=False)
    return root


# ------------------------------------------------------------------------------------------------ tests


def test_load_procedure_reads_every_replicate_and_split(tmp_path):
    from clinicadl.evaluate.procedure_inputs import has_replicates, load_procedure

    maps = write_procedure(tmp_path / "a", n_replicates=3, n_splits=2, statuses={2: "failed"})
    assert has_replicates(maps)
    procedure = load_procedure(maps, "test")
    assert procedure.replicates == (0, 1) and procedure.splits == (0, 1)
    assert procedure.varied_sources == tuple(DEFAULT_VARIED)
    assert any("replicates not finished" in n and "2 (failed)" in n for n in procedure.notes)
    model = procedure.model(1, 1)
    assert model.n_train == 20 and model.n_validation == 20
    # split varied: every (replicate, split) has its own partition
    assert len(set(procedure.partition_ids())) == 4


def test_fixed_split_shares_partitions_between_replicates(tmp_path):
    from clinicadl.evaluate.procedure_inputs import load_procedure

    maps = write_procedure(tmp_path / "a", n_replicates=3, n_splits=2, varied=("init",))
    procedure = load_procedure(maps, "test")
    assert not procedure.split_varied
    assert list(procedure.partition_ids()) == [0, 1, 0, 1, 0, 1]


def test_plain_maps_is_one_replicate(tmp_path):
    from clinicadl.evaluate.procedure_inputs import has_replicates, load_procedure

    maps = write_procedure(tmp_path / "plain", n_replicates=1, n_splits=3, plain=True)
    assert not has_replicates(maps)
    procedure = load_procedure(maps, "test")
    assert procedure.n_replicates == 1 and procedure.n_splits == 3 and not procedure.replicated


def test_pairing_needs_the_same_seeds(tmp_path):
    from clinicadl.evaluate.procedure_inputs import load_procedure, pairing_problems

    a = load_procedure(write_procedure(tmp_path / "a", n_replicates=3), "test")
    b = load_procedure(write_procedure(tmp_path / "b", n_replicates=3, skill=1.0), "test")
    c = load_procedure(write_procedure(tmp_path / "c", n_replicates=3, root_seed=1), "test")
    assert pairing_problems(a, b) == []
    problems = pairing_problems(a, c)
    assert len(problems) == 3 and "seed_split" in problems[0]


def test_different_test_participants_are_refused(tmp_path):
    from clinicadl.evaluate.procedure_inputs import check_same_test_images, load_procedure

    a = load_procedure(write_procedure(tmp_path / "a", n_replicates=2), "test")
    b = load_procedure(write_procedure(tmp_path / "b", n_replicates=2, n_participants=50), "test")
    with pytest.raises(InputError, match="not tested on the same participants"):
        check_same_test_images([a, b])


def test_replicates_that_predicted_other_images_are_refused(tmp_path):
    from clinicadl.evaluate.procedure_inputs import load_procedure

    maps = write_procedure(tmp_path / "a", n_replicates=2)
    file = maps / "replicate-1" / "split-0" / "best-loss" / "test" / "test_image_level_prediction.tsv"
    frame = pd.read_csv(file, sep="\t")
    frame.iloc[:-1].to_csv(file, sep="\t", index=False)
    with pytest.raises(InputError, match="did not predict the same"):
        load_procedure(maps, "test")


def test_missing_group_and_no_finished_replicate(tmp_path):
    from clinicadl.evaluate.procedure_inputs import load_procedure

    maps = write_procedure(tmp_path / "a", n_replicates=2)
    with pytest.raises(MAPSError, match="data group 'heldout' not found"):
        load_procedure(maps, "heldout")
    none = write_procedure(tmp_path / "b", n_replicates=2, statuses={0: "running", 1: "failed"})
    with pytest.raises(MAPSError, match="no finished replicate"):
        load_procedure(none, "test")
