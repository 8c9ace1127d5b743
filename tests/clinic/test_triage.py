"""Aftercare triage: a table per symptom, red flags, monotonicity and the interview."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhytid.clinic import TRIAGE_LEVELS, load_report, parse_report, triage
from rhytid.clinic._interview import interview
from rhytid.clinic._rules import rules
from rhytid.clinic._triage import symptom_codes
from rhytid.errors import TriageError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "aftercare"


def _level(days: float, *symptoms: dict[str, Any]) -> str:
    report = parse_report({"days_since_treatment": days, "symptoms": list(symptoms)})
    return triage(report).level


# (days since treatment, symptom, expected level)
CASES = [
    (1, {"code": "injection_site_pain"}, "expected"),
    (1, {"code": "swelling"}, "expected"),
    (1, {"code": "redness"}, "expected"),
    (0, {"code": "bump"}, "expected"),
    (3, {"code": "bruising"}, "expected"),
    (2, {"code": "headache", "days": 1}, "expected"),
    (5, {"code": "swelling"}, "self_care"),
    (12, {"code": "bruising"}, "self_care"),
    (10, {"code": "headache", "days": 1}, "self_care"),
    (9, {"code": "headache", "days": 8}, "contact_clinic"),
    (10, {"code": "swelling", "days": 9}, "contact_clinic"),
    (5, {"code": "eyelid_droop"}, "contact_clinic"),
    (5, {"code": "brow_droop"}, "contact_clinic"),
    (5, {"code": "asymmetry"}, "contact_clinic"),
    (5, {"code": "double_vision", "onset": "gradual"}, "contact_clinic"),
    (5, {"code": "blurred_vision"}, "contact_clinic"),
    (5, {"code": "dry_eye"}, "contact_clinic"),
    (5, {"code": "rash"}, "contact_clinic"),
    (5, {"code": "hives"}, "contact_clinic"),
    (3, {"code": "fever"}, "contact_clinic"),
    (3, {"code": "hot_painful_swelling"}, "contact_clinic"),
    (
        5,
        {"code": "facial_droop", "onset": "gradual", "location": "treated_area"},
        "contact_clinic",
    ),
    (5, {"code": "facial_droop", "onset": "sudden", "location": "treated_area"}, "emergency"),
    (5, {"code": "facial_droop", "onset": "gradual", "location": "outside_treated_area"}, "emergency"),
    (5, {"code": "facial_droop"}, "emergency"),
    (5, {"code": "double_vision", "onset": "sudden"}, "emergency"),
    (5, {"code": "blurred_vision", "onset": "sudden"}, "emergency"),
    (1, {"code": "vision_loss"}, "emergency"),
    (1, {"code": "severe_sudden_headache"}, "emergency"),
    (1, {"code": "arm_weakness"}, "emergency"),
    (1, {"code": "speech_difficulty"}, "emergency"),
    (1, {"code": "confusion"}, "emergency"),
    (8, {"code": "trouble_swallowing"}, "emergency"),
    (8, {"code": "trouble_breathing"}, "emergency"),
    (8, {"code": "hoarseness"}, "emergency"),
    (20, {"code": "generalized_weakness"}, "emergency"),
    (0, {"code": "wheezing"}, "emergency"),
    (0, {"code": "face_or_throat_swelling"}, "emergency"),
]


@pytest.mark.parametrize(
    ("days", "symptom", "level"),
    CASES,
    ids=[f"{s['code']}-day{d}-{s.get('onset', '')}{s.get('location', '')}-{lv}" for d, s, lv in CASES],
)
def test_symptom_table(days: float, symptom: dict[str, Any], level: str) -> None:
    report = parse_report({"days_since_treatment": days, "symptoms": [symptom]})
    result = triage(report)
    assert result.level == level
    assert rules().triage.symptoms[symptom["code"]].source in result.sources


def test_hives_with_breathing_trouble_is_anaphylaxis() -> None:
    result = triage(
        parse_report(
            {"days_since_treatment": 0, "symptoms": [{"code": "hives"}, {"code": "trouble_breathing"}]}
        )
    )
    assert result.level == "emergency"
    assert "allergic reaction" in result.advice


def test_stroke_advice_names_fast_and_the_emergency_number() -> None:
    result = triage(load_report(EXAMPLES / "stroke-signs.json"))
    assert result.level == "emergency"
    assert "FAST" in result.advice and "emergency number" in result.advice
    assert "not a side effect" in result.advice


def test_spread_advice() -> None:
    result = triage(parse_report({"days_since_treatment": 4, "symptoms": [{"code": "hoarseness"}]}))
    assert "spread" in result.advice


def test_no_symptoms() -> None:
    result = triage(parse_report({"days_since_treatment": 2}))
    assert result.level == "expected" and result.reasons == ()


def test_contract_keys() -> None:
    data = triage(load_report(EXAMPLES / "expected.json")).to_dict()
    assert {"level", "advice", "reasons"} <= set(data)
    assert data["level"] == "expected"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"days_since_treatment": 1, "symptoms": [{"code": "headach"}]}, "symptoms[0].code"),
        ({"days_since_treatment": -1}, "days_since_treatment"),
        ({"symptoms": []}, "days_since_treatment"),
        ({"days_since_treatment": 1, "treated_areas": ["lips"]}, "treated_areas"),
        (
            {"days_since_treatment": 1, "symptoms": [{"code": "rash", "onset": "slowly"}]},
            "symptoms[0].onset",
        ),
        ({"days_since_treatment": 1, "mood": "ok"}, "mood"),
    ],
    ids=["unknown-code", "negative-days", "no-days", "unknown-area", "bad-onset", "extra-field"],
)
def test_bad_reports(data: dict[str, Any], field: str) -> None:
    with pytest.raises(TriageError) as info:
        parse_report(data)
    assert str(info.value).startswith(field)


def test_report_file_errors(tmp_path: Path) -> None:
    with pytest.raises(TriageError, match="cannot be read"):
        load_report(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[", encoding="utf-8")
    with pytest.raises(TriageError, match="not valid JSON"):
        load_report(bad)


# --- properties ------------------------------------------------------------------------------

RED_FLAGS = [c for c, r in rules().triage.symptoms.items() if r.level == "emergency"]


@st.composite
def symptoms(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"code": draw(st.sampled_from(symptom_codes()))}
    if draw(st.booleans()):
        out["onset"] = draw(st.sampled_from(["sudden", "gradual"]))
    if draw(st.booleans()):
        out["location"] = draw(st.sampled_from(["treated_area", "outside_treated_area"]))
    if draw(st.booleans()):
        out["days"] = draw(st.integers(0, 30))
    return out


DAYS = st.integers(0, 60)


@settings(max_examples=150, deadline=None)
@given(days=DAYS, others=st.lists(symptoms(), max_size=5), flag=st.sampled_from(RED_FLAGS))
def test_any_red_flag_is_an_emergency(days: int, others: list[dict[str, Any]], flag: str) -> None:
    red = {"code": flag, "onset": "sudden"} if flag == "facial_droop" else {"code": flag}
    assert _level(days, *others, red) == "emergency"


@settings(max_examples=200, deadline=None)
@given(days=DAYS, before=st.lists(symptoms(), max_size=5), added=symptoms())
def test_adding_a_symptom_never_lowers_the_level(
    days: int, before: list[dict[str, Any]], added: dict[str, Any]
) -> None:
    rank = TRIAGE_LEVELS.index
    assert rank(_level(days, *before, added)) >= rank(_level(days, *before))


# --- interactive -----------------------------------------------------------------------------


def _scripted(yes: set[str], numbers: list[float]) -> tuple[Any, Any, list[str]]:
    asked: list[str] = []
    numbers = list(numbers)

    def ask_yes_no(question: str) -> bool:
        asked.append(question)
        return any(word in question for word in yes)

    def ask_number(question: str) -> float:
        asked.append(question)
        return numbers.pop(0)

    return ask_yes_no, ask_number, asked


def test_interview_builds_the_report() -> None:
    yes_no, number, _ = _scripted({"frown lines", "bruise"}, [2, 1])
    report = interview(yes_no, number, lambda _: None)
    assert report.days_since_treatment == 2
    assert report.treated_areas == ("glabellar",)
    assert [s.code for s in report.symptoms] == ["bruising"]
    assert triage(report).level == "expected"


def test_interview_stops_at_the_first_emergency() -> None:
    said: list[str] = []
    yes_no, number, asked = _scripted({"drooping, or is your smile", "started suddenly", "suddenly"}, [3])
    report = interview(yes_no, number, said.append)
    assert triage(report).level == "emergency"
    assert not any("bruise" in q for q in asked)
    assert said[-1] == rules().triage.interview.value["stop"]


_TIMED = [(c, r) for c, r in rules().triage.symptoms.items() if r.expected_days is not None and r.later]
_LASTING = [(c, r) for c, r in rules().triage.symptoms.items() if r.lasting_days is not None and r.lasting]


def _higher(a: str, b: str) -> str:
    return max(a, b, key=TRIAGE_LEVELS.index)


@pytest.mark.parametrize(("code", "rule"), _TIMED, ids=[c for c, _ in _TIMED])
def test_a_symptom_is_expected_up_to_its_expected_days_after_treatment(code: str, rule: Any) -> None:
    """clinic.yaml ``expected_days``: up to that day after treatment the symptom keeps its own
    level; a day later the ``later`` level applies."""
    assert _level(rule.expected_days, {"code": code}) == rule.level
    assert _level(rule.expected_days + 1, {"code": code}) == _higher(rule.level, rule.later)


@pytest.mark.parametrize(("code", "rule"), _LASTING, ids=[c for c, _ in _LASTING])
def test_a_symptom_escalates_once_it_has_lasted_longer_than_its_lasting_days(code: str, rule: Any) -> None:
    """clinic.yaml ``lasting_days``: a symptom that has lasted that many days keeps the level it
    has then; one that has lasted longer reaches the ``lasting`` level too."""
    since = rule.lasting_days + 1  # days since treatment, so that it can have lasted that long
    before = rule.level
    if rule.expected_days is not None and rule.later is not None and since > rule.expected_days:
        before = _higher(before, rule.later)
    assert _level(since, {"code": code, "days": rule.lasting_days}) == before
    assert _level(since, {"code": code, "days": rule.lasting_days + 0.5}) == _higher(before, rule.lasting)
