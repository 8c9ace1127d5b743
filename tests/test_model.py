"""simulate(): the behaviour and physics of the whole chain on the reference face."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rhytid
from rhytid import Injection, Patient, Plan, ProductChoice
from rhytid.anatomy import Face
from rhytid.anatomy._geometry import point_in_polygon
from rhytid.model import field_maps
from rhytid.tissue import Basis, activation_matrix, buckling, compression, dynamic_depth_um, tissue_parameters

ONA = ProductChoice(name="onabotulinumtoxinA", vial_units=100, diluent_ml=2.5)
CONTRACT_MUSCLES = {
    "frontalis_l",
    "frontalis_r",
    "corrugator_l",
    "corrugator_r",
    "procerus",
    "depressor_supercilii_l",
    "depressor_supercilii_r",
    "orbicularis_oculi_l",
    "orbicularis_oculi_r",
    "levator_palpebrae_l",
    "levator_palpebrae_r",
}


def _plan(*injections: Injection, days: tuple[float, ...] = (0, 14, 30, 90, 150)) -> Plan:
    return Plan.model_validate({"product": ONA, "injection": list(injections), "simulation": {"days": days}})


def _grades(outcome: rhytid.Outcome, area: str) -> dict[float, int]:
    return {v.day: v.areas[area].max_grade for v in outcome.timeline}


# --- the label example ------------------------------------------------------------------------


def test_glabellar_20U_course(glabellar_outcome: rhytid.Outcome) -> None:
    g = _grades(glabellar_outcome, "glabellar")
    assert g[0] >= 2  # moderate/severe at maximum frown before treatment
    assert g[14] <= 1 and g[30] <= 1  # none/mild at the peak
    depth = {v.day: v.areas["glabellar"].max_depth_um for v in glabellar_outcome.timeline}
    assert g[180] == g[0]  # back to baseline
    assert depth[150] > 0.6 * depth[0] and depth[180] > 0.85 * depth[0]
    assert all(depth[a] <= depth[b] for a, b in [(30, 60), (60, 90), (90, 120), (120, 150), (150, 180)])


def test_glabellar_20U_hardly_touches_the_forehead_or_the_eyelid(
    glabellar_outcome: rhytid.Outcome,
) -> None:
    base = glabellar_outcome.timeline[0].areas["forehead"]
    for v in glabellar_outcome.timeline:
        # only the lowest frontalis, next to the corrugator points, is reached (~10 % block)
        assert v.areas["forehead"].max_depth_um == pytest.approx(base.max_depth_um, rel=0.25)
        assert v.areas["forehead"].max_grade == base.max_grade
    for v in glabellar_outcome.timeline:
        assert max(v.eyelid_droop_mm.values()) < 0.3
        assert v.muscle_block["frontalis_l"] < 0.2
    assert not [r for r in glabellar_outcome.risks if r.kind == "eyelid_ptosis"]


def test_risky_lateral_corrugator_raises_eyelid_ptosis() -> None:
    outcome = rhytid.simulate(rhytid.load_plan("examples/risky-lateral-corrugator.toml"))
    risks = [r for r in outcome.risks if r.kind == "eyelid_ptosis"]
    assert risks and risks[0].side == "l" and risks[0].injection == 4
    assert "orbital rim" in risks[0].detail
    droop = max(v.eyelid_droop_mm["l"] for v in outcome.timeline)
    label_side = max(v.eyelid_droop_mm["r"] for v in outcome.timeline)
    low = tissue_parameters().risk_eyelid_droop_mm[0]
    assert droop >= low > label_side  # a risk on the misplaced side only
    assert droop > 3 * label_side


def test_outcome_has_the_contract_shape(glabellar_outcome: rhytid.Outcome) -> None:
    d = glabellar_outcome.to_dict()
    assert d["model_version"] == rhytid.__version__
    assert d["parameters_hash"].startswith("sha256:")
    assert d["plan"]["units_per_ml"] == 40.0 and d["plan"]["total_units"] == 20
    assert d["plan"]["injections"][0]["volume_ml"] == pytest.approx(0.1)
    visit = d["timeline"][0]
    assert set(visit["muscles"]) >= CONTRACT_MUSCLES
    assert set(visit["areas"]) == {"glabellar", "forehead", "lateral_canthal_l", "lateral_canthal_r"}
    assert set(visit["areas"]["glabellar"]["max"]) == {"grade", "depth_um"}
    assert set(visit["brow_height_change_mm"]) == {
        f"{k}_{s}" for k in ("medial", "peak", "lateral") for s in "lr"
    }
    assert set(visit["eyelid_droop_mm"]) == {"l", "r"}


def test_same_plan_gives_identical_output(glabellar_plan: Plan) -> None:
    assert rhytid.simulate(glabellar_plan).to_dict() == rhytid.simulate(glabellar_plan).to_dict()


# --- physics ----------------------------------------------------------------------------------


def test_no_activity_no_dynamic_wrinkles(basis: Basis) -> None:
    strain = np.tensordot(np.zeros(len(basis.skin_rows), dtype=np.float32), basis.fields, axes=1)
    c = compression(strain[2], strain[3], strain[4])
    b = buckling(1.0, 0.13, 0.0025, 0.5)
    assert np.all(dynamic_depth_um(c, b) == 0)


def test_young_relaxed_face_has_no_lines() -> None:
    plan = _plan(Injection(site="procerus", units=4))
    outcome = rhytid.simulate(plan, Patient(age=25, muscle_strength=1e-6))
    for v in outcome.timeline:
        for area in v.areas.values():
            assert area.max_depth_um == pytest.approx(0.0, abs=1e-6)
            assert area.max_grade == 0 and area.rest_grade == 0


def _mean_line_angle(face: Face, area: str, expression: str, weight_floor: float = 0.5) -> np.ndarray:
    maps = field_maps(_plan(Injection(site="procerus", units=0.5)), 0, expression)
    x, y = maps.raster.grid()
    inside = point_in_polygon(x, y, face.areas[area].polygon)
    deep = maps.depth_um > weight_floor * maps.depth_um[inside].max()
    sel = inside & deep
    line = maps.compression_angle[sel] + np.pi / 2  # lines run across the compression
    return np.column_stack([np.cos(line), np.sin(line)]), x[sel], y[sel]


def test_glabellar_lines_run_vertically(female: Face) -> None:
    d, _, _ = _mean_line_angle(female, "glabellar", "frown")
    assert np.mean(np.abs(d[:, 1])) > 0.7  # mostly vertical


def test_forehead_lines_run_horizontally(female: Face) -> None:
    d, _, _ = _mean_line_angle(female, "forehead", "raise_brows")
    assert np.mean(np.abs(d[:, 0])) > 0.85


def test_crows_feet_radiate_from_the_lateral_canthus(female: Face) -> None:
    d, x, y = _mean_line_angle(female, "lateral_canthal_l", "squint")
    cx, cy = female.landmarks["lateral_canthus_l"]
    radial = np.column_stack([x - cx, y - cy])
    radial /= np.linalg.norm(radial, axis=1, keepdims=True)
    assert np.mean(np.abs(np.sum(d * radial, axis=1))) > 0.8


def _mirror(inj: Injection) -> Injection:
    return inj.model_copy(update={"x_mm": -inj.x_mm}) if inj.x_mm is not None else inj


@given(
    points=st.lists(
        st.tuples(st.floats(-50, 50), st.floats(-20, 55), st.floats(0.5, 10)), min_size=1, max_size=4
    )
)
@settings(max_examples=8, deadline=None)
def test_mirrored_plan_gives_mirrored_outcome(points: list[tuple[float, float, float]]) -> None:
    injections = [Injection(x_mm=x, y_mm=y, units=u) for x, y, u in points]
    a = rhytid.simulate(_plan(*injections))
    b = rhytid.simulate(_plan(*[_mirror(i) for i in injections]))
    swap = {"l": "r", "r": "l"}
    for va, vb in zip(a.timeline, b.timeline, strict=True):
        for name, block in va.muscle_block.items():
            other = name[:-1] + swap[name[-1]] if name[-2:] in ("_l", "_r") else name
            assert vb.muscle_block[other] == pytest.approx(block, abs=1e-9)
        for key, change in va.brow_height_change_mm.items():
            assert vb.brow_height_change_mm[key[:-1] + swap[key[-1]]] == pytest.approx(change, abs=1e-4)
        assert vb.eyelid_droop_mm["l"] == pytest.approx(va.eyelid_droop_mm["r"], abs=1e-9)
        assert vb.areas["lateral_canthal_l"].max_depth_um == pytest.approx(
            va.areas["lateral_canthal_r"].max_depth_um, rel=1e-3, abs=1e-3
        )
        assert vb.areas["glabellar"].max_depth_um == pytest.approx(
            va.areas["glabellar"].max_depth_um, rel=1e-3, abs=1e-3
        )


@given(units=st.floats(0.5, 30), extra=st.floats(0.5, 30), volume=st.floats(0.02, 0.3))
@settings(max_examples=10, deadline=None)
def test_more_units_same_volume_never_less_block(units: float, extra: float, volume: float) -> None:
    def blocks(u: float) -> np.ndarray:
        plan = _plan(Injection(site="corrugator_lateral_l", units=u, volume_ml=volume))
        return np.array([list(v.muscle_block.values()) for v in rhytid.simulate(plan).timeline])

    assert np.all(blocks(units + extra) >= blocks(units) - 1e-12)


def test_repeated_treatments_add_up() -> None:
    first = Injection(site="corrugator_lateral_l", units=4)
    again = Injection(site="corrugator_lateral_l", units=4, day=100)
    days = (100.0, 110.0, 130.0, 200.0)
    once = rhytid.simulate(_plan(first, days=days))
    twice = rhytid.simulate(_plan(first, again, days=days))
    only_second = rhytid.simulate(_plan(again, days=days))
    for v1, v2, v3 in zip(once.timeline, twice.timeline, only_second.timeline, strict=True):
        b1, b2, b3 = (v.muscle_block["corrugator_l"] for v in (v1, v2, v3))
        assert b2 >= max(b1, b3) - 1e-12  # residual toxin of the first adds to the second


def test_toxin_superposes_before_the_block() -> None:
    """Two identical injections (same place, volume, day) act exactly as one with their units
    summed: the active toxin adds, and the saturating block is taken of the sum."""
    half = Injection(site="procerus", units=2, volume_ml=0.05)
    whole = Injection(site="procerus", units=4, volume_ml=0.05)
    two = rhytid.simulate(_plan(half, half))
    one = rhytid.simulate(_plan(whole))
    for va, vb in zip(two.timeline, one.timeline, strict=True):
        for name, block in va.muscle_block.items():
            assert vb.muscle_block[name] == pytest.approx(block, rel=1e-9, abs=1e-12)


def test_injections_of_one_day_share_the_binding_capacity_other_days_do_not(female: Face) -> None:
    """Two injections on one day bind what their summed uptake binds, each its share; an
    injection on another day binds as if alone."""
    from rhytid.model import uptake_at_points
    from rhytid.toxin import bound_uptake, dose_response, get_product

    product = get_product("onabotulinumtoxinA")
    plan = _plan(
        Injection(site="procerus", units=4),
        Injection(site="corrugator_medial_l", units=4),
        Injection(site="corrugator_medial_r", units=4, day=50),
    )
    resolved = plan.resolve(female)
    xy = np.array([[0.0, 15.0], [8.0, 20.0], [-8.0, 20.0], [30.0, 60.0]])
    depth = np.full(len(xy), 3.0)
    septum = np.zeros(len(xy), dtype=bool)
    q = uptake_at_points(female, resolved, product, xy, depth, septum)
    alone = [uptake_at_points(female, [r], product, xy, depth, septum)[0] for r in resolved]
    cap = dose_response().binding_capacity_u_per_mm3
    assert q[2] == pytest.approx(alone[2], rel=1e-12)  # day 50: on its own
    free = np.array([a / (1.0 - a / cap) for a in alone[:2]])  # the unbound uptake of each
    assert q[0] + q[1] == pytest.approx(bound_uptake(free.sum(axis=0), cap), rel=1e-9)
    assert np.all(q[0] + q[1] < alone[0] + alone[1])  # sharing binds less than alone


def test_a_later_treatment_is_the_same_course_shifted_in_time() -> None:
    a = rhytid.simulate(_plan(Injection(site="procerus", units=4), days=(14, 60)))
    b = rhytid.simulate(_plan(Injection(site="procerus", units=4, day=100), days=(114, 160)))
    for va, vb in zip(a.timeline, b.timeline, strict=True):
        assert vb.muscle_block["procerus"] == pytest.approx(va.muscle_block["procerus"], rel=1e-9)


def test_expressions_drive_their_muscles(basis: Basis) -> None:
    act = activation_matrix(basis.segments)
    names = [s.base for s in basis.segments]
    frown, raise_ = act[1], act[2]
    assert frown[names.index("corrugator")] == 1.0 and raise_[names.index("frontalis")] == 1.0
    assert np.all(act >= 0) and np.all(act <= 1)


@pytest.mark.slow
def test_results_converge_under_raster_refinement(glabellar_plan: Plan) -> None:
    """0.5 mm vs 0.25 mm: depths agree within 5 % of each area's depth scale (its deepest value
    over the course; relative errors of small depths near the buckling threshold are amplified by
    the square-root law and are not a resolution effect), brow changes within 4 %."""
    coarse = rhytid.simulate(glabellar_plan)
    fine = rhytid.simulate(glabellar_plan, raster_mm=0.25)
    scale = {name: max(v.areas[name].max_depth_um for v in fine.timeline) for name in fine.timeline[0].areas}
    for vc, vf in zip(coarse.timeline, fine.timeline, strict=True):
        for name, area in vc.areas.items():
            ref = vf.areas[name]
            assert abs(area.max_depth_um - ref.max_depth_um) <= 0.05 * scale[name]
            assert abs(area.rest_depth_um - ref.rest_depth_um) <= 0.05 * scale[name]
        for key, change in vc.brow_height_change_mm.items():
            assert change == pytest.approx(vf.brow_height_change_mm[key], rel=0.04, abs=0.02)
        assert vc.muscle_block == vf.muscle_block  # quadrature is independent of the raster
