"""The smooth median used to fit median durations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhytid.trial._calibrate import median_near


def test_meets_the_target_exactly_when_half_are_lost_by_it() -> None:
    days = np.array([100.0, 120.0, 140.0, 160.0])
    assert median_near(days, 130.0, 28.0) == pytest.approx(130.0)


def test_agrees_with_the_median_of_a_continuous_distribution() -> None:
    rng = np.random.default_rng(3)
    days = rng.normal(150.0, 30.0, 200_000)
    for target in (140.0, 150.0, 160.0):
        # one Newton step on the linearised distribution: second-order error
        assert median_near(days, target, 28.0) == pytest.approx(150.0, abs=2.5)


@settings(max_examples=60, deadline=None)
@given(shift=st.floats(-20.0, 20.0), target=st.floats(120.0, 180.0))
def test_later_losses_give_a_later_median(shift: float, target: float) -> None:
    days = 28.0 * np.arange(1, 13, dtype=float)
    days = np.repeat(days, 50) + np.tile(np.linspace(-7.0, 7.0, 50), 12)
    assert median_near(days + abs(shift) + 1.0, target, 28.0) >= median_near(days, target, 28.0)
