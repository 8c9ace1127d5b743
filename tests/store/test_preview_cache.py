"""The planner preview's per-plan cache of each point's share of the toxin in each muscle."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rhytid.anatomy import reference_face
from rhytid.clinic import plan_view
from rhytid.store import schemas as s
from rhytid.store._clinical import (
    _cached_shares,
    _muscle_shares,
    build_plan,
    outcome_of,
    plan_key,
    plan_risks,
)
from rhytid.store._safety import PatientSafety

SEX, AGE = "female", 45.0


def _plan(lid_units: float) -> s.PlanCreate:
    x, rim_y = reference_face(SEX).landmarks["orbital_rim_sup_l"]
    below = {"x_mm": x, "y_mm": rim_y - 1.7, "units": lid_units}
    return s.PlanCreate(product="onabotulinumtoxinA", injections=[{"site": "procerus", "units": 4}, below])  # type: ignore[list-item]


def test_cached_shares_are_the_plans_own_and_follow_a_changed_plan() -> None:
    a, b = _plan(10), _plan(6)
    key_a, key_b = (plan_key(p, sex=SEX, age=AGE) for p in (a, b))
    muscles, shares = _cached_shares(key_a, SEX)
    fresh_muscles, fresh = _muscle_shares(build_plan(a, sex=SEX, age=AGE), SEX)
    assert muscles == fresh_muscles and np.array_equal(shares, fresh)  # bit-identical
    assert _cached_shares(key_a, SEX)[1] is shares  # a repeat is the cached answer
    with pytest.raises(ValueError, match="read-only"):
        shares[0, 0] = 0.0
    # another dose on the lid point is another plan: its own shares, not the cached ones
    other = _cached_shares(key_b, SEX)[1]
    assert not np.array_equal(other, shares)
    assert np.array_equal(other, _muscle_shares(build_plan(b, sex=SEX, age=AGE), SEX)[1])


def test_plan_risks_are_the_same_with_the_cached_shares() -> None:
    data = _plan(10)
    plan = build_plan(data, sex=SEX, age=AGE)
    outcome = outcome_of(data, sex=SEX, age=AGE, exact=False, plan=plan)
    review = PatientSafety(None, None, (), (), ()).review(
        plan_view(plan), reference_face(SEX), at=dt.datetime(2026, 1, 5, 9), outcome=outcome
    )
    fresh = plan_risks(plan, SEX, outcome, review)
    assert fresh and any(r["points"] for r in fresh)  # the lid point causes risks of its own
    key = plan_key(data, sex=SEX, age=AGE)
    assert plan_risks(plan, SEX, outcome, review, key=key) == fresh
    assert plan_risks(plan, SEX, outcome, review, key=key) == fresh  # from the cache
