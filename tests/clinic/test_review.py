"""``review_plan``: the one review of a plan against the history, the rules and the clinic's record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rhytid
from rhytid.anatomy import Face
from rhytid.clinic import (
    Acknowledgement,
    PlanView,
    RecordedTreatment,
    RecordEvent,
    Review,
    ReviewAcknowledgement,
    parse_history,
    plan_view,
    review_plan,
)
from rhytid.errors import ClinicError

from .conftest import complete_history

ROOT = Path(__file__).resolve().parents[2]
AT = dt.datetime(2025, 6, 1, 10, 0)
ONA = "onabotulinumtoxinA"


@pytest.fixture(scope="module")
def glabellar() -> PlanView:
    return plan_view(rhytid.load_plan(ROOT / "examples" / "glabellar-20U.toml"))


def _treated(days: float, units: float = 20, product: str = ONA) -> RecordedTreatment:
    return RecordedTreatment(AT - dt.timedelta(days=days), product, units, ("glabellar",))


def _alert(ref: str, days: float, *, open_: bool, kind: str = "aftercare_alert") -> RecordEvent:
    return RecordEvent(ref, kind, AT - dt.timedelta(days=days), "contact clinic — eyelid droop", open_)  # type: ignore[arg-type]


def _review(plan: PlanView, face: Face, history: dict[str, Any] | None = None, **kw: Any) -> Review:
    parsed = parse_history(history if history is not None else complete_history()) if history != {} else None
    return review_plan(plan, face, history=parsed, at=AT, **kw)


def _codes(review: Review) -> dict[str, str]:
    return {f.code: f.severity for f in review.findings}


CASES: list[tuple[str, dict[str, Any], dict[str, str], bool, bool]] = [
    # id, review keywords, expected {code: severity} (subset), blocking, cleared
    ("clean", {}, {}, False, True),
    ("no-history", {"history": {}}, {"no_history": "blocking"}, True, False),
    (
        "recorded-9-minutes-ago",
        {"treatments": [_treated(9 / 1440)]},
        {"retreatment_too_soon": "blocking"},
        True,
        False,
    ),
    (
        "recorded-89-days-ago",
        {"treatments": [_treated(89)]},
        {"retreatment_too_soon": "blocking"},
        True,
        False,
    ),
    ("recorded-90-days-ago", {"treatments": [_treated(90)]}, {}, False, True),
    (
        "intake-30-days-ago",
        {"history": complete_history(previous_toxin=[{"date": "2025-05-02", "product": ONA, "units": 20}])},
        {"retreatment_too_soon": "blocking", "recent_toxin": "warning"},
        True,
        False,
    ),
    (
        "cumulative-over-400",
        {"treatments": [_treated(10, 390)]},
        {"cumulative_dose_above_max": "blocking", "retreatment_too_soon": "blocking"},
        True,
        False,
    ),
    (
        "other-product-in-window",
        {"treatments": [_treated(10, 50, "abobotulinumtoxinA")]},
        {"other_products_in_window": "note", "retreatment_too_soon": "blocking"},
        True,
        False,
    ),
    (
        "open-alert",
        {"events": [_alert("aftercare_report:1", 200, open_=True)]},
        {"open_alert": "warning"},
        False,
        False,
    ),
    (
        "open-alert-acknowledged",
        {
            "events": [_alert("aftercare_report:1", 200, open_=True)],
            "acknowledgements": [ReviewAcknowledgement("aftercare_report:1", "Dr A", "seen, resolved", AT)],
        },
        {"open_alert": "note"},
        False,
        True,
    ),
    (
        "closed-alert-10-days",
        {"events": [_alert("aftercare_report:2", 10, open_=False)]},
        {"recent_aftercare_alert": "warning"},
        False,
        False,
    ),
    ("closed-alert-100-days", {"events": [_alert("aftercare_report:3", 100, open_=False)]}, {}, False, True),
    (
        "adverse-event-10-days",
        {"events": [_alert("adverse_event:4", 10, open_=False, kind="adverse_event")]},
        {"recent_adverse_event": "warning"},
        False,
        False,
    ),
    (
        "contraindication",
        {"history": complete_history(conditions=["myasthenia_gravis"])},
        {"neuromuscular_disease": "blocking"},
        True,
        False,
    ),
    (
        "precaution",
        {"history": complete_history(medications=["warfarin"])},
        {"antithrombotic": "warning"},
        False,
        False,
    ),
    (
        "precaution-acknowledged",
        {
            "history": complete_history(medications=["warfarin"]),
            "screening_acknowledgements": [Acknowledgement("Dr A", AT, ("antithrombotic",))],
        },
        {"antithrombotic": "note"},
        False,
        True,
    ),
    (
        "incomplete",
        {"history": complete_history(pregnant=None)},
        {"history_incomplete": "blocking"},
        True,
        False,
    ),
]


@pytest.mark.parametrize(
    ("kw", "expected", "blocking", "cleared"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_review_table(
    glabellar: PlanView,
    face: Face,
    kw: dict[str, Any],
    expected: dict[str, str],
    blocking: bool,
    cleared: bool,
) -> None:
    history = kw.pop("history", None)
    review = _review(glabellar, face, history, **kw)
    codes = _codes(review)
    assert {k: codes.get(k) for k in expected} == expected, review.findings
    assert (review.blocking, review.cleared) == (blocking, cleared)
    severities = [f.severity for f in review.findings]
    assert severities == sorted(severities, key=["blocking", "warning", "note"].index)  # blocking first
    if not expected:  # nothing about the record or history beyond the plan's own notes
        assert set(codes) <= {"non_label_dilution"}, review.findings
    assert review.to_dict()["blocking"] is blocking and review.to_dict()["cleared"] is cleared


def test_no_history_is_the_first_finding_and_says_so(glabellar: PlanView, face: Face) -> None:
    review = _review(glabellar, face, {})
    first = review.findings[0]
    assert (first.code, first.severity) == ("no_history", "blocking")
    assert "no medical history on file" in first.reason
    assert review.summary().startswith("cannot be treated as planned: no medical history on file")


def test_recorded_treatment_is_named_in_the_reason(glabellar: PlanView, face: Face) -> None:
    review = _review(glabellar, face, treatments=[_treated(9 / 1440)])
    (f,) = [f for f in review.findings if f.code == "retreatment_too_soon"]
    assert "last treatment 0 days before" in f.reason
    assert "recorded here 2025-06-01 09:51: 20 U onabotulinumtoxinA, glabellar" in f.reason


def test_intake_entry_of_a_recorded_treatment_is_not_counted_twice(glabellar: PlanView, face: Face) -> None:
    day = (AT - dt.timedelta(days=100)).date()
    history = complete_history(previous_toxin=[{"date": day.isoformat(), "product": ONA, "units": 200}])
    record = [RecordedTreatment(dt.datetime.combine(day, dt.time(9)), ONA, 200, ("glabellar",))]
    at = AT - dt.timedelta(days=20)  # 80 days after it: inside the cumulative window
    review = review_plan(glabellar, face, history=parse_history(history), at=at, treatments=record)
    assert "cumulative_dose_above_max" not in _codes(review)  # 200 + 20 U, not 420 U
    doubled = review_plan(
        glabellar, face, history=parse_history(history), at=at, treatments=[*record, _treated(100, 200)]
    )
    assert _codes(doubled)["cumulative_dose_above_max"] == "blocking"  # two records are two treatments


def test_acknowledgements_need_a_reason_and_a_known_record(glabellar: PlanView, face: Face) -> None:
    events = [_alert("aftercare_report:1", 1, open_=True)]
    with pytest.raises(ClinicError, match="acknowledge: aftercare_report:1: give the clinician and a reason"):
        _review(
            glabellar,
            face,
            events=events,
            acknowledgements=[ReviewAcknowledgement("aftercare_report:1", "Dr A", " ", AT)],
        )
    with pytest.raises(ClinicError, match="acknowledge: adverse_event:9 is not a finding"):
        _review(
            glabellar,
            face,
            events=events,
            acknowledgements=[ReviewAcknowledgement("adverse_event:9", "Dr A", "x", AT)],
        )


def test_treatments_after_the_planned_time_are_not_earlier_treatments(
    glabellar: PlanView, face: Face
) -> None:
    later = RecordedTreatment(AT + dt.timedelta(days=1), ONA, 20)
    assert "retreatment_too_soon" not in _codes(_review(glabellar, face, treatments=[later]))


def test_the_models_spread_is_part_of_the_review(face: Face) -> None:
    risky = rhytid.load_plan(ROOT / "examples" / "risky-lateral-corrugator.toml")
    view = plan_view(risky)
    without = _review(view, face)
    with_model = _review(view, face, outcome=rhytid.simulate(risky).to_dict())
    assert any(
        f.code.startswith("model_") or f.code == "unintended_muscle_block" for f in with_model.findings
    )
    assert set(_codes(without)) < set(_codes(with_model))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 200), st.floats(0.5, 250), st.sampled_from([ONA, "incobotulinumtoxinA"])),
        max_size=4,
    )
)
def test_record_rules_match_their_definition(
    glabellar: PlanView, face: Face, doses: list[tuple[float, float, str]]
) -> None:
    """Retreatment: some earlier treatment under 90 days ago; cumulative: same-product units within
    90 days plus the plan over 400 U. Adding treatments never clears a blocked review."""
    record = [_treated(days, units, product) for days, units, product in doses]
    review = _review(glabellar, face, treatments=record)
    codes = _codes(review)
    days_since = [(AT.date() - t.performed_at.date()).days for t in record]
    assert ("retreatment_too_soon" in codes) == any(d < 90 for d in days_since)
    same = sum(t.units for t, d in zip(record, days_since, strict=True) if t.product == ONA and d < 90)
    assert ("cumulative_dose_above_max" in codes) == (same + glabellar.total_units > 400)
    if review.blocking:
        more = _review(glabellar, face, treatments=[*record, _treated(45, 10)])
        assert more.blocking
