"""Danger-zone geometry, the model's spread, and monotonicity toward danger."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhytid.anatomy import Face, reference_face
from rhytid.clinic import (
    PlannedInjection,
    PlanView,
    placement_findings,
    spread_findings,
    zone_risks,
)
from rhytid.clinic._placement import RISK_LEVELS, brow_height_mm
from rhytid.clinic._rules import rules


def plan_at(*points: tuple[float, float], site: str | None = None) -> PlanView:
    return PlanView(
        "onabotulinumtoxinA",
        40.0,
        tuple(PlannedInjection(x, y, units=4, volume_ml=0.1, site=site) for x, y in points),
    )


@pytest.mark.parametrize("sex", ["female", "male"])
def test_every_label_site_is_clear_of_danger(sex: str) -> None:
    face = reference_face(sex)  # type: ignore[arg-type]
    for name, site in face.sites.items():
        injection = PlannedInjection(*site.xy, units=4, volume_ml=0.1, site=name)
        plan = PlanView("onabotulinumtoxinA", 40.0, (injection,))
        assert placement_findings(plan, face) == [], name


# (point, area hint via site-free position, rule, expected severity)
DANGER = [
    ((28.0, 5.0), "supraorbital_too_close", "blocking"),
    ((-28.0, 5.0), "supraorbital_too_close", "blocking"),
    ((30.5, 12.5), "supraorbital_too_close", "warning"),
    ((30.5, 0.0), "supraorbital_too_close", "blocking"),
    ((30.0, 27.0), "forehead_too_close", "blocking"),
    ((20.0, 27.0), "forehead_too_close", "warning"),
    ((-40.0, 28.0), "forehead_too_close", "blocking"),
    ((49.0, -10.0), "lateral_canthal_too_close", "blocking"),
    ((-49.0, -12.0), "lateral_canthal_too_close", "blocking"),
    ((52.0, -12.0), "lateral_canthal_too_close", "warning"),
]


@pytest.mark.parametrize(
    ("point", "code", "severity"),
    DANGER,
    ids=[f"{c}-{p[0]:g},{p[1]:g}-{s}" for p, c, s in DANGER],
)
def test_danger_zone(face: Face, point: tuple[float, float], code: str, severity: str) -> None:
    findings = [f for f in placement_findings(plan_at((0, 7), point), face) if f.code == code]
    assert len(findings) == 1
    f = findings[0]
    assert (f.severity, f.injection) == (severity, 2)
    assert f.distance_mm is not None and f"{abs(f.distance_mm):.1f} mm" in f.reason
    assert ("below" in f.reason or "medial to" in f.reason) == (f.distance_mm < 0), f.reason
    assert f.source in {e.source for e in rules().placement.values()}


def test_distance_is_the_vertical_height_above_the_rim(face: Face) -> None:
    (risk,) = zone_risks(face, 30.5, 9.0, "glabellar")
    rim_y = face.landmarks["orbital_rim_sup_l"][1]
    assert risk.distance_mm == pytest.approx(9.0 - rim_y)


def test_forehead_distance_is_measured_from_the_brow(face: Face) -> None:
    x = face.landmarks["brow_peak_l"][0]
    assert brow_height_mm(face, x) == pytest.approx(face.landmarks["brow_peak_l"][1])
    risks = {r.rule: r for r in zone_risks(face, x, 40.0, "forehead")}
    assert risks["forehead"].distance_mm == pytest.approx(40.0 - brow_height_mm(face, x))


def test_named_site_finding_names_the_site(face: Face) -> None:
    plan = PlanView(
        "onabotulinumtoxinA",
        40.0,
        (PlannedInjection(28.0, 5.0, units=4, volume_ml=0.1, site="corrugator_lateral_l"),),
    )
    (finding,) = placement_findings(plan, face)
    assert finding.site == "corrugator_lateral_l" and "(corrugator_lateral_l)" in finding.reason


def test_off_face_point_blocks(face: Face) -> None:
    (finding,) = placement_findings(plan_at((200.0, 0.0)), face)
    assert (finding.code, finding.severity) == ("off_face", "blocking")


# --- monotonicity: moving toward the danger structure never lowers the risk -------------------

RANK = RISK_LEVELS.index


def _risk(face: Face, x: float, y: float, area: str, rule: str) -> int:
    return max((RANK(r.level) for r in zone_risks(face, x, y, area) if r.rule == rule), default=0)


@settings(max_examples=150, deadline=None)
@given(
    x=st.floats(16.0, 50.0),
    y=st.floats(-5.0, 60.0),
    step=st.floats(0.1, 30.0),
    side=st.sampled_from([1, -1]),
)
def test_moving_down_toward_the_orbit_never_lowers_risk(x: float, y: float, step: float, side: int) -> None:
    face = reference_face("female")
    for area in ("glabellar", "forehead"):
        for rule in ("supraorbital", "forehead"):
            assert _risk(face, side * x, y - step, area, rule) >= _risk(face, side * x, y, area, rule)


@settings(max_examples=150, deadline=None)
@given(x=st.floats(40.0, 72.0), y=st.floats(-28.0, 4.0), step=st.floats(0.1, 20.0))
def test_moving_medially_toward_the_rim_never_lowers_risk(x: float, y: float, step: float) -> None:
    face = reference_face("female")
    for side, area in ((1, "lateral_canthal_l"), (-1, "lateral_canthal_r")):
        inner = _risk(face, side * (x - step), y, area, "lateral_canthal")
        assert inner >= _risk(face, side * x, y, area, "lateral_canthal")


@settings(max_examples=100, deadline=None)
@given(
    x=st.floats(0.0, 50.0),
    y=st.floats(-5.0, 60.0),
    step=st.floats(0.1, 30.0),
    site=st.sampled_from(["corrugator_lateral_l", "forehead_lateral_l", "procerus"]),
)
def test_findings_never_soften_moving_down(x: float, y: float, step: float, site: str) -> None:
    """Within one treatment area (fixed by the injection's site), lower is never safer."""
    face = reference_face("female")
    order = {"note": 0, "warning": 1, "blocking": 2}

    def worst(yy: float) -> int:
        found = placement_findings(plan_at((x, yy), site=site), face)
        return max((order[f.severity] for f in found), default=-1)

    assert worst(y - step) >= worst(y)


# --- spread from the model -------------------------------------------------------------------


def _outcome(blocks: dict[str, float], risks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "timeline": [{"day": 14, "muscles": {k: {"block": v} for k, v in blocks.items()}}],
        "risks": risks or [],
    }


def test_spread_is_the_models_to_judge_not_recomputed(face: Face) -> None:
    """One owner per risk: a large predicted block with no model risk gives no clinic finding."""
    plan = plan_at((0, 7), (28.0, 5.0))
    outcome = _outcome({"corrugator_l": 0.9, "levator_palpebrae_l": 0.9, "frontalis_l": 0.9})
    assert spread_findings(plan, face, outcome) == []


def test_a_model_risk_names_the_injection_and_its_site(face: Face) -> None:
    plan = PlanView(
        "onabotulinumtoxinA",
        40.0,
        (
            PlannedInjection(0, 7, units=4, volume_ml=0.1, site="procerus"),
            PlannedInjection(28, 5, units=4, volume_ml=0.1, site="corrugator_lateral_l"),
        ),
    )
    risk = {"kind": "eyelid_ptosis", "side": "l", "level": "moderate", "detail": "d", "injection": 2}
    (f,) = spread_findings(plan, face, _outcome({}, [risk]))
    assert (f.injection, f.site, f.severity) == (2, "corrugator_lateral_l", "warning")
    assert "on the patient's left" in f.reason and "moderate" not in f.reason


def test_below_the_rim_is_said_as_below(face: Face) -> None:
    rim_y = face.landmarks["orbital_rim_sup_l"][1]
    x = face.landmarks["orbital_rim_sup_l"][0]
    (f,) = [f for f in placement_findings(plan_at((x, rim_y - 1.7)), face) if f.code.startswith("supra")]
    assert "1.7 mm below the orbital rim" in f.reason and "-1.7" not in f.reason
    assert f.distance_mm == pytest.approx(-1.7)


@pytest.mark.parametrize(
    ("level", "severity"), [("high", "blocking"), ("moderate", "warning"), ("low", "note")]
)
def test_model_risks_become_findings(face: Face, level: str, severity: str) -> None:
    risk = {"kind": "brow_ptosis", "side": "l", "level": level, "detail": "x", "injection": 1}
    (f,) = spread_findings(plan_at((0, 40)), face, _outcome({}, [risk]))
    assert (f.code, f.severity, f.injection) == ("model_brow_ptosis", severity, 1)
