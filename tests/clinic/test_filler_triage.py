"""Aftercare triage after hyaluronic-acid filler: the red flags of a blocked vessel are emergencies."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhytid.clinic import TRIAGE_LEVELS, parse_report, triage
from rhytid.clinic._triage import symptom_codes


def _level(codes: list[str], filler: bool, days: float = 0.5) -> str:
    report = {"days_since_treatment": days, "symptoms": [{"code": c} for c in codes], "filler": filler}
    return triage(parse_report(report)).level


@pytest.mark.parametrize(
    ("code", "toxin_only", "after_filler"),
    [
        ("skin_blanching", "emergency", "emergency"),
        ("mottled_skin", "emergency", "emergency"),
        ("severe_pain", "contact_clinic", "emergency"),
        ("blurred_vision", "contact_clinic", "emergency"),
        ("double_vision", "contact_clinic", "emergency"),
        ("vision_loss", "emergency", "emergency"),
        ("bruising", "expected", "expected"),
        ("swelling", "expected", "expected"),
    ],
)
def test_filler_red_flags(code: str, toxin_only: str, after_filler: str) -> None:
    assert _level([code], filler=False) == toxin_only
    assert _level([code], filler=True) == after_filler


def test_advice_after_filler_names_the_vessel_and_hyaluronidase() -> None:
    result = triage(
        parse_report({"days_since_treatment": 0.1, "symptoms": [{"code": "blurred_vision"}], "filler": True})
    )
    assert result.advice.startswith("After filler")
    assert "hyaluronidase" in result.advice and "emergency number" in result.advice
    assert any("after filler" in r for r in result.reasons)


def test_unknown_field_message_names_filler() -> None:
    from rhytid.errors import TriageError

    with pytest.raises(TriageError, match="allowed: days_since_treatment, treated_areas, symptoms, filler"):
        parse_report({"days_since_treatment": 1, "fillers": True})


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(symptom_codes()), max_size=4, unique=True), st.floats(0, 60))
def test_filler_never_lowers_the_level(codes: list[str], days: float) -> None:
    assert TRIAGE_LEVELS.index(_level(codes, True, days)) >= TRIAGE_LEVELS.index(_level(codes, False, days))
