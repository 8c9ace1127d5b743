"""What clinicians know the treated face does, each a test on the model's own output
(issue 11, "What it must show"): brow and lid at rest as a balance of tone, toxin removing tone
only where it blocks, eyelid ptosis from placement, crow's feet that leave the glabella alone."""

from __future__ import annotations

import itertools

import pytest

import rhytid
from rhytid import Injection, Patient, Plan, ProductChoice
from rhytid.anatomy import reference_face

ONA = ProductChoice(name="onabotulinumtoxinA", vial_units=100, diluent_ml=2.5)
DAYS = (0, 14, 30, 90, 150)
FACE = reference_face("female")
BROW_PEAK_Y = FACE.landmarks["brow_peak_l"][1]
RIM_L = FACE.landmarks["orbital_rim_sup_l"]


def _plan(*injections: Injection, diluent_ml: float = 2.5, patient: Patient | None = None) -> Plan:
    product = ProductChoice(name="onabotulinumtoxinA", vial_units=100, diluent_ml=diluent_ml)
    data: dict[str, object] = {
        "product": product,
        "injection": list(injections),
        "simulation": {"days": DAYS},
    }
    if patient is not None:
        data["patient"] = patient
    return Plan.model_validate(data)


def _forehead_row(height_above_brow_mm: float, units: float = 6.0) -> Plan:
    y = BROW_PEAK_Y + height_above_brow_mm
    return _plan(*[Injection(x_mm=s * x, y_mm=y, units=units) for s in (-1, 1) for x in (12.0, 28.0, 44.0)])


def test_a_low_forehead_block_drops_the_brow_clearly_more_than_a_high_one() -> None:
    """The lower frontalis fibres lift the brow: a row 1 cm above the brow drops it clearly
    (at least 1.5x) more than the same dose 3 cm above, with a similar frontalis block."""
    low = rhytid.simulate(_forehead_row(10.0)).visit(30)
    high = rhytid.simulate(_forehead_row(30.0)).visit(30)
    for s in "lr":
        drop_low, drop_high = (
            -low.brow_height_change_mm[f"peak_{s}"],
            -high.brow_height_change_mm[f"peak_{s}"],
        )
        assert drop_low > 0.4
        assert drop_low >= 1.5 * drop_high
        assert low.muscle_block[f"frontalis_{s}"] == pytest.approx(
            high.muscle_block[f"frontalis_{s}"], abs=0.1
        )


def test_untreated_fibres_do_not_stand_in_for_blocked_ones() -> None:
    """No compensation gain: a full-height frontalis treatment drops the brow by about the
    frontalis tone's whole share (0.75-1.54 mm when compensatory tone stops, motion.md 4)."""
    rows = [
        Injection(x_mm=s * x, y_mm=BROW_PEAK_Y + h, units=4)
        for h in (12, 26, 40)
        for s in (-1, 1)
        for x in (10, 26, 42)
    ]
    v = rhytid.simulate(_plan(*rows)).visit(30)
    for s in "lr":
        assert v.muscle_block[f"frontalis_{s}"] > 0.6
        assert 0.5 <= -v.brow_height_change_mm[f"medial_{s}"] <= 1.54


def test_central_forehead_treatment_lifts_the_lateral_brow_relative_to_the_medial() -> None:
    central = [Injection(x_mm=x, y_mm=BROW_PEAK_Y + 25.0, units=4) for x in (-14.0, 0.0, 14.0)]
    v = rhytid.simulate(_plan(*central)).visit(30)
    for s in "lr":
        b = v.brow_height_change_mm
        assert b[f"lateral_{s}"] - b[f"medial_{s}"] > 0.2
        assert b[f"medial_{s}"] < -0.2


def test_a_lateral_brow_depressor_block_lifts_the_tail() -> None:
    """The superolateral orbicularis holds the tail down: blocking it lets the tail rise, more
    than the medial brow (which it does not hold)."""
    tail = [Injection(x_mm=s * 54.0, y_mm=2.0, units=4) for s in (-1, 1)]
    v = rhytid.simulate(_plan(*tail)).visit(14)
    for s in "lr":
        b = v.brow_height_change_mm
        assert b[f"lateral_{s}"] > 0.03
        assert b[f"lateral_{s}"] > b[f"medial_{s}"] + 0.03


def test_habitual_tone_is_a_patient_property() -> None:
    """A habitual brow lifter (high frontalis tone) loses more brow height to the same block."""
    plan_lo = _forehead_row(10.0)
    typical = rhytid.simulate(plan_lo).visit(30).brow_height_change_mm["peak_l"]
    lifter = rhytid.simulate(plan_lo, Patient(frontalis_tone=0.6)).visit(30).brow_height_change_mm["peak_l"]
    none = rhytid.simulate(plan_lo, Patient(frontalis_tone=0.0)).visit(30).brow_height_change_mm["peak_l"]
    assert lifter < 3 * typical < 0
    assert abs(none) < 0.25 * abs(typical)  # no tone, little to lose (spread to the depressors only)


def _levator(plan: Plan) -> tuple[float, str | None]:
    o = rhytid.simulate(plan)
    block = max(v.muscle_block["levator_palpebrae_l"] for v in o.timeline)
    levels = [r.level for r in o.risks if r.kind == "eyelid_ptosis" and r.side == "l"]
    return block, levels[0] if levels else None


_RANK = {None: 0, "low": 1, "moderate": 2, "high": 3}


def test_nearer_the_rim_raises_levator_block_and_ptosis_risk() -> None:
    """10 U on the mid-pupil line, from 2 cm above the rim down to it: the levator block rises at
    every step, the risk never falls and goes from none to at least moderate."""
    x, y_rim = RIM_L
    results = [_levator(_plan(Injection(x_mm=x, y_mm=y_rim + h, units=10))) for h in (20.0, 14.0, 8.0, 2.0)]
    blocks = [b for b, _ in results]
    ranks = [_RANK[lv] for _, lv in results]
    assert all(b1 > b0 for b0, b1 in itertools.pairwise(blocks))
    assert all(r1 >= r0 for r0, r1 in itertools.pairwise(ranks))
    assert ranks[0] == 0 and ranks[-1] >= _RANK["moderate"]


def test_more_dilute_raises_levator_block_and_ptosis_risk() -> None:
    """The same 10 U in more saline spreads farther: at points 6-12 mm above the rim the levator
    block rises with the volume, the risk never falls, and somewhere it rises."""
    x, y_rim = RIM_L
    rose = False
    for h in (6.0, 8.0, 10.0, 12.0):
        point = Injection(x_mm=x, y_mm=y_rim + h, units=10)
        results = [_levator(_plan(point, diluent_ml=d)) for d in (1.0, 2.5, 5.0, 10.0)]
        blocks = [b for b, _ in results]
        ranks = [_RANK[lv] for _, lv in results]
        assert all(b1 > b0 for b0, b1 in itertools.pairwise(blocks))
        assert all(r1 >= r0 for r0, r1 in itertools.pairwise(ranks))
        rose = rose or ranks[-1] > ranks[0]
    assert rose


@pytest.mark.parametrize("units", [2.0, 4.0, 10.0])
def test_a_point_below_the_rim_is_at_least_moderate_ptosis_risk(units: float) -> None:
    x, y_rim = RIM_L
    o = rhytid.simulate(_plan(Injection(x_mm=x, y_mm=y_rim - 1.7, units=units)))
    risk = next(r for r in o.risks if r.kind == "eyelid_ptosis" and r.side == "l")
    assert _RANK[risk.level] >= _RANK["moderate"]
    assert "below the orbital rim" in risk.detail


def test_a_lateral_canthal_plan_leaves_the_glabellar_grade_as_it_was() -> None:
    """Crow's feet are graded at maximal smile with the cheek's push (zygomaticus, untreated);
    their treatment eases them and leaves the glabella alone."""
    sites = [
        Injection(site=f"lateral_canthal_{k}_{s}", units=4)
        for k in ("upper", "middle", "lower")
        for s in "lr"
    ]
    o = rhytid.simulate(_plan(*sites))
    base = o.timeline[0].areas
    for v in o.timeline[1:]:
        assert v.areas["glabellar"].max_grade == base["glabellar"].max_grade
        assert v.areas["glabellar"].rest_grade == base["glabellar"].rest_grade
        assert v.areas["glabellar"].max_depth_um == pytest.approx(base["glabellar"].max_depth_um, rel=0.02)
    assert o.visit(30).areas["lateral_canthal_l"].max_depth_um < base["lateral_canthal_l"].max_depth_um


def test_the_cheek_keeps_part_of_the_smile_lines() -> None:
    """Toxin in the orbicularis relaxes only its own share of crow's feet: even a full block of it
    leaves the cheek's push (zygomaticus) and some depth at maximal smile."""
    sites = [
        Injection(site=f"lateral_canthal_{k}_{s}", units=4)
        for k in ("upper", "middle", "lower")
        for s in "lr"
    ]
    o = rhytid.simulate(_plan(*sites))
    v = o.visit(14)
    assert v.muscle_block.get("zygomaticus_major_l", 0.0) < 0.5 * v.muscle_block["orbicularis_oculi_l"]
    assert (
        v.areas["lateral_canthal_l"].max_depth_um
        > 0.2 * o.timeline[0].areas["lateral_canthal_l"].max_depth_um
    )
