"""Validation of clinicadl.stats.five_by_two against mlxtend, closed forms and a simulation under H0.

References: Dietterich (1998), Neural Computation 10(7); Alpaydin (1999), Neural Computation 11(8).
mlxtend.evaluate.paired_ttest_5x2cv and combined_ftest_5x2cv compute the same statistics from estimators: for
replication i they draw ``randint = RandomState(seed).randint(0, 32767)``, split with
``train_test_split(X, y, test_size=0.5, random_state=randint)``, and take the difference (estimator1 minus
estimator2) of the scores on fold 1 (train on the first half) then fold 2 (train on the second half).
"""

import numpy as np
import pytest
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.five_by_two import five_by_two_f, five_by_two_t

mlxtend_evaluate = pytest.importorskip("mlxtend.evaluate")
sklearn = pytest.importorskip("sklearn")
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

ALPHA = 0.05


def _scripted_scorer(scores_a, scores_b):
    """A scorer handing mlxtend the given per-fold scores in its call order (A then B, fold 1 then fold 2)."""
    sequence = iter(np.stack([scores_a, scores_b], axis=-1).ravel())  # order: (replication, fold, estimator)
    return lambda estimator, x, y: float(next(sequence))


def _data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    x = rng.standard_normal((n, 3)) + 0.8 * y[:, None]
    return x, y


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_equals_mlxtend_on_the_same_fold_scores(seed):
    rng = np.random.default_rng(seed)
    scores_a = rng.uniform(0.6, 0.9, size=(5, 2))
    scores_b = scores_a - rng.normal(0.02, 0.03, size=(5, 2))
    x, y = _data()
    dummy = DummyClassifier(strategy="most_frequent")
    t, p_t = mlxtend_evaluate.paired_ttest_5x2cv(dummy, dummy, x, y, scoring=_scripted_scorer(scores_a, scores_b))
    f, p_f = mlxtend_evaluate.combined_ftest_5x2cv(dummy, dummy, x, y, scoring=_scripted_scorer(scores_a, scores_b))
    res_t, res_f = five_by_two_t(scores_a - scores_b), five_by_two_f(scores_a - scores_b)
    assert res_t.statistic == pytest.approx(t, rel=1e-12) and res_t.pvalue == pytest.approx(p_t, rel=1e-12)
    assert res_f.statistic == pytest.approx(f, rel=1e-12) and res_f.pvalue == pytest.approx(p_f, rel=1e-12)
    assert (res_t.method, res_f.method) == ("5x2cv-t", "5x2cv-f")


def test_equals_mlxtend_with_real_estimators():
    # Reproduce mlxtend's splits from its random_seed, score two deterministic learners, compare.
    x, y = _data(seed=5, n=120)
    make_a = lambda: LogisticRegression()  # noqa: E731
    make_b = lambda: DecisionTreeClassifier(max_depth=2, random_state=0)  # noqa: E731
    differences = np.empty((5, 2))
    rng = np.random.RandomState(42)
    for i in range(5):
        x_1, x_2, y_1, y_2 = train_test_split(x, y, test_size=0.5, random_state=rng.randint(low=0, high=32767))
        for j, (x_fit, y_fit, x_test, y_test) in enumerate([(x_1, y_1, x_2, y_2), (x_2, y_2, x_1, y_1)]):
            scores = [make().fit(x_fit, y_fit).score(x_test, y_test) for make in (make_a, make_b)]
            differences[i, j] = scores[0] - scores[1]
    t, p_t = mlxtend_evaluate.paired_ttest_5x2cv(make_a(), make_b(), x, y, random_seed=42)
    f, p_f = mlxtend_evaluate.combined_ftest_5x2cv(make_a(), make_b(), x, y, random_seed=42)
    assert five_by_two_t(differences).statistic == pytest.approx(t, rel=1e-12)
    assert five_by_two_t(differences).pvalue == pytest.approx(p_t, rel=1e-12)
    assert five_by_two_f(differences).statistic == pytest.approx(f, rel=1e-12)
    assert five_by_two_f(differences).pvalue == pytest.approx(p_f, rel=1e-12)


def test_closed_forms():
    d = np.array([[0.02, 0.01], [0.03, -0.01], [0.00, 0.02], [0.01, 0.01], [0.04, 0.00]])
    s2 = ((d - d.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    t = d[0, 0] / np.sqrt(s2.mean())
    f = (d**2).sum() / (2 * s2.sum())
    assert five_by_two_t(d).statistic == pytest.approx(t, rel=1e-12)
    assert five_by_two_t(d).pvalue == pytest.approx(2 * stats.t.sf(abs(t), 5), rel=1e-12)
    assert five_by_two_t(d, alternative="greater").pvalue == pytest.approx(stats.t.sf(t, 5), rel=1e-12)
    assert five_by_two_t(d, alternative="less").pvalue == pytest.approx(stats.t.cdf(t, 5), rel=1e-12)
    assert five_by_two_f(d).statistic == pytest.approx(f, rel=1e-12)
    assert five_by_two_f(d).pvalue == pytest.approx(stats.f.sf(f, 10, 5), rel=1e-12)
    # F uses every difference symmetrically; t only the first one in its numerator.
    shuffled = d[[3, 1, 4, 0, 2]][:, ::-1]
    assert five_by_two_f(shuffled).statistic == pytest.approx(f, rel=1e-12)
    assert five_by_two_f(-d).statistic == pytest.approx(f, rel=1e-12)
    assert five_by_two_t(-d).statistic == pytest.approx(-t, rel=1e-12)


def test_degenerate_designs():
    zero_t, zero_f = five_by_two_t(np.zeros((5, 2))), five_by_two_f(np.zeros((5, 2)))
    assert (zero_t.statistic, zero_t.pvalue, zero_f.statistic, zero_f.pvalue) == (0.0, 1.0, 0.0, 1.0)
    constant = np.full((5, 2), 0.02)
    assert (five_by_two_t(constant).statistic, five_by_two_t(constant).pvalue) == (np.inf, 0.0)
    assert (five_by_two_f(constant).statistic, five_by_two_f(constant).pvalue) == (np.inf, 0.0)


def _nearest_centroid_5x2(rng, n=100, shift=0.5):
    """5x2cv accuracy differences of two 1-D nearest-centroid classifiers with equal expected accuracy."""
    y = rng.integers(0, 2, n).astype(bool)
    x = rng.standard_normal((n, 2)) + np.where(y, shift, -shift)[:, None]
    halves = np.stack([rng.permutation(np.arange(n) % 2) for _ in range(5)])
    test = (halves[:, None, :] == np.arange(2)[None, :, None]).reshape(10, n)
    train = ~test
    accuracy = []
    for feature in x.T:
        centroid_1 = (train & y) @ feature / (train & y).sum(axis=1)
        centroid_0 = (train & ~y) @ feature / (train & ~y).sum(axis=1)
        predicted = np.abs(feature - centroid_1[:, None]) < np.abs(feature - centroid_0[:, None])
        accuracy.append(((predicted == y) & test).sum(axis=1) / test.sum(axis=1))
    return (accuracy[0] - accuracy[1]).reshape(5, 2)


def test_type_one_error_with_a_real_learner():
    # Dietterich (1998) and Alpaydin (1999): both tests hold their level; the F-test is the more conservative.
    n_sim = 2000
    rng = np.random.default_rng(11)
    draws = [_nearest_centroid_5x2(rng) for _ in range(n_sim)]
    rate_t = np.mean([five_by_two_t(d).pvalue <= ALPHA for d in draws])
    rate_f = np.mean([five_by_two_f(d).pvalue <= ALPHA for d in draws])
    bound = ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / n_sim)
    assert rate_t <= bound and rate_f <= bound


@pytest.mark.parametrize(
    ("differences", "match"),
    [
        (np.zeros(10), r"shape \(10,\).*need shape \(5, 2\)"),
        (np.zeros((2, 5)), r"shape \(2, 5\).*need shape \(5, 2\)"),
        (np.zeros((10, 2)), r"shape \(10, 2\)"),
        (np.zeros((5, 3)), r"shape \(5, 3\)"),
        ([[0.1, np.nan]] + [[0.0, 0.0]] * 4, "nan at replication 0, fold 1"),
        ([["a", "b"]] * 5, "must be numbers"),
    ],
)
def test_invalid_input(differences, match):
    with pytest.raises(InputError, match=match):
        five_by_two_t(differences)
    with pytest.raises(InputError, match=match):
        five_by_two_f(differences)


def test_invalid_alternative():
    with pytest.raises(InputError, match="alternative='both'"):
        five_by_two_t(np.zeros((5, 2)), alternative="both")
