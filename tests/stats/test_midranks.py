"""Midranks in numpy equal scipy.stats.rankdata(method="average") (the oracle), ties and axes included."""

import numpy as np
from scipy import stats

from clinicadl.stats.midranks import midranks


def test_equal_to_scipy_with_many_ties_on_every_axis():
    rng = np.random.default_rng(3)
    for shape in [(1,), (7,), (50,), (4, 30), (3, 5, 40)]:
        values = rng.integers(0, 6, size=shape).astype(float)  # heavy ties
        for axis in range(len(shape)):
            np.testing.assert_array_equal(midranks(values, axis=axis), stats.rankdata(values, axis=axis))
        continuous = rng.normal(size=shape)
        np.testing.assert_array_equal(midranks(continuous), stats.rankdata(continuous, axis=-1))


def test_constant_and_infinite_values():
    np.testing.assert_array_equal(midranks([2.0, 2.0, 2.0]), [2.0, 2.0, 2.0])
    values = np.array([np.inf, -np.inf, 0.0, np.inf])
    np.testing.assert_array_equal(midranks(values), stats.rankdata(values))
