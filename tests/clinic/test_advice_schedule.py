"""Toxin-or-filler advice and the follow-up schedule."""

from __future__ import annotations

import datetime as dt

import pytest

from rhytid.clinic import advise_from_depths, advise_from_grades, advise_from_outcome, follow_up
from rhytid.clinic._rules import rules
from rhytid.errors import ClinicError

GRADES = [
    (0, 0, "none"),
    (0, 1, "none"),
    (1, 1, "none"),
    (0, 2, "toxin"),
    (0, 3, "toxin"),
    (1, 3, "toxin"),
    (1, 2, "toxin"),
    (2, 2, "filler"),
    (3, 3, "filler"),
    (2, 3, "toxin_and_filler"),
]


@pytest.mark.parametrize(
    ("rest", "peak", "recommendation"), GRADES, ids=[f"rest{r}-max{m}-{x}" for r, m, x in GRADES]
)
def test_advice_from_grades(rest: int, peak: int, recommendation: str) -> None:
    advice = advise_from_grades("glabellar", rest, peak)
    assert advice.recommendation == recommendation
    assert f"grade {rest} at rest" in advice.reason
    assert rules().advice["treat_from_grade_max"].source in advice.source


@pytest.mark.parametrize(
    ("rest", "peak"), [(-1, 2), (4, 4), (2, 1), (True, 2)], ids=["neg", "four", "max<rest", "bool"]
)
def test_bad_grades(rest: int, peak: int) -> None:
    with pytest.raises(ClinicError, match=r"glabellar\.grade_"):
        advise_from_grades("glabellar", rest, peak)


DEPTHS = [
    (50.0, 100.0, "none"),
    (50.0, 400.0, "toxin"),
    (300.0, 50.0, "filler"),
    (300.0, 300.0, "toxin_and_filler"),
]


@pytest.mark.parametrize(("static", "dynamic", "recommendation"), DEPTHS)
def test_advice_from_depths(static: float, dynamic: float, recommendation: str) -> None:
    assert advise_from_depths("forehead", static, dynamic).recommendation == recommendation


def test_advice_from_outcome() -> None:
    outcome = {
        "timeline": [
            {
                "day": 0,
                "areas": {
                    "glabellar": {"rest": {"depth_um": 60.0}, "max": {"depth_um": 500.0}},
                    "forehead": {"rest": {"depth_um": 350.0}, "max": {"depth_um": 380.0}},
                    "lateral_canthal_l": {"rest": {}, "max": {}},
                },
            }
        ]
    }
    found = {a.area: a.recommendation for a in advise_from_outcome(outcome)}
    assert found == {"glabellar": "toxin", "forehead": "filler"}
    with pytest.raises(ClinicError, match="day"):
        advise_from_outcome(outcome, day=30)


def test_negative_depth() -> None:
    with pytest.raises(ClinicError, match="static_um"):
        advise_from_depths("forehead", -1.0, 0.0)


DAY = dt.date(2025, 3, 1)
SCHEDULE = [
    ("onabotulinumtoxinA", 20, 138),
    ("onabotulinumtoxinA", 10, 120),
    ("onabotulinumtoxinA", 64, 168),
    ("daxibotulinumtoxinA", 40, 168),
    ("abobotulinumtoxinA", 50, 120),
]


@pytest.mark.parametrize(("product", "units", "days"), SCHEDULE)
def test_follow_up(product: str, units: float, days: int) -> None:
    plan = follow_up(DAY, product, units)
    assert plan.review_date == DAY + dt.timedelta(days=14)
    assert plan.earliest_retreatment == DAY + dt.timedelta(days=90)
    assert plan.recall_date == DAY + dt.timedelta(days=days)
    assert plan.recall_date >= plan.earliest_retreatment
    assert all(s.strip() for s in plan.sources)
    assert plan.to_dict()["recall_date"] == plan.recall_date.isoformat()


def test_longer_dose_never_recalls_earlier() -> None:
    dates = [follow_up(DAY, "onabotulinumtoxinA", u).recall_date for u in (4, 20, 40, 80)]
    assert dates == sorted(dates)


def test_follow_up_errors() -> None:
    with pytest.raises(ClinicError, match="product"):
        follow_up(DAY, "botox", 20)
    with pytest.raises(ClinicError, match="units"):
        follow_up(DAY, "onabotulinumtoxinA", 0)
