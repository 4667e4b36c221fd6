"""Participant-level stratified splitters: no leakage, proportional class counts, seeds, sklearn protocol."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clinicadl.data.demographics import age_ttest_pvalue, sex_chi2_pvalue
from clinicadl.data.labels import baseline_sessions, natural_key, sort_sessions
from clinicadl.data.splitting import (
    StratifiedParticipantKFold,
    StratifiedParticipantSplit,
    allocate_largest_remainder,
    balanced_kfold,
    balanced_split,
    draw_seed,
    participant_kfold,
    participant_split,
    resolve_n_test,
)
from clinicadl.errors import InputError


def cohort(rng, n_participants, n_classes, *, max_sessions=4, drift=True, balanced=False):
    """Sessions of participants with unbalanced classes, 1..max_sessions sessions, rows shuffled.

    Later sessions may carry another label (conversion), so that stratification must use the baseline's.
    """
    weights = np.full(n_classes, 1 / n_classes) if balanced else rng.dirichlet(np.ones(n_classes) * 0.7)
    labels = rng.choice([f"C{k}" for k in range(n_classes)], size=n_participants, p=weights)
    rows = []
    for index, label in enumerate(labels):
        months = sorted(rng.choice([0, 6, 12, 18, 24, 36, 48, 60, 120], size=rng.integers(1, max_sessions + 1),
                                   replace=False).tolist())
        for position, month in enumerate(months):
            later = drift and position > 0 and rng.random() < 0.3
            rows.append({"participant_id": f"sub-{index}", "session_id": f"ses-M{month}",
                         "diagnosis": "converted" if later else label,
                         "age": f"{60 + rng.integers(0, 30)}.0", "sex": rng.choice(["F", "M"])})
    frame = pd.DataFrame(rows)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def participant_labels(frame):
    base = baseline_sessions(frame)
    return dict(zip(base["participant_id"], base["diagnosis"]))


def test_allocate_largest_remainder_is_exact_and_within_one_exhaustively():
    rng = np.random.default_rng(0)
    for counts in itertools.product(range(7), repeat=3):
        n = sum(counts)
        for total in range(n + 1 if n else 0):
            shares = allocate_largest_remainder(counts, total, rng)
            assert shares.sum() == total
            for share, count in zip(shares, counts):
                assert 0 <= share <= count
                assert abs(share - total * count / n) < 1


def test_split_never_leaks_and_keeps_class_counts_within_one_participant():
    rng = np.random.default_rng(20240601)
    for _ in range(300):
        n = int(rng.integers(2, 41))
        frame = cohort(rng, n, int(rng.integers(1, 5)))
        n_test = int(rng.integers(1, n))
        splitter = StratifiedParticipantSplit(n_test, rng=int(rng.integers(1 << 30)))
        (train, test), = splitter.split(frame, frame["diagnosis"], frame["participant_id"])
        assert sorted(np.concatenate([train, test])) == list(range(len(frame)))
        train_p = set(frame["participant_id"].iloc[train])
        test_p = set(frame["participant_id"].iloc[test])
        assert not train_p & test_p
        assert len(test_p) == n_test
        labels = participant_labels(frame)
        counts = pd.Series(labels).value_counts()
        for label, count in counts.items():
            t = sum(labels[p] == label for p in test_p)
            assert abs(t - n_test * count / n) < 1
            assert abs((count - t) - (n - n_test) * count / n) < 1


def test_kfold_partitions_participants_with_class_counts_within_one():
    rng = np.random.default_rng(7)
    done = 0
    while done < 300:
        frame = cohort(rng, int(rng.integers(4, 50)), int(rng.integers(1, 5)))
        labels = participant_labels(frame)
        counts = pd.Series(labels).value_counts()
        if counts.min() < 2:
            continue
        k = int(rng.integers(2, counts.min() + 1))
        folds = list(StratifiedParticipantKFold(k, rng=done).split(
            frame, frame["diagnosis"], frame["participant_id"]))
        assert len(folds) == k
        seen = []
        for train, test in folds:
            assert sorted(np.concatenate([train, test])) == list(range(len(frame)))
            test_p = set(frame["participant_id"].iloc[test])
            assert not test_p & set(frame["participant_id"].iloc[train])
            seen += sorted(test_p)
            for label, count in counts.items():
                v = sum(labels[p] == label for p in test_p)
                assert math.floor(count / k) <= v <= math.ceil(count / k)
                assert abs((count - v) - count * (k - 1) / k) < 1
        assert sorted(seen) == sorted(labels)  # each participant validated exactly once
        sizes = [len(set(frame["participant_id"].iloc[test])) for _, test in folds]
        assert max(sizes) - min(sizes) <= 1
        done += 1


def test_same_seed_same_indices_different_seed_differs_and_row_order_is_irrelevant():
    rng = np.random.default_rng(3)
    frame = cohort(rng, 60, 3, balanced=True)
    args = (frame, frame["diagnosis"], frame["participant_id"])
    a = next(StratifiedParticipantSplit(0.25, rng=11).split(*args))
    b = next(StratifiedParticipantSplit(0.25, rng=11).split(*args))
    c = next(StratifiedParticipantSplit(0.25, rng=12).split(*args))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])
    shuffled = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    d = next(StratifiedParticipantSplit(0.25, rng=11).split(
        shuffled, shuffled["diagnosis"], shuffled["participant_id"]))
    assert set(frame["participant_id"].iloc[a[1]]) == set(shuffled["participant_id"].iloc[d[1]])

    folds_a = [set(v["participant_id"]) for _, v in participant_kfold(frame, 4, seed=5)]
    folds_b = [set(v["participant_id"]) for _, v in participant_kfold(shuffled, 4, seed=5)]
    folds_c = [set(v["participant_id"]) for _, v in participant_kfold(frame, 4, seed=6)]
    assert folds_a == folds_b and folds_a != folds_c


def test_stratification_uses_the_baseline_session_label():
    # sub-1's rows are out of order: its baseline (ses-M6 < ses-M12, natural order) says CN
    frame = pd.DataFrame({
        "participant_id": ["sub-0", "sub-1", "sub-1", "sub-2", "sub-3"],
        "session_id": ["ses-M0", "ses-M12", "ses-M6", "ses-M0", "ses-M0"],
        "diagnosis": ["AD", "AD", "CN", "AD", "CN"],
    })
    assert baseline_sessions(frame)["session_id"].tolist() == ["ses-M0", "ses-M6", "ses-M0", "ses-M0"]
    assert sort_sessions(frame)["session_id"].tolist() == ["ses-M0", "ses-M6", "ses-M12", "ses-M0", "ses-M0"]
    for seed in range(20):  # 2 AD + 2 CN participants, 2 folds: each fold holds one of each
        for train, valid in participant_kfold(frame, 2, seed=seed):
            base = baseline_sessions(valid)
            assert sorted(base["diagnosis"]) == ["AD", "CN"]
            assert set(valid["participant_id"]).isdisjoint(train["participant_id"])


def test_natural_key_orders_unpadded_sessions():
    assert sorted(["ses-M12", "ses-M6", "ses-M100", "ses-M0"], key=natural_key) == \
        ["ses-M0", "ses-M6", "ses-M12", "ses-M100"]
    assert sorted(["ses-M012", "ses-M006", "ses-M000"], key=natural_key) == ["ses-M000", "ses-M006", "ses-M012"]


def test_sklearn_protocol_cross_val_score_and_check_cv():
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, check_cv, cross_val_score

    rng = np.random.default_rng(0)
    frame = cohort(rng, 40, 2, drift=False, balanced=True)
    X = rng.normal(size=(len(frame), 3)) + (frame["diagnosis"] == "C0").to_numpy()[:, None]
    y = frame["diagnosis"].to_numpy()
    groups = frame["participant_id"].to_numpy()
    kfold = StratifiedParticipantKFold(4, rng=0)
    assert check_cv(kfold) is kfold
    scores = cross_val_score(LogisticRegression(), X, y, cv=kfold, groups=groups)
    assert len(scores) == 4 and np.all((scores >= 0) & (scores <= 1))
    single = cross_val_score(DummyClassifier(), X, y, cv=StratifiedParticipantSplit(0.25, rng=0),
                             groups=groups)
    assert len(single) == 1
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=kfold).fit(X, y, groups=groups)
    assert search.best_params_["C"] in (0.1, 1.0)
    # without groups each row is its own participant, as sklearn's StratifiedKFold
    assert len(list(StratifiedParticipantKFold(3, rng=1).split(X, y))) == 3


def test_splitter_errors_are_input_errors():
    y = np.array(["AD"] * 6 + ["CN"] * 2)
    groups = np.arange(8)
    with pytest.raises(InputError, match="class CN has 2 participant"):
        list(StratifiedParticipantKFold(3, rng=0).split(groups, y, groups))
    with pytest.raises(InputError, match="only 8"):
        list(StratifiedParticipantSplit(8, rng=0).split(groups, y, groups))
    with pytest.raises(InputError, match="less than one participant"):
        list(StratifiedParticipantSplit(0.1, rng=0).split(groups, y, groups))
    with pytest.raises(InputError, match="whole number"):
        resolve_n_test(2.5, 10)
    with pytest.raises(InputError, match="not valid"):
        resolve_n_test(0, 10)
    with pytest.raises(InputError, match="n_splits"):
        StratifiedParticipantKFold(1)
    with pytest.raises(InputError, match="seed"):
        list(StratifiedParticipantSplit(2, rng=np.random.default_rng(0)).split(groups, y, groups))
    with pytest.raises(InputError, match="groups has 3 values"):
        list(StratifiedParticipantSplit(2, rng=0).split(groups, y, groups[:3]))
    frame = pd.DataFrame({"participant_id": ["a", "b"], "session_id": ["s", "s"]})
    with pytest.raises(InputError, match="lacks the column diagnosis needed to stratify"):
        participant_split(frame, 1, seed=0)
    assert resolve_n_test(0.29, 100) == 29  # not 28 (0.29 * 100 = 28.999...)


def test_pvalues_match_scipy():
    rng = np.random.default_rng(1)
    for _ in range(50):
        a, b = rng.normal(70, 5, rng.integers(2, 20)), rng.normal(71, 5, rng.integers(2, 20))
        assert age_ttest_pvalue(a, b) == pytest.approx(stats.ttest_ind(a, b).pvalue, rel=1e-9)
        sa, sb = rng.integers(0, 2, rng.integers(3, 30)), rng.integers(0, 2, rng.integers(3, 30))
        table = [[np.sum(s == 0), np.sum(s == 1)] for s in (sa, sb)]
        if min(np.sum(table, axis=0)) == 0:
            continue
        expected = stats.chi2_contingency(table, correction=False).pvalue
        assert sex_chi2_pvalue(sa, sb) == pytest.approx(expected, rel=1e-9)
    assert age_ttest_pvalue(np.array([70.0, 70.0]), np.array([70.0])) == 1.0
    assert sex_chi2_pvalue(np.array([0, 0]), np.array([0])) == 1.0
    assert np.isnan(age_ttest_pvalue(np.array([70.0]), np.array([])))


def test_balanced_split_redraws_deterministically_and_records_the_draw():
    rng = np.random.default_rng(5)
    frame = cohort(rng, 40, 2, balanced=True)
    draw = balanced_split(frame, 10, seed=0, p_age_threshold=0.8, p_sex_threshold=0.8)
    part = draw.partitions[0]
    assert part.balance.p_age >= 0.8 and part.balance.p_sex >= 0.8
    again = balanced_split(frame, 10, seed=0, p_age_threshold=0.8, p_sex_threshold=0.8)
    assert again.n_tries == draw.n_tries and again.draw_seed == draw.draw_seed
    assert draw.draw_seed == draw_seed(0, draw.n_tries - 1)
    # the accepted draw seed reproduces the partition without the check
    _, test = participant_split(frame, 10, seed=draw.draw_seed)
    assert set(test["participant_id"]) == set(part.test["participant_id"])
    # a draw that passes at once equals the unchecked split of the same seed
    loose = balanced_split(frame, 10, seed=3, p_age_threshold=0.0, p_sex_threshold=0.0)
    assert loose.n_tries == 1 and loose.draw_seed == 3
    unchecked = participant_split(frame, 10, seed=3)[1]
    assert set(loose.partitions[0].test["participant_id"]) == set(unchecked["participant_id"])
    # over many seeds some need several draws
    assert max(balanced_split(frame, 10, seed=s, p_age_threshold=0.8, p_sex_threshold=0.8).n_tries
               for s in range(5)) > 1
    with pytest.raises(InputError, match="in 3 draws"):
        balanced_split(frame, 10, seed=0, p_age_threshold=1.0, p_sex_threshold=1.0, max_tries=3)
    with pytest.raises(InputError, match="no age column"):
        balanced_split(frame.drop(columns="age"), 10, seed=0, p_age_threshold=0.5)
    folds = balanced_kfold(frame, 3, seed=0, p_age_threshold=0.2, p_sex_threshold=0.2)
    assert all(p.balance.p_age >= 0.2 and p.balance.p_sex >= 0.2 for p in folds.partitions)
    assert len(folds.partitions) == 3
