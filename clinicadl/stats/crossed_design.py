"""The crossed design of a learning procedure: R trained models scored on the same n test participants.

Model ``r`` (a replicate: split and seeds re-drawn) has, on participant ``j``, a linearised contribution::

    x_rj = mu + a_r + u_j + e_rj,   a_r ~ (0, s_a^2),  u_j ~ (0, s_u^2),  e_rj ~ (0, s_e^2)

``a_r`` is the replicate effect (split and seeds), ``u_j`` the participant effect shared by every model (some
participants are hard for all of them) and ``e_rj`` their interaction (a participant hard for one model, easy
for another). ``x_rj`` is the participant's jackknife pseudo-value for the model's metric (Quenouille 1956;
Tukey 1958): ``m_c theta_r - (m_c - 1) theta_r(-j)`` within the participant's class stratum ``c`` of size
``m_c``; for the AUC it is DeLong's placement value, for BA half the participant's correctness (plus a
constant), for accuracy its correctness, so every metric of the registry is handled by one code path, with
participant clustering (all sessions of a participant are left out together).

Two-way analysis of variance of each stratum's R x m_c table gives unbiased estimators of the components on
the scale of the metric for a test set of this size (Searle, Casella & McCulloch 1992, section 4.3; the
U-statistic view is Owen 2007's):

- ``interaction = sum_c MS_E,c / m_c`` (one model's own test-set noise, not shared);
- ``participant = sum_c (MS_P,c - MS_E,c) / (R m_c)`` (test-set sampling shared by every model);
- ``replicate = s^2(theta_r) - interaction`` (split + seeds; ``s^2`` over the models' metric values).

The variance of the mean over models is then ``replicate / R + participant + interaction / R``, estimated
without bias by ``s^2(theta_r) / R + sum_c (MS_P,c - MS_E,c) / (R m_c)``. The estimator used before this module
subtracted each model's *whole* test-set variance from the between-model spread, which does not contain the
shared part: the replicate component was biased low on a shared test set.

References
----------
Searle S. R., Casella G., McCulloch C. E. (1992). Variance Components. Wiley, chapter 4.
Owen A. B. (2007). The pigeonhole bootstrap. Annals of Applied Statistics 1(2), 386-411.
Graybill F. A., Wang C. M. (1980). Confidence intervals on nonnegative linear combinations of variances. JASA
75(372), 869-873. Burdick R. K., Graybill F. A. (1992). Confidence Intervals on Variance Components. Dekker.
McCullagh P. (2000). Resampling and exchangeable arrays. Bernoulli 6(2), 285-301.
DeLong E. R., DeLong D. M., Clarke-Pearson D. L. (1988). Biometrics 44(3), 837-845.
Quenouille M. H. (1956). Notes on bias in estimation. Biometrika 43, 353-360.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from clinicadl.errors import InputError
from clinicadl.stats.bootstrap import jackknife_distribution
from clinicadl.stats.metrics import point_estimates, resolve_metrics
from clinicadl.stats.predictions import make_predictions
from clinicadl.stats.resampling import make_plan


@dataclass(frozen=True)
class CrossedValues:
    """Metric values and participant pseudo-values of R models on one shared test set.

    Attributes
    ----------
    metric : str
    values : numpy.ndarray of shape (R,)
        Each model's metric on the whole test set (replicates: mean over their splits).
    pseudo : numpy.ndarray of shape (R, m)
        Jackknife pseudo-value of each model on each participant (columns in sorted participant order).
    strata : numpy.ndarray of shape (m,)
        Stratum code of each participant: its true class for classification, 0 otherwise.
    participants : numpy.ndarray of shape (m,)
        Participant identifiers (sorted), the columns of ``pseudo``.
    """

    metric: str
    values: np.ndarray
    pseudo: np.ndarray
    strata: np.ndarray
    participants: np.ndarray

    @property
    def n_models(self) -> int:
        return int(self.values.size)

    @property
    def n_participants(self) -> int:
        return int(self.pseudo.shape[1])


def _scores(y_score, n: int) -> np.ndarray:
    try:
        scores = np.asarray(y_score, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"y_score must be numeric: {error}") from None
    if scores.ndim == 1:
        scores = scores[None, :]
    if scores.ndim not in (2, 3) or scores.shape[1] != n:
        raise InputError(f"y_score must have shape (R, n) or (R, n, K) with n = {n} test rows, got {scores.shape}.")
    return scores


def _participant_strata(predictions, n_units: int) -> np.ndarray:
    if predictions.task not in ("binary", "multiclass"):
        return np.zeros(n_units, dtype=np.int64)
    strata = np.empty(n_units, dtype=np.int64)
    strata[predictions.units[::-1]] = predictions.y_true[::-1]  # a participant's class: that of its first row
    return strata


def crossed_values(
    y_true,
    y_score,
    *,
    metric: str,
    groups=None,
    pos_label: int = 1,
    replicates=None,
) -> CrossedValues:
    """Metric values and jackknife pseudo-values of every model, one row per replicate.

    Parameters
    ----------
    y_true : array_like of shape (n,) or None
        True class codes (integers), true values (floats, regression) or None (per-image values such as a Dice).
    y_score : array_like of shape (R, n) or (R, n, K)
        One row per trained model: probabilities of ``pos_label`` (binary), class probabilities (R, n, K),
        predicted values (regression) or per-image values.
    metric : str
        A name of :data:`clinicadl.stats.METRICS` (with ``-<k>`` for a class of a multi-class task).
    groups : array_like of shape (n,), optional
        Participant of each row; sessions of a participant are left out together. Default: one row each.
    pos_label : int, default 1
    replicates : array_like of shape (R,), optional
        Replicate of each model row. Models of one replicate (its data splits) are averaged, values and
        pseudo-values alike, so that splits nest inside replicates. Default: every row is a replicate.

    Returns
    -------
    CrossedValues
    """
    truth = None if y_true is None else np.asarray(y_true)
    n = truth.size if truth is not None else np.asarray(y_score).shape[-1]
    scores = _scores(y_score, n)
    groups = np.arange(n) if groups is None else np.asarray(groups)
    if groups.shape != (n,):
        raise InputError(f"groups must hold one participant per test row ({n}), got shape {groups.shape}.")
    binary = scores.ndim == 2 and truth is not None and (np.issubdtype(truth.dtype, np.integer)
                                                         or np.issubdtype(truth.dtype, np.bool_))
    models = []
    for model in scores:
        score = model
        if binary:
            score = np.column_stack([model, 1.0 - model]) if pos_label == 0 else np.column_stack([1.0 - model, model])
        models.append(make_predictions(truth, score, groups=groups, pos_label=pos_label))
    return values_from_predictions(models, metric=metric, replicates=replicates, participants=np.unique(groups))


def values_from_predictions(models, *, metric: str, replicates=None, participants=None) -> CrossedValues:
    """:func:`crossed_values` from validated :class:`~clinicadl.stats.predictions.Predictions`, one per model.

    Every model must have scored the same participants (same ``groups`` values): their unit codes then
    match. Used by ``clinicadl evaluate procedure``, whose predictions carry the predicted labels of the MAPS.
    """
    values, pseudo, strata, sizes = [], [], None, None
    for predictions in models:
        requests = resolve_metrics([metric], predictions)
        if strata is None:
            strata = _participant_strata(predictions, predictions.n_units)
            sizes = np.bincount(strata)[strata].astype(np.float64)
        elif predictions.n_units != strata.size:
            raise InputError(f"the models scored different numbers of participants ({predictions.n_units} and "
                             f"{strata.size}): the crossed design needs the same test participants for every model.")
        plan = make_plan(predictions.units, predictions.n_units)
        theta = float(point_estimates(predictions, requests)[0])
        left_out = jackknife_distribution(predictions, requests, plan)[:, 0]
        values.append(theta)
        pseudo.append(sizes * theta - (sizes - 1) * left_out)
    if not values:
        raise InputError("no trained model given: the crossed design needs at least one.")
    values_arr, pseudo_arr = np.asarray(values), np.vstack(pseudo)
    if replicates is not None:
        ids = np.asarray(replicates)
        if ids.shape != (values_arr.size,):
            raise InputError(f"replicates must name the replicate of each of the {values_arr.size} models, "
                             f"got shape {ids.shape}.")
        _, codes = np.unique(ids, return_inverse=True)
        counts = np.bincount(codes).astype(np.float64)
        values_arr = np.bincount(codes, weights=values_arr) / counts
        pseudo_arr = np.vstack([pseudo_arr[codes == k].mean(axis=0) for k in range(counts.size)])
    if participants is None:
        participants = np.arange(strata.size)
    return CrossedValues(metric, values_arr, pseudo_arr, strata, np.asarray(participants))


@dataclass(frozen=True)
class CrossedComponents:
    """Variance components of the crossed design, on the metric's scale, for a test set of this size.

    Attributes
    ----------
    replicate : float
        Variance between trained models due to the procedure's randomness (split and seeds):
        ``s^2(theta_r) - interaction``. May be negative by sampling error (reported as is; NaN with one
        replicate).
    participant : float
        Test-set sampling variance shared by every model (the same participants score all of them).
    interaction : float
        Each model's own test-set noise: the participant-by-replicate interaction, not shared.
    between_models : float
        ``s^2(theta_r)``, the observed variance of the models' values (``replicate + interaction``).
    variance_of_mean : float
        Unbiased estimate of the variance of the mean over the R models: ``replicate / R + participant +
        interaction / R``.
    replicate_part, participant_part : float
        The two parts of ``variance_of_mean`` that the interval treats with their own degrees of freedom:
        ``max(replicate, 0) / R`` and ``participant + interaction / R`` (always >= 0).
    df_replicate, df_participant : float
        Degrees of freedom of the two parts: ``R - 1``, and Satterthwaite's over the class strata with each
        stratum's degrees of freedom corrected for the kurtosis of its participant means (:func:`kurtosis_df`).
    n_replicates, n_participants : int
    """

    replicate: float
    participant: float
    interaction: float
    between_models: float
    variance_of_mean: float
    replicate_part: float
    participant_part: float
    df_replicate: float
    df_participant: float
    n_replicates: int
    n_participants: int

    @property
    def one_model(self) -> float:
        """Variance of one trained model's value: ``replicate + participant + interaction``."""
        return self.replicate + self.participant + self.interaction


def _two_way(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Participant and residual mean squares of R x m tables, batched over leading axes."""
    r, m = table.shape[-2:]
    row = table.mean(axis=-1, keepdims=True)
    column = table.mean(axis=-2, keepdims=True)
    grand = row.mean(axis=-2, keepdims=True)
    ms_participant = r * ((column - grand) ** 2).sum(axis=(-2, -1)) / (m - 1)
    if r < 2:
        return ms_participant, np.full(ms_participant.shape, np.nan)
    residual = table - row - column + grand
    ms_error = (residual**2).sum(axis=(-2, -1)) / ((r - 1) * (m - 1))
    return ms_participant, ms_error


def kurtosis_df(columns: np.ndarray) -> np.ndarray:
    """Degrees of freedom of the variance of ``m`` participant means, corrected for their excess kurtosis.

    ``Var(s^2) = sigma^4 (2 / (m - 1) + kappa / m)`` for excess kurtosis ``kappa`` (Cramer 1946, section 27.4),
    so Satterthwaite's (1946) moment matching gives ``df = 2 / (2 / (m - 1) + kappa / m)``, at most ``m - 1``.
    Near the bound of a metric most participants are always right and a few are often wrong: the participant
    means are skewed and heavy-tailed, and ``m - 1`` degrees of freedom over-state what the test set tells
    (coverage 0.91-0.92 at 20-30 participants per class in the validation; docs/validation.md). ``kappa`` is
    the sample excess kurtosis with the usual small-sample correction (Joanes & Gill 1998, G2), floored at 0.
    With a handful of participants per class and one of them unlike the others, ``G2`` is near ``m`` and the
    degrees of freedom fall to 2 or less: the interval is then wide (an AUC of 0.99 on 10 + 10 participants can
    reach down to 0.5), which is what so few participants can say. A floor at a third of ``m - 1`` was tried and
    rejected: it shortened those intervals but lost coverage at 20-30 participants per class (AUC 0.914 at
    R = 10, n = 50 in the validation grid).

    Parameters
    ----------
    columns : numpy.ndarray of shape (..., m)

    Returns
    -------
    numpy.ndarray of shape (...,)
    """
    m = columns.shape[-1]
    return np.minimum(2.0 / (2.0 / (m - 1) + excess_kurtosis(columns) / m), m - 1.0)


def excess_kurtosis(columns: np.ndarray) -> np.ndarray:
    """Sample excess kurtosis of the last axis with the small-sample correction (Joanes & Gill 1998, G2),
    floored at 0 (and 0 below 4 values, or for constant values).

    Parameters
    ----------
    columns : numpy.ndarray of shape (..., m)

    Returns
    -------
    numpy.ndarray of shape (...,)
    """
    m = columns.shape[-1]
    if m < 4:
        return np.zeros(columns.shape[:-1])
    deviation = columns - columns.mean(axis=-1, keepdims=True)
    m2 = (deviation**2).mean(axis=-1)
    m4 = (deviation**4).mean(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g2 = m4 / m2**2 - 3.0
        kappa = ((m + 1) * g2 + 6) * (m - 1) / ((m - 2) * (m - 3))
    return np.where(np.isfinite(kappa), np.maximum(kappa, 0.0), 0.0)


def components_from_arrays(values: np.ndarray, pseudo: np.ndarray, strata: np.ndarray) -> dict[str, np.ndarray]:
    """The ANOVA components of :class:`CrossedComponents` for a batch of studies.

    Parameters
    ----------
    values : numpy.ndarray of shape (..., R)
    pseudo : numpy.ndarray of shape (..., R, m)
    strata : numpy.ndarray of shape (m,)
        Stratum of each participant (shared by the batch); every stratum needs at least two participants.

    Returns
    -------
    dict of numpy.ndarray of shape (...,)
        The fields of :class:`CrossedComponents` (except the counts).
    """
    r = values.shape[-1]
    codes, sizes = np.unique(strata, return_counts=True)
    if np.any(sizes < 2):
        raise InputError(f"every class needs at least two test participants for the crossed-design variance; "
                         f"class(es) {codes[sizes < 2].tolist()} have one.")
    shape = values.shape[:-1]
    participant_part = np.zeros(shape)
    interaction = np.zeros(shape)
    participant = np.zeros(shape)
    satterthwaite = np.zeros(shape)
    for code, size in zip(codes, sizes):  # a loop over the (two or three) class strata
        table = pseudo[..., strata == code]
        ms_p, ms_e = _two_way(table)
        part = ms_p / (r * size)
        participant_part += part
        satterthwaite += part**2 / kurtosis_df(table.mean(axis=-2))
        interaction += ms_e / size
        participant += (ms_p - ms_e) / (r * size)
    with np.errstate(invalid="ignore", divide="ignore"):
        df_participant = np.where(satterthwaite > 0, participant_part**2 / satterthwaite, sizes.min() - 1.0)
    if r < 2:
        nan = np.full(shape, np.nan)
        return {"replicate": nan, "participant": nan, "interaction": nan, "between_models": nan,
                "variance_of_mean": participant_part, "replicate_part": np.zeros(shape),
                "participant_part": participant_part, "df_replicate": np.zeros(shape),
                "df_participant": df_participant}
    between = values.var(axis=-1, ddof=1)
    replicate = between - interaction
    return {"replicate": replicate, "participant": participant, "interaction": interaction,
            "between_models": between, "variance_of_mean": between / r + participant,
            "replicate_part": np.maximum(replicate, 0.0) / r, "participant_part": participant_part,
            "df_replicate": np.full(shape, r - 1.0), "df_participant": df_participant}


def crossed_components(values: CrossedValues) -> CrossedComponents:
    """Variance components of one study (see the module docstring)."""
    parts = components_from_arrays(values.values, values.pseudo, values.strata)
    return CrossedComponents(**{k: float(v) for k, v in parts.items()}, n_replicates=values.n_models,
                             n_participants=values.n_participants)


def linearised_resamples(pseudo: np.ndarray, strata: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """First-order value of each model under participant resampling weights, minus its value.

    ``theta_r(w) - theta_r ~ sum_c (mean_w,c(x_r) - mean_c(x_r))`` with stratum-wise weighted means: exact for
    BA, sensitivity, specificity and (one session per participant) accuracy under a stratified resample.

    Parameters
    ----------
    pseudo : numpy.ndarray of shape (R, m)
    strata : numpy.ndarray of shape (m,)
    weights : numpy.ndarray of shape (B, m)
        How many times each participant is drawn (stratified: each stratum keeps its size).

    Returns
    -------
    numpy.ndarray of shape (B, R)
    """
    out = np.zeros((weights.shape[0], pseudo.shape[0]))
    for code in np.unique(strata):
        cols = strata == code
        w = weights[:, cols]
        x = pseudo[:, cols]
        out += (w @ x.T) / w.sum(axis=1, keepdims=True) - x.mean(axis=1)[None, :]
    return out


COMPONENT_NAMES = ("replicate", "participant", "interaction", "one_model")
"""Components reported with an interval: the three sources and their sum (one trained model's variance)."""


def draw_two_way(strata: np.ndarray, n_resamples: int, rng: np.random.Generator, replicate_sizes
                 ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """All the draws of a two-way bootstrap at once, so that results do not depend on how they are batched.

    Returns
    -------
    columns : numpy.ndarray of shape (B, m)
        Participants drawn within their class, laid out stratum by stratum (the layout of ``layout``).
    layout : numpy.ndarray of shape (m,)
        Stratum of each column of ``columns``.
    rows : list of numpy.ndarray of shape (B, R_k)
        Replicates drawn for each size in ``replicate_sizes`` (one matrix per procedure).
    """
    codes = np.unique(strata)
    blocks = [np.flatnonzero(strata == code) for code in codes]
    columns = np.concatenate([block[rng.integers(0, block.size, size=(n_resamples, block.size))]
                              for block in blocks], axis=1).astype(np.int32)
    layout = np.concatenate([np.full(block.size, code) for block, code in zip(blocks, codes)])
    rows = [rng.integers(0, size, size=(n_resamples, size)).astype(np.int32) for size in replicate_sizes]
    return columns, layout, rows


def participant_counts(columns: np.ndarray, m: int) -> np.ndarray:
    """How many times each participant is drawn, from a (b, m) matrix of drawn participants."""
    b = columns.shape[0]
    flat = columns + (np.arange(b, dtype=np.int64) * m)[:, None]
    return np.bincount(flat.ravel(), minlength=b * m).reshape(b, m).astype(np.float64)


def chunks(n_resamples: int, cells: int, batch: int | None = None):
    """Slices of resamples whose work arrays hold about 2**22 elements (or ``batch`` resamples each)."""
    step = batch or max(1, min(n_resamples, (1 << 22) // max(cells, 1)))
    for start in range(0, n_resamples, step):
        yield slice(start, min(start + step, n_resamples))


def mls_interval(positive, negative, confidence_level: float = 0.95) -> tuple[float, float]:
    """Modified large-sample interval of ``sum(positive) - sum(negative)``, each term a scaled mean square.

    Graybill & Wang (1980); Burdick & Graybill (1992), section 3.4: for ``theta = sum_i c_i MS_i - sum_j c_j MS_j``
    with ``MS`` on ``df`` degrees of freedom, ``G = 1 - df / chi2_{1-a/2}`` and ``H = df / chi2_{a/2} - 1``::

        low  = theta - sqrt(sum_i G_i^2 (c_i MS_i)^2 + sum_j H_j^2 (c_j MS_j)^2)
        high = theta + sqrt(sum_i H_i^2 (c_i MS_i)^2 + sum_j G_j^2 (c_j MS_j)^2)

    The lower bound is truncated at 0 (a variance). ``positive`` and ``negative`` are sequences of
    ``(c MS, df)`` pairs.
    """
    alpha = 1.0 - confidence_level

    def g(df):
        return 1.0 - df / (2.0 * special.gammainccinv(df / 2, alpha / 2))  # chi2.isf, without scipy.stats

    def h(df):
        return df / (2.0 * special.gammaincinv(df / 2, alpha / 2)) - 1.0  # chi2.ppf

    theta = sum(v for v, _ in positive) - sum(v for v, _ in negative)
    low = theta - np.sqrt(sum((g(d) * v) ** 2 for v, d in positive) + sum((h(d) * v) ** 2 for v, d in negative))
    high = theta + np.sqrt(sum((h(d) * v) ** 2 for v, d in positive) + sum((g(d) * v) ** 2 for v, d in negative))
    return float(max(low, 0.0)), float(max(high, 0.0))


def component_intervals(values: CrossedValues, *, confidence_level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Intervals of the replicate, participant and interaction components and of one model's variance.

    Each component is a linear combination of mean squares (module docstring): the modified large-sample
    interval of :func:`mls_interval` gives its bounds, with the participant mean squares on their
    kurtosis-corrected degrees of freedom (:func:`kurtosis_df`) and the between-model variance on ``R - 1``.
    With one replicate nothing varies between models: NaN bounds.
    """
    r, _ = values.pseudo.shape
    if r < 2:
        return {name: (np.nan, np.nan) for name in COMPONENT_NAMES}
    between = float(values.values.var(ddof=1))
    participant_terms, error_terms = [], []
    for code in np.unique(values.strata):
        table = values.pseudo[:, values.strata == code]
        m = table.shape[1]
        ms_p, ms_e = (float(x) for x in _two_way(table))
        participant_terms.append((ms_p / (r * m), float(kurtosis_df(table.mean(axis=0)))))
        error_terms.append((ms_e / m, (r - 1.0) * (m - 1.0), ms_e / (r * m)))
    interaction = [(v, d) for v, d, _ in error_terms]
    shared_error = [(w, d) for _, d, w in error_terms]
    return {
        "replicate": mls_interval([(between, r - 1.0)], interaction, confidence_level),
        "participant": mls_interval(participant_terms, shared_error, confidence_level),
        "interaction": mls_interval(interaction, [], confidence_level),
        "one_model": mls_interval([(between, r - 1.0), *participant_terms], shared_error, confidence_level),
    }
