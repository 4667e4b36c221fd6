"""``clinicadl train from_json``: a MAPS trained again from its maps.json (ours and ClinicaDL 1.6.1's).

Oracles: our MAPS trained again from its maps.json gives the same models (the same validation predictions, bit
for bit: deterministic training from the same seed); 1.6.1's maps.json gives a MAPS with its parameters, its
classes, input size and training group (the fixture written by upstream).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import tiny_caps as helpers
from click.testing import CliRunner

from clinicadl.cli.main import cli

UPSTREAM = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "upstream" / "v1_clinicadl_1.6.1"
PREDICTION = "split-1/best-loss/validation/validation_image_level_prediction.tsv"


def test_our_maps_is_trained_again_the_same(tmp_path):
    from clinicadl.training.replicates import train_procedure

    paths = helpers.make_dataset(tmp_path)
    parameters = helpers.resolved_parameters(paths, epochs=1, selection_metrics=["loss"], seed=3, split=[1])
    train_procedure(parameters, tmp_path / "maps", replicates=None, root_seed=3, progress=False)
    recorded = json.loads((tmp_path / "maps" / "maps.json").read_text())
    assert recorded["seed"] == 3 and recorded["seeds"]["init"] != 3  # the seed given; the derived ones beside it
    result = CliRunner().invoke(cli, ["train", "from_json", str(tmp_path / "maps" / "maps.json"),
                                      str(tmp_path / "again"), "-s", "1"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "again" / "split-0").exists()
    assert json.loads((tmp_path / "again" / "maps.json").read_text()) == recorded
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again" / PREDICTION, sep="\t"),
                                  pd.read_csv(tmp_path / "maps" / PREDICTION, sep="\t"))
    from clinicadl.training.from_json import read_training_json

    assert read_training_json(tmp_path / "maps", splits=[0]).parameters["split"] == [0]  # -s 0
    # the root maps.json of a MAPS with replicates asks for the same replicates
    root = {**recorded, "replicates": {"count": 2, "root_seed": 5, "varied_sources": ["init"]}}
    (tmp_path / "root.json").write_text(json.dumps(root))
    training = read_training_json(tmp_path / "root.json")
    assert (training.replicates, training.root_seed, training.vary) == (2, 5, ("init",))
    assert training.parameters["label_code"] == recorded["label_code"]


def test_a_json_that_is_not_a_maps_json_is_refused(tmp_path):
    (tmp_path / "maps.json").write_text('{"architecture": "Conv5_FC3"}')
    result = CliRunner().invoke(cli, ["train", "from_json", str(tmp_path / "maps.json"), str(tmp_path / "out")])
    assert result.exit_code == 1 and "network_task" in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="upstream fixture not available")
def test_upstream_maps_json_is_trained_again(tmp_path, monkeypatch):
    from clinicadl.training.from_json import train_from_json

    source = json.loads((UPSTREAM / "maps" / "maps.json").read_text())
    monkeypatch.chdir(UPSTREAM)  # 1.6.1 records caps_sl and labels/split/split relative to this folder
    train_from_json(UPSTREAM / "maps" / "maps.json", tmp_path / "maps", progress=False)
    ours = json.loads((tmp_path / "maps" / "maps.json").read_text())
    for key in ("architecture", "network_task", "mode", "label", "label_code", "input_size", "output_size",
                "selection_metrics", "loss", "batch_size", "epochs", "learning_rate", "seed", "diagnoses"):
        assert ours[key] == source[key], key
    assert Path(ours["caps_directory"]) == UPSTREAM / "caps_sl"
    for group in ("train", "validation"):
        ids = [pd.read_csv(root / "groups" / group / "split-0" / "data.tsv", sep="\t")[["participant_id",
                                                                                          "session_id"]]
               for root in (UPSTREAM / "maps", tmp_path / "maps")]
        pd.testing.assert_frame_equal(*(i.sort_values("participant_id").reset_index(drop=True) for i in ids))
    metrics = pd.read_csv(tmp_path / "maps" / "split-0/best-loss/validation/validation_slice_level_metrics.tsv",
                          sep="\t")
    expected = pd.read_csv(UPSTREAM / "maps" / "split-0/best-loss/validation/validation_slice_level_metrics.tsv",
                           sep="\t")
    assert list(metrics.columns) == list(expected.columns) and list(metrics["Metrics"]) == list(expected["Metrics"])
