"""Training a variance study: the design written to the MAPS, each training once, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinicadl.maps.study import read_study_tsv
from clinicadl.training.replicates import ReplicatesFailedError, read_replicates_tsv, resume_maps
from clinicadl.training.seeds import SOURCES
from clinicadl.training.variance_study import train_study


def _seeds_by_design(maps: Path) -> dict[str, list[dict[str, int]]]:
    """The seeds of every model of each design, read back from study.tsv and replicates.tsv."""
    records = read_replicates_tsv(maps)
    out: dict[str, list[dict[str, int]]] = {}
    for row in read_study_tsv(maps):
        out.setdefault(row.design, []).append(dict(records[row.replicate].seeds))
    return out


def test_a_study_varies_one_source_per_design_and_trains_the_reference_once(fake, tmp_path):
    maps = tmp_path / "study"
    sources = ["split", "init", "order"]
    result = train_study(fake.PARAMETERS, maps, sources=sources, n_replicates=3, root_seed=5,
                         train_fn=fake.fake_train)
    by_design = _seeds_by_design(maps)
    assert sorted(by_design) == sorted([*sources, "all"])
    for design, seeds in by_design.items():
        varying = {s for s in SOURCES if len({model[s] for model in seeds}) > 1}
        assert varying == (set(sources) if design == "all" else {design}), design
    # 4 designs x 3 models share one reference: 4 * 3 - 3 trainings, each trained exactly once
    assert sorted(result.statuses) == list(range(9)) and set(result.statuses.values()) == {"done"}
    calls = sorted(maps.glob("replicate-*/call.json"))
    assert len(calls) == 9
    reference = [row for row in read_study_tsv(maps) if row.member == 0]
    assert {row.replicate for row in reference} == {0}
    root = json.loads((maps / "maps.json").read_text())
    assert root["study"] == {"kind": "sources", "sources": sources, "n_replicates": 3, "nested": None}


def test_the_same_root_seed_gives_the_same_study(fake, tmp_path):
    for name in ("a", "b"):
        train_study(fake.PARAMETERS, tmp_path / name, sources=["init", "dropout"], n_replicates=2, root_seed=1,
                    nested=None, train_fn=fake.fake_train)
    assert (tmp_path / "a" / "study.tsv").read_text() == (tmp_path / "b" / "study.tsv").read_text()
    assert _seeds_by_design(tmp_path / "a") == _seeds_by_design(tmp_path / "b")


def test_a_nested_study_separates_split_and_seeds(fake, tmp_path):
    maps = tmp_path / "nested"
    train_study(fake.PARAMETERS, maps, sources=["split", "init"], n_replicates=2, root_seed=0, nested=(3, 2),
                train_fn=fake.fake_train)
    nested = [row for row in read_study_tsv(maps) if row.design == "nested"]
    records = read_replicates_tsv(maps)
    assert len(nested) == 6
    for split_draw in range(3):
        rows = [r for r in nested if r.split_draw == split_draw]
        assert len({records[r.replicate].seeds["split"] for r in rows}) == 1
        assert len({records[r.replicate].seeds["init"] for r in rows}) == 2


def test_an_interrupted_study_resumes_without_retraining_finished_models(fake, tmp_path, monkeypatch):
    maps = tmp_path / "study"
    monkeypatch.setenv("FAKE_FAIL", "2")
    with pytest.raises(ReplicatesFailedError):
        train_study(fake.PARAMETERS, maps, sources=["init", "order"], n_replicates=2, root_seed=0,
                    train_fn=fake.fake_train)
    before = {p: p.stat().st_mtime_ns for p in maps.glob("replicate-*/call.json") if "replicate-2" not in str(p)}
    monkeypatch.delenv("FAKE_FAIL")
    result = resume_maps(maps, train_fn=fake.fake_train)
    assert result.trained == (2,) and set(result.statuses.values()) == {"done"}
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())


def test_the_command_line_trains_a_study_and_refuses_half_given_options(tmp_path, monkeypatch):
    import tiny_caps as helpers
    from click.testing import CliRunner

    from clinicadl.cli.main import cli

    dataset = helpers.make_dataset(tmp_path / "data")
    output = tmp_path / "study"
    arguments = helpers.train_arguments(dataset, output, kfold=False)
    arguments[arguments.index("--epochs") + 1] = "1"
    result = CliRunner().invoke(cli, ["train", "classification", *arguments, "--study", "sources",
                                      "--sources", "init,order", "--replicates", "2", "--root_seed", "1"])
    assert result.exit_code == 0, result.output
    assert "Variance study" in result.output and "evaluate sources" in result.output
    rows = read_study_tsv(output)
    assert {row.design for row in rows} == {"init", "order", "all"}
    assert (output / "replicate-0/split-0/best-loss/validation/validation_image_level_metrics_ci.tsv").is_file()
    for extra, message in ((["--sources", "init"], "--study sources"), (["--study", "sources"], "--replicates"),
                           (["--study", "sources", "--sources", "init,hpo", "--replicates", "2"], "--hpo_space")):
        refused = CliRunner().invoke(cli, ["train", "classification", *arguments, "--overwrite", *extra])
        assert refused.exit_code == 1 and message in refused.output, refused.output


def _searching_base(parameters, maps_dir, seeds, *, resample_split=False, progress=True, **_):
    """fake_train plus a validation log whose loss depends on the learning rate (what a search selects on)."""
    import math

    import test_replicates

    test_replicates.fake_train(parameters, maps_dir, seeds, resample_split=resample_split, progress=progress)
    log = Path(maps_dir) / "split-0" / "training_logs" / "training.tsv"
    log.parent.mkdir(parents=True, exist_ok=True)
    loss = abs(math.log10(parameters["learning_rate"]) + 2) + (seeds["init"] % 997) * 1e-4
    log.write_text(f"epoch\tloss_valid\n0\t{loss}\n")


def test_a_study_of_hpo_searches_where_hpo_varies_and_keeps_the_references_choice_elsewhere(fake, tmp_path,
                                                                                               monkeypatch):
    from clinicadl.training.hpo import Dimension, SearchSpace, SearchTrainFn

    space = SearchSpace((Dimension("learning_rate", "log_uniform", (1e-4, 1e-1)),))
    search = SearchTrainFn(space, 3, base=_searching_base)
    parameters = {**fake.PARAMETERS, "network_task": "classification"}
    maps = tmp_path / "study"
    monkeypatch.setenv("FAKE_FAIL", "0")  # the reference fails: nothing that keeps its choice may train
    with pytest.raises(ReplicatesFailedError):
        train_study(parameters, maps, sources=["init", "hpo"], n_replicates=3, root_seed=2, train_fn=search)
    statuses = {r: record.status for r, record in read_replicates_tsv(maps).items()}
    assert statuses[0] == "failed" and set(statuses.values()) - {"failed"} == {"pending"}
    monkeypatch.delenv("FAKE_FAIL")
    result = resume_maps(maps, train_fn=search)
    assert set(result.statuses.values()) == {"done"}

    reference = json.loads((maps / "replicate-0" / "hpo.json").read_text())
    records = read_replicates_tsv(maps)
    for row in read_study_tsv(maps):
        folder = maps / f"replicate-{row.replicate}"
        stored = json.loads((folder / "maps.json").read_text())
        searched = (folder / "hpo" / "trials.tsv").is_file()
        if row.design == "init" and row.member > 0:  # FixHOpt: the reference's hyper-parameters, no search
            assert not searched and stored["hpo"]["values"] == reference["values"]
            assert stored["hpo"]["fixed_from"].endswith("replicate-0")
            assert stored["learning_rate"] == pytest.approx(reference["values"]["learning_rate"])
            assert records[row.replicate].seeds["hpo"] == records[0].seeds["hpo"]
        else:  # the reference, and every model that re-draws hpo (designs hpo and all), runs its own search
            assert searched, (row.design, row.member)
    drawn = {json.dumps(json.loads((maps / f"replicate-{r.replicate}" / "hpo.json").read_text())["values"])
             for r in read_study_tsv(maps) if r.design == "hpo"}
    assert len(drawn) == 3  # three searches seeded by three hpo draws
