"""Screening rules, decisions, acknowledgement, and the properties of issue 4."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhytid.clinic import acknowledge, clear, parse_history, screen
from rhytid.clinic._history import ANSWERED_FIELDS
from rhytid.clinic._rules import rules
from rhytid.errors import ScreeningError

from .conftest import TODAY, complete_history

RECENT = (TODAY - dt.timedelta(days=30)).isoformat()
LONG_AGO = (TODAY - dt.timedelta(days=400)).isoformat()

# (change to a complete history, product, expected finding code, rule name, severity)
RULES = [
    ({"allergies": [{"substance": "botulinum_toxin"}]}, None, "toxin_allergy", "toxin_allergy"),
    (
        {"allergies": [{"substance": "onabotulinumtoxinA"}]},
        "incobotulinumtoxinA",
        "toxin_allergy",
        "toxin_allergy",
    ),
    (
        {"allergies": [{"substance": "cow_milk_protein"}]},
        "abobotulinumtoxinA",
        "formulation_allergy_cow_milk_protein",
        "formulation_allergy",
    ),
    (
        {"allergies": [{"substance": "cow_milk_protein"}]},
        None,
        "formulation_allergy_cow_milk_protein",
        "formulation_allergy_product_unknown",
    ),
    (
        {"allergies": [{"substance": "human_albumin"}]},
        "onabotulinumtoxinA",
        "formulation_allergy_human_albumin",
        "formulation_allergy_product_unknown",
    ),
    ({"infection_at_injection_site": True}, None, "infection_at_site", "infection_at_site"),
    ({"inflammation_at_injection_site": True}, None, "inflammation_at_site", "inflammation_at_site"),
    ({"conditions": ["myasthenia_gravis"]}, None, "neuromuscular_disease", "neuromuscular_disease"),
    ({"conditions": ["lambert_eaton"]}, None, "neuromuscular_disease", "neuromuscular_disease"),
    ({"conditions": ["als"]}, None, "neuromuscular_disease", "neuromuscular_disease"),
    (
        {"conditions": ["other_neuromuscular"]},
        None,
        "other_neuromuscular_disease",
        "other_neuromuscular_disease",
    ),
    ({"pregnant": True}, None, "pregnant", "pregnant"),
    ({"breastfeeding": True}, None, "breastfeeding", "breastfeeding"),
    ({"medications": ["gentamicin"]}, None, "medication_aminoglycoside", "medication"),
    ({"medications": ["tobramycin"]}, None, "medication_aminoglycoside", "medication"),
    ({"medications": ["amikacin"]}, None, "medication_aminoglycoside", "medication"),
    ({"medications": ["neomycin"]}, None, "medication_aminoglycoside", "medication"),
    ({"medications": ["streptomycin"]}, None, "medication_aminoglycoside", "medication"),
    (
        {"medications": ["curare_like_agent"]},
        None,
        "medication_neuromuscular_blocker",
        "medication",
    ),
    ({"medications": ["oxybutynin"]}, None, "medication_anticholinergic", "medication"),
    ({"medications": ["baclofen"]}, None, "medication_muscle_relaxant", "medication"),
    ({"medications": ["magnesium"]}, None, "medication_magnesium", "medication"),
    ({"medications": ["warfarin"]}, None, "antithrombotic", "antithrombotic"),
    ({"medications": ["apixaban"]}, None, "antithrombotic", "antithrombotic"),
    ({"medications": ["rivaroxaban"]}, None, "antithrombotic", "antithrombotic"),
    ({"medications": ["dabigatran"]}, None, "antithrombotic", "antithrombotic"),
    ({"medications": ["clopidogrel"]}, None, "antithrombotic", "antithrombotic"),
    ({"medications": ["aspirin"]}, None, "antithrombotic", "antithrombotic"),
    ({"bleeding_disorder": True}, None, "bleeding_disorder", "bleeding_disorder"),
    ({"conditions": ["bleeding_disorder"]}, None, "bleeding_disorder", "bleeding_disorder"),
    ({"dry_eye": True}, None, "dry_eye", "dry_eye"),
    ({"conditions": ["corneal_disorder"]}, None, "dry_eye", "dry_eye"),
    (
        {"conditions": ["cardiovascular_disease"]},
        None,
        "cardiovascular_disease",
        "cardiovascular_disease",
    ),
    ({"previous_toxin": [{"date": RECENT}]}, None, "recent_toxin", "recent_toxin"),
    (
        {"previous_toxin": [{"date": LONG_AGO, "side_effects": ["eyelid_ptosis"]}]},
        None,
        "previous_side_effect",
        "previous_side_effect",
    ),
    (
        {"previous_toxin": [{"date": LONG_AGO, "response": "none"}]},
        None,
        "no_previous_response",
        "no_previous_response",
    ),
    ({"previous_eyelid_droop": True}, None, "previous_droop", "previous_droop"),
    ({"previous_brow_droop": True}, None, "previous_droop", "previous_droop"),
    ({"facial_surgery": True}, None, "facial_surgery", "facial_surgery"),
]


def _id(case: tuple[Any, ...]) -> str:
    change, product, code, _ = case
    value = next(iter(change.values()))
    return f"{code}-{product or 'any'}-{str(value)[:30]}"


@pytest.mark.parametrize(("change", "product", "code", "rule"), RULES, ids=map(_id, RULES))
def test_rule(change: dict[str, Any], product: str | None, code: str, rule: str) -> None:
    result = screen(parse_history(complete_history(**change)), product=product, today=TODAY)
    found = {f.code: f for f in result.findings}
    assert code in found
    spec = rules().screening[rule]
    assert found[code].severity == spec.severity
    assert found[code].source == spec.source and spec.source.strip()
    expected = {
        "contraindication": "do_not_treat",
        "precaution": "treat_with_precautions",
        "note": "ok",
    }[spec.severity]
    assert result.decision == expected


def test_nothing_to_report_is_ok() -> None:
    result = screen(parse_history(complete_history()), today=TODAY)
    assert (result.decision, result.findings, result.missing) == ("ok", (), ())


def test_cow_milk_allergy_does_not_block_another_product_silently() -> None:
    history = parse_history(complete_history(allergies=[{"substance": "cow_milk_protein"}]))
    result = screen(history, product="onabotulinumtoxinA", today=TODAY)
    assert result.decision == "treat_with_precautions"


def test_treatment_exactly_at_the_interval_is_not_recent() -> None:
    date = (TODAY - dt.timedelta(days=90)).isoformat()
    history = parse_history(complete_history(previous_toxin=[{"date": date}]))
    assert screen(history, today=TODAY).decision == "ok"


def test_missing_answers_are_listed_and_make_it_incomplete() -> None:
    history = parse_history(complete_history(breastfeeding=None, medications=None))
    result = screen(history, today=TODAY)
    assert result.decision == "incomplete"
    assert result.missing == ("medications", "breastfeeding")


def test_future_treatment_date_is_an_error() -> None:
    future = (TODAY + dt.timedelta(days=1)).isoformat()
    history = parse_history(complete_history(previous_toxin=[{"date": future}]))
    with pytest.raises(ScreeningError, match=r"previous_toxin\[0\]\.date: .* in the future"):
        screen(history, today=TODAY)


def test_treatment_after_the_planned_date_is_an_error() -> None:
    history = parse_history(complete_history(previous_toxin=[{"date": RECENT}]))
    with pytest.raises(ScreeningError, match="after the planned treatment date"):
        screen(history, planned_date=TODAY - dt.timedelta(days=60), today=TODAY)


def test_unknown_product_is_an_error() -> None:
    with pytest.raises(ScreeningError, match="allowed: onabotulinumtoxinA"):
        screen(parse_history(complete_history()), product="botox", today=TODAY)


def test_json_keys_follow_the_contract() -> None:
    data = screen(parse_history(complete_history(dry_eye=True)), today=TODAY).to_dict()
    assert {"decision", "findings", "missing"} <= set(data)
    assert set(data["findings"][0]) == {"code", "severity", "reason", "source"}


# --- acknowledgement -------------------------------------------------------------------------

AT = dt.datetime(2025, 6, 1, 9, 30)


def test_precautions_must_all_be_acknowledged_before_clearing() -> None:
    history = parse_history(complete_history(medications=["warfarin"], dry_eye=True))
    result = screen(history, today=TODAY)
    assert set(result.precautions) == {"antithrombotic", "dry_eye"}
    with pytest.raises(ScreeningError, match="not acknowledged: dry_eye, antithrombotic"):
        clear(result)
    partly = acknowledge(result, clinician="Dr A", at=AT, codes=["dry_eye"])
    with pytest.raises(ScreeningError, match="not acknowledged: antithrombotic"):
        clear(partly)
    done = acknowledge(partly, clinician="Dr B", at=AT, codes=["antithrombotic"])
    assert clear(done) is done
    recorded = done.to_dict()["acknowledgements"]
    assert [(a["clinician"], a["codes"]) for a in recorded] == [
        ("Dr A", ["dry_eye"]),
        ("Dr B", ["antithrombotic"]),
    ]
    assert recorded[0]["at"] == "2025-06-01T09:30:00"


def test_acknowledging_something_else_is_refused() -> None:
    result = screen(parse_history(complete_history(dry_eye=True)), today=TODAY)
    with pytest.raises(ScreeningError, match="allowed: dry_eye"):
        acknowledge(result, clinician="Dr A", at=AT, codes=["pregnant"])
    with pytest.raises(ScreeningError, match="clinician"):
        acknowledge(result, clinician=" ", at=AT, codes=["dry_eye"])


@pytest.mark.parametrize(
    ("change", "message"),
    [({"pregnant": True}, "do_not_treat"), ({"pregnant": None}, "missing answers")],
    ids=["contraindicated", "incomplete"],
)
def test_cannot_clear(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ScreeningError, match=message):
        clear(screen(parse_history(complete_history(**change)), today=TODAY))


# --- properties ------------------------------------------------------------------------------

CONTRAINDICATIONS: list[dict[str, Any]] = [
    {"allergies": [{"substance": "botulinum_toxin"}]},
    {"infection_at_injection_site": True},
    {"inflammation_at_injection_site": True},
    {"conditions": ["myasthenia_gravis"]},
    {"conditions": ["lambert_eaton"]},
    {"conditions": ["als"]},
    {"pregnant": True},
    {"breastfeeding": True},
]
TRISTATE = st.sampled_from([True, False, None])
PRECAUTIONS: dict[str, Any] = {
    "medications": st.none() | st.lists(st.sampled_from(["warfarin", "gentamicin", "aspirin"])),
    "dry_eye": TRISTATE,
    "bleeding_disorder": TRISTATE,
    "facial_surgery": TRISTATE,
    "previous_eyelid_droop": TRISTATE,
    "previous_brow_droop": TRISTATE,
}


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    """Complete-or-partial histories without contraindications."""
    history = complete_history(**{k: draw(v) for k, v in PRECAUTIONS.items()})
    for name in draw(st.lists(st.sampled_from(ANSWERED_FIELDS), max_size=4)):
        history[name] = None
    return history


@settings(max_examples=60, deadline=None)
@given(base=histories(), contraindication=st.sampled_from(CONTRAINDICATIONS))
def test_any_contraindication_means_do_not_treat(
    base: dict[str, Any], contraindication: dict[str, Any]
) -> None:
    history = parse_history({**base, **contraindication})
    for product in (None, "abobotulinumtoxinA"):
        assert screen(history, product=product, today=TODAY).decision == "do_not_treat"


@settings(max_examples=60, deadline=None)
@given(base=histories())
def test_missing_answers_are_reported_never_assumed_no(base: dict[str, Any]) -> None:
    result = screen(parse_history(base), today=TODAY)
    unanswered = {k for k in ANSWERED_FIELDS if base.get(k) is None}
    assert set(result.missing) == unanswered
    if unanswered:
        assert result.decision in ("incomplete", "do_not_treat")
    else:
        assert result.decision in ("ok", "treat_with_precautions")


@pytest.mark.parametrize("product", sorted(rules().products))
def test_a_treatment_one_day_inside_the_interval_is_recent(product: str) -> None:
    """The product's re-treatment interval is the boundary: one day short of it is too soon."""
    interval = rules().products[product].retreatment_interval_days.value
    date = (TODAY - dt.timedelta(days=interval - 1)).isoformat()
    history = parse_history(complete_history(previous_toxin=[{"date": date}]))
    result = screen(history, product=product, today=TODAY)
    assert [f.code for f in result.findings] == ["recent_toxin"]
    assert f"{interval - 1} days before" in result.findings[0].reason


def test_side_effects_of_every_previous_treatment_are_reported() -> None:
    history = parse_history(
        complete_history(
            previous_toxin=[
                {"date": LONG_AGO, "side_effects": ["none"]},
                {"date": (TODAY - dt.timedelta(days=200)).isoformat(), "side_effects": ["eyelid_ptosis"]},
            ]
        )
    )
    finding = {f.code: f for f in screen(history, today=TODAY).findings}["previous_side_effect"]
    assert "eyelid_ptosis" in finding.reason
