"""Risks come from the mechanics (issue 11): each kind is raised by the plan that causes it, with
its level from the predicted droop, drop, difference or block, and not raised without a cause."""

from __future__ import annotations

import pytest

import rhytid
from rhytid import Injection, Patient, Plan, ProductChoice
from rhytid.anatomy import reference_face

ONA = ProductChoice(name="onabotulinumtoxinA", vial_units=100, diluent_ml=2.5)
FACE = reference_face("female")
RIM_X, RIM_Y = FACE.landmarks["orbital_rim_sup_l"]
BROW_Y = FACE.landmarks["brow_peak_l"][1]


def _risks(*injections: Injection, patient: Patient | None = None) -> list[rhytid.Risk]:
    plan = Plan.model_validate(
        {"product": ONA, "injection": list(injections), "simulation": {"days": (0, 14, 30, 90)}}
    )
    return rhytid.simulate(plan, patient).risks


def _kinds(risks: list[rhytid.Risk]) -> set[str]:
    return {r.kind for r in risks}


def test_the_label_glabellar_plan_has_no_risk() -> None:
    plan = rhytid.load_plan("examples/glabellar-20U.toml")
    assert not rhytid.simulate(plan).risks


def test_eyelid_ptosis_from_lid_droop_on_the_treated_side() -> None:
    risks = _risks(Injection(x_mm=RIM_X, y_mm=RIM_Y + 2.0, units=10))
    ptosis = [r for r in risks if r.kind == "eyelid_ptosis"]
    assert [r.side for r in ptosis] == ["l"]
    assert "above the orbital rim" in ptosis[0].detail and "droop" in ptosis[0].detail


def test_brow_ptosis_from_brow_drop() -> None:
    """A habitual brow lifter treated low on the forehead loses the tone that held the brow up."""
    row = [Injection(x_mm=s * x, y_mm=BROW_Y + 10.0, units=6) for s in (-1, 1) for x in (12.0, 28.0, 44.0)]
    risks = _risks(*row, patient=Patient(frontalis_tone=0.6))
    brow = [r for r in risks if r.kind == "brow_ptosis"]
    assert {r.side for r in brow} == {"l", "r"}
    assert all("brow drops" in r.detail for r in brow)
    assert "brow_ptosis" not in _kinds(_risks(*row, patient=Patient(frontalis_tone=0.0)))


def test_asymmetry_from_a_one_sided_droop() -> None:
    risks = _risks(Injection(x_mm=RIM_X, y_mm=RIM_Y + 2.0, units=10))
    asym = [r for r in risks if r.kind == "asymmetry"]
    assert asym and asym[0].side is None and "upper eyelid" in asym[0].detail
    both = _risks(*[Injection(x_mm=s * RIM_X, y_mm=RIM_Y + 2.0, units=10) for s in (-1, 1)])
    assert "asymmetry" not in _kinds(both)


def test_unintended_muscle_from_spread_to_an_untargeted_muscle() -> None:
    """Crow's-feet points set low and heavy reach the zygomaticus, which no treated area targets."""
    sites = [
        Injection(site=f"lateral_canthal_{k}_{s}", units=12)
        for k in ("upper", "middle", "lower")
        for s in "lr"
    ]
    risks = [r for r in _risks(*sites) if r.kind == "unintended_muscle"]
    assert {r.side for r in risks if "zygomaticus_major" in r.detail} == {"l", "r"}
    label = [
        Injection(site=f"lateral_canthal_{k}_{s}", units=4)
        for k in ("upper", "middle", "lower")
        for s in "lr"
    ]
    assert "unintended_muscle" not in _kinds(_risks(*label))


def _level(value: float, thresholds: tuple[float, float, float]) -> str | None:
    """The documented rule, written out here: the highest level whose threshold is reached."""
    hit = [name for name, t in zip(("low", "moderate", "high"), thresholds, strict=True) if value >= t]
    return hit[-1] if hit else None


_ONE_SIDED = [
    # (points, patient tone): one-sided low forehead rows and lid-side points, doses swept so that
    # the drops, droops and left-right differences cross the levels' thresholds
    ([Injection(x_mm=x, y_mm=BROW_Y + 10.0, units=u) for x in (12.0, 28.0, 44.0)], tone)
    for u in (1.0, 2.0, 4.0)
    for tone in (0.13, 0.3, 0.6)
] + [([Injection(x_mm=RIM_X, y_mm=RIM_Y + h, units=u)], None) for h in (2.0, 5.0) for u in (3.0, 6.0, 12.0)]
_ONE_SIDED += [  # medial points low on the forehead: the medial brow drops most
    ([Injection(x_mm=x, y_mm=BROW_Y + 4.0, units=u) for x in (4.0, 14.0)], 0.6) for u in (1.0, 3.0)
]


@pytest.mark.parametrize(("points", "tone"), _ONE_SIDED)
def test_risk_levels_follow_the_outcome_s_own_drop_droop_and_difference(
    points: list[Injection], tone: float | None
) -> None:
    """Each brow-ptosis, eyelid-ptosis and asymmetry level is the highest of `tissue.yaml risk`
    whose threshold the Outcome's own timeline reaches (every injection above the rim: no floor)."""
    p = rhytid.default_parameters().tissue
    plan = Plan.model_validate(
        {"product": ONA, "injection": points, "simulation": {"days": (0, 7, 14, 30, 60, 90)}}
    )
    out = rhytid.simulate(plan, Patient(frontalis_tone=tone))
    got = {(r.kind, r.side): r.level for r in out.risks if r.kind != "unintended_muscle"}
    want: dict[tuple[str, str | None], str | None] = {}
    brow = [v.brow_height_change_mm for v in out.timeline]
    droop = [v.eyelid_droop_mm for v in out.timeline]
    for s in "lr":
        want["brow_ptosis", s] = _level(
            max(-b[k] for b in brow for k in b if k.endswith(s)), p.risk_brow_drop_mm
        )
        want["eyelid_ptosis", s] = _level(max(d[s] for d in droop), p.risk_eyelid_droop_mm)
    points_ = {k[:-2] for k in brow[0]}
    diff = max(
        [abs(b[f"{k}_l"] - b[f"{k}_r"]) for b in brow for k in points_]
        + [abs(d["l"] - d["r"]) for d in droop]
    )
    a = p.risk_asymmetry_mm
    want["asymmetry", None] = _level(diff, (a, 2 * a, 3 * a))
    assert got == {k: v for k, v in want.items() if v is not None}
