"""One message per injection: the rules and the model's risks reconciled (worst level wins)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import rhytid
from rhytid.anatomy import Face
from rhytid.clinic import (
    PlanFinding,
    injection_messages,
    parse_history,
    plan_findings,
    plan_view,
    review_plan,
)

from .conftest import complete_history

AT = dt.datetime(2025, 6, 1, 10, 0)


def _finding(code: str, severity: str, n: int | None, reason: str, site: str | None = None) -> PlanFinding:
    return PlanFinding(code, severity, reason, "s", injection=n, site=site)  # type: ignore[arg-type]


def test_worst_level_wins_and_each_point_gets_one_message() -> None:
    findings = [
        _finding("model_eyelid_ptosis", "note", 2, "eyelid droop: injection 2 lies near"),
        _finding(
            "supraorbital_too_close", "blocking", 2, "injection 2 (x) lies 1.7 mm below the orbital rim", "x"
        ),
        _finding("site_units_above_label", "warning", 1, "10 U at one point"),
        _finding("no_history", "blocking", None, "no medical history on file"),
    ]
    one, two = injection_messages(findings)
    assert (one.injection, one.severity) == (1, "warning")
    assert (two.injection, two.severity, two.site) == (2, "blocking", "x")
    assert two.text.startswith("Point 2 (x) — blocking")
    assert "lies 1.7 mm below the orbital rim" in two.text and "eyelid droop" in two.text
    assert two.text.count("Point 2") == 1 and not re.search(r"\b(note|low|moderate)\b", two.text)
    assert two.codes == ("supraorbital_too_close", "model_eyelid_ptosis")
    assert [f.code for f in plan_findings(findings)] == ["no_history"]


@pytest.mark.parametrize("severities", [("note", "warning"), ("warning", "blocking"), ("note", "blocking")])
def test_the_message_level_is_the_maximum(severities: tuple[str, str]) -> None:
    findings = [_finding(f"c{i}", s, 1, f"r{i}") for i, s in enumerate(severities)]
    (m,) = injection_messages(findings)
    assert m.severity == severities[1]
    assert injection_messages(findings[::-1])[0].severity == severities[1]


def test_a_point_below_the_rim_gives_one_blocking_message_with_the_models_risk(face: Face) -> None:
    """The real model and rules: 10 U 1.7 mm below the superior orbital rim (issue 11)."""
    x, rim_y = face.landmarks["orbital_rim_sup_l"]
    plan = rhytid.Plan.from_dict(
        {
            "product": {"name": "onabotulinumtoxinA", "vial_units": 100, "diluent_ml": 2.5},
            "injection": [{"site": "procerus", "units": 4}, {"x_mm": x, "y_mm": rim_y - 1.7, "units": 10}],
            "simulation": {"days": [0, 14, 30]},
        }
    )
    outcome = rhytid.simulate(plan).to_dict()
    review = review_plan(
        plan_view(plan), face, history=parse_history(complete_history()), at=AT, outcome=outcome
    )
    messages = {m.injection: m for m in injection_messages(review.findings)}
    below = messages[2]
    assert below.severity == "blocking"
    assert "1.7 mm below the orbital rim" in below.text and "-1.7" not in below.text
    assert "model_eyelid_ptosis" in below.codes  # the model's own risk, in the same message
    assert not re.search(r"\blow\b", below.text)
    assert 1 not in messages or messages[1].severity != "blocking"
