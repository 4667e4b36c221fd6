"""The parts of a simulation study that a scenario family provides: the scenario and the procedure under test.

A **scenario** (:class:`Scenario`) is a data-generating process with a known truth, drawing a *batch* of
``n_sim`` simulated data sets at once as arrays; a **procedure under test** (:class:`ProcedureUnderTest`) is an
interval method or a test applied to the whole batch, returning an :class:`IntervalOutcome` or a
:class:`TestOutcome`. The harness (:mod:`clinicadl.stats.simulation.harness`) runs them; the summary
(:mod:`clinicadl.stats.simulation.summary`) turns their outcomes into coverage, type I error or power.

References
----------
Morris T. P., White I. R., Crowther M. J. (2019). Using simulation studies to evaluate statistical methods.
Statistics in Medicine 38(11), 2074-2102.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import numpy as np
from scipy import stats

from clinicadl.errors import InputError

KINDS = ("interval", "test")


@runtime_checkable
class Scenario(Protocol):
    """A data-generating process with a known truth.

    Attributes
    ----------
    key : str
        Unique name of the scenario *with its parameters* (e.g. ``"bernoulli-accuracy(n=100,p=0.8)"``): it
        enters the seed and the cache key, so two scenarios with different parameters never share data.
    truth : Mapping[str, float]
        Known value of each target (e.g. ``{"accuracy": 0.8}``); a test scenario also has ``"null"``
        (1.0 when the null hypothesis holds, 0.0 when it does not).
    description : str
        One sentence for reports.
    """

    key: str
    truth: Mapping[str, float]
    description: str

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        """``n_sim`` simulated data sets as arrays whose first axis is the simulation.

        A key ``"truth:<target>"`` holding an array of shape ``(n_sim,)`` gives a truth that varies with
        the data set (e.g. the conditional error ``Err_XY`` of a model fitted on it).
        """


@dataclass(frozen=True)
class IntervalOutcome:
    """Intervals (and point estimates) of one procedure on a batch of simulated data sets.

    Attributes
    ----------
    estimate, low, high : numpy.ndarray of shape (n_sim,)
        NaN where the procedure returned no interval (counted as ``undefined``, never as covering).
    """

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class TestOutcome:
    """p-values of one test on a batch of simulated data sets (``pvalue`` of shape (n_sim,); NaN: undefined)."""

    __test__ = False  # not a pytest class
    pvalue: np.ndarray


@dataclass(frozen=True)
class ProcedureUnderTest:
    """A named interval method or test under test: applied to a whole batch of simulated data sets.

    Formerly ``Procedure``; not to be confused with a *learning* procedure (the replicates of a training
    configuration that ``clinicadl evaluate procedure`` assesses).

    Attributes
    ----------
    name : str
        Unique within a study (cache key), e.g. ``"wilson"``.
    kind : {"interval", "test"}
    target : str
        Key of the scenario's ``truth`` that the interval should cover (intervals), or that the test is
        about (tests: reported only).
    function : callable
        ``function(batch, rng) -> IntervalOutcome | TestOutcome``; ``rng`` is the procedure's own stream
        (bootstrap resamples). A module-level function or a :func:`functools.partial` of one, so that it
        can be sent to worker processes.
    nominal : float
        Confidence level (intervals) or significance level alpha (tests).
    reference : str
        The paper that defines the procedure.
    """

    name: str
    kind: str
    target: str
    function: Callable[[dict[str, np.ndarray], np.random.Generator], IntervalOutcome | TestOutcome] = field(
        repr=False)
    nominal: float = 0.95
    reference: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(f"Procedure {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}.")
        if not 0 < self.nominal < 1:
            raise InputError(f"Procedure {self.name!r}: nominal must be in (0, 1), got {self.nominal!r}.")


def frozen_truth(mapping: Mapping[str, float]) -> MappingProxyType:
    """A scenario's ``truth``: a read-only mapping of floats."""
    return MappingProxyType({k: float(v) for k, v in mapping.items()})


def t_interval(mean: np.ndarray, se: np.ndarray, df: float | np.ndarray, level: float) -> IntervalOutcome:
    """Student interval ``mean +/- t_{df} se`` at confidence ``level`` (vectorised over simulated data sets)."""
    q = stats.t.ppf((1 + level) / 2, df)
    return IntervalOutcome(mean, mean - q * se, mean + q * se)
