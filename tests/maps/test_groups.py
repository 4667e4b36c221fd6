"""data.tsv of data groups, with and without the unnamed index column."""

from __future__ import annotations

import pytest

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps import read_group_data, read_group_tsv


def test_train_validation_index_column_dropped(v1_maps):
    train = read_group_data(v1_maps, "train", split=0)
    assert list(train.columns) == ["participant_id", "session_id", "cohort", "diagnosis"]
    assert len(train) == 8
    validation = read_group_data(v1_maps, "validation")
    assert validation["participant_id"].tolist()[0] == "sub-CLNC00003"


def test_predicted_group(v1_maps, v2_maps):
    heldout = read_group_data(v1_maps, "test-heldout")
    assert list(heldout.columns) == ["participant_id", "session_id", "cohort", "diagnosis"]
    assert len(heldout) == 4
    assert read_group_data(v2_maps, "heldout")["participant_id"].tolist()[0] == "sub-001"


def test_errors(v1_maps, tmp_path):
    with pytest.raises(MAPSError, match="available data groups"):
        read_group_data(v1_maps, "nope")
    with pytest.raises(MAPSError, match="split 4 not found"):
        read_group_data(v1_maps, "train", split=4)
    path = tmp_path / "data.tsv"
    path.write_text("participant_id\tsession_id\ns1\tses-M000\ns1\tses-M000\n")
    with pytest.raises(InputError, match="repeated images"):
        read_group_tsv(path)
    path.write_text("participant\tsession\ns1\tses-M000\n")
    with pytest.raises(InputError, match="lacks the required columns participant_id, session_id"):
        read_group_tsv(path)
