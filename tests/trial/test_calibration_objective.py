"""The calibration objective: standardised target residuals plus the prior on the grade steps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rhytid.trial import TrialParameters
from rhytid.trial._calibrate import GRADE_STEP, GRADE_STEP_PRIOR_SD, Target, _objective, get_free, set_free

TARGETS = [Target("a", 0.5, 0.1, "a rate", "test"), Target("b", 100.0, 10.0, "a duration", "test")]


def test_residuals_are_standardised_and_the_prior_comes_last() -> None:
    r = _objective({"a": 0.6, "b": 80.0, GRADE_STEP: 0.3}, TARGETS)
    assert r == pytest.approx([1.0, -2.0, 0.3 / GRADE_STEP_PRIOR_SD])


def test_equal_grade_steps_cost_nothing_a_collapsed_mild_grade_does() -> None:
    equal = {"a": 0.5, "b": 100.0, GRADE_STEP: math.log(1.4) - math.log(1.4)}
    collapsed = {"a": 0.5, "b": 100.0, GRADE_STEP: math.log(1404 / 1334) - math.log(2441 / 1404)}
    assert np.sum(_objective(equal, TARGETS) ** 2) == 0.0
    assert np.sum(_objective(collapsed, TARGETS) ** 2) > 10.0


def test_free_parameters_round_trip() -> None:
    tp = TrialParameters.from_data()
    free = get_free(tp)
    again = get_free(set_free(tp, free))
    for name, value in free.items():
        assert again[name] == pytest.approx(value, rel=1e-12), name
    assert 0.0 < set_free(tp, {**free, "rater_persistent_odds": 1e6}).population.rater_persistent_share < 1.0
