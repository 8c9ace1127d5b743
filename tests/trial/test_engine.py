"""The vectorised trial engine reproduces the model's mechanisms (rhytid.simulate, block_state)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import rhytid
from rhytid import Patient
from rhytid._kernels import depth_um
from rhytid.model import block_state, face_engine
from rhytid.tissue import buckling, dynamic_depth_um, grade_from_depth
from rhytid.toxin import active_fraction, get_product
from rhytid.trial import Population, TrialDesign, TrialParameters
from rhytid.trial._engine import BlockTables, Pattern, Readouts, face_model, nominal_technique
from rhytid.trial._run import _log_active

DAYS = (0.0, 2.0, 7.0, 14.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0)


@pytest.fixture(scope="module")
def tp() -> TrialParameters:
    return TrialParameters.from_data()


@pytest.mark.parametrize("kr", [0.0231, 0.0165, 0.1310], ids=["ona", "daxi", "fast-recovery"])
def test_per_patient_recovery_rates_broadcast_like_one_rate_each(kr: float) -> None:
    t = np.array([[-3.0, 0.0, 0.5, 2.0, 14.0, 90.0, 400.0]])
    rates = np.array([[kr], [2 * kr]])
    both = active_fraction(t, 5.29, rates)
    assert np.allclose(both[0], active_fraction(t[0], 5.29, kr), rtol=1e-12)
    assert np.allclose(both[1], active_fraction(t[0], 5.29, 2 * kr), rtol=1e-12)


def test_patient_buckling_scales_as_chen_hutchinson(tp: TrialParameters) -> None:
    fm = face_model("female", ("glabellar",), tp.area_cells_max, tp.quadrature_stride, tp.tissue)
    area = fm.areas[0]
    p = tp.tissue
    c = np.linspace(0.0, 0.2, 41, dtype=np.float32)
    for stiffness, thick in [(1.0, 1.0), (1.4, 0.8), (0.7, 1.2)]:
        bk = buckling(
            p.skin_thickness_mm["glabella"]["female"] * thick,
            p.dermis_modulus_mpa * stiffness,
            p.subcutis_modulus_kpa * 1e-3,
            p.poisson_ratio,
            p.prestress_kpa * 1e-3,
        )
        mine = depth_um(
            c,
            np.array(area.h_ref * thick),
            np.array(area.critical_ref * stiffness ** (-2 / 3)),
            np.array(area.prestrain_ref / stiffness),
        )
        assert np.allclose(mine, dynamic_depth_um(c, bk), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("stride", [1, 2])
def test_tabulated_block_matches_block_state(
    tp: TrialParameters, glabellar_plan: rhytid.Plan, stride: int
) -> None:
    """Compressed dose distributions + table lookup = the model's quadrature sum of Hill blocks."""
    fm = face_model("female", ("glabellar",), tp.area_cells_max, stride)
    engine = face_engine("female", None)
    product = get_product("onabotulinumtoxinA")
    days = np.array([-1.0, *DAYS])
    state = block_state(engine, glabellar_plan.resolve(engine.face), product, days)
    pattern = TrialDesign("glabellar", "onabotulinumtoxinA", 20).pattern("female")
    q = fm.uptake(pattern, nominal_technique(5), tp)
    tables = BlockTables.build(fm, q, tp, -np.log(tp.ec50_u_per_mm3) + 1)
    kr = np.array([product.recovery_rate_per_day])
    seg = tables.lookup(
        np.zeros(1, dtype=np.intp),
        _log_active(days[None], product.onset_days, kr[:, None], np.ones(1), tp.ec50_u_per_mm3),
    )[0]
    tol = 2e-3 if stride == 1 else 0.02
    assert np.abs(seg - state.segment).max() < tol
    assert np.abs(fm.muscle_block(seg) - state.muscle).max() < tol


CASES = [
    Patient(sex="female", age=45, muscle_strength=1.0),
    Patient(sex="female", age=62, muscle_strength=1.3),
    Patient(sex="female", age=33, muscle_strength=0.8),
    Patient(sex="male", age=50, muscle_strength=1.0),
]


@pytest.mark.parametrize("patient", CASES, ids=lambda p: f"{p.sex}-{p.age:g}-{p.muscle_strength:g}")
def test_vectorised_engine_reproduces_simulate(
    tp: TrialParameters, glabellar_plan: rhytid.Plan, patient: Patient
) -> None:
    """Same patient, technique exactly as planned: blocks within 0.02, the glabellar depth at
    maximum frown within 3 % of the baseline depth at the median visit and 16 % (+25 µm) at worst —
    the trial samples every 2nd raster cell, and the 90th percentile of an area that is partly
    relaxed (onset, day 2) moves with the sample — and the same grade
    at every visit but at most two, where the depth lies within that tolerance of a threshold."""
    data = glabellar_plan.model_dump(by_alias=True, exclude_none=True)
    plan = rhytid.Plan.model_validate({**data, "patient": None, "simulation": {"days": DAYS}})
    outcome = rhytid.simulate(plan, patient)
    fm = face_model(patient.sex, ("glabellar",), tp.area_cells_max, tp.quadrature_stride, tp.tissue)
    pattern = TrialDesign("glabellar", "onabotulinumtoxinA", 20).pattern(patient.sex)
    tables = BlockTables.build(
        fm, fm.uptake(pattern, nominal_technique(5), tp), tp, -np.log(tp.ec50_u_per_mm3) + 1
    )
    product = get_product("onabotulinumtoxinA")
    kr = np.array([product.recovery_rate_per_day])
    days = np.array(DAYS)
    w = _log_active(days[None], product.onset_days, kr[:, None], np.ones(1), tp.ec50_u_per_mm3)
    seg = tables.lookup(np.zeros(1, dtype=np.intp), w)
    pop = Population.typical(
        np.array([patient.age]), np.array([patient.sex == "male"]), np.array([patient.muscle_strength])
    )
    static = fm.static_um(fm.areas[0], pop, tp)

    def log_active(grid: np.ndarray) -> np.ndarray:
        return _log_active(grid[None], product.onset_days, kr[:, None], np.ones(1), tp.ec50_u_per_mm3)

    readouts = Readouts.build(tables, *fm.readout_weights(list(fm.areas[0].target_index), tp.tissue))
    ease = fm.static_ease(0, readouts, np.zeros(1, dtype=np.intp), log_active, days[None], tp.tissue)
    depth = fm.area_depth(fm.areas[0], pop, seg, static, tp, ease=ease)[0]
    model_depth = np.array([v.areas["glabellar"].max_depth_um for v in outcome.timeline])
    model_grade = np.array([v.areas["glabellar"].max_grade for v in outcome.timeline])
    model_block = np.array([v.muscle_block["corrugator_l"] for v in outcome.timeline])
    trial_block = fm.muscle_block(seg[0])[:, fm.engine.muscles.index("corrugator_l")]
    assert np.abs(trial_block - model_block).max() < 0.02
    err = np.abs(depth - model_depth)
    assert np.median(err) <= 0.03 * model_depth[0] + 5.0
    tol = 0.16 * model_depth[0] + 25.0
    assert np.all(err <= tol)
    grades = grade_from_depth(depth, tp.grade_thresholds_um)
    assert np.abs(grades - model_grade).max() <= 1
    assert (grades != model_grade).sum() <= 2  # a few visits, each within the tolerance of a threshold
    thresholds = np.asarray(tp.grade_thresholds_um)
    off = grades != model_grade
    assert np.all(np.abs(model_depth[off, None] - thresholds[None, :]).min(axis=1) <= tol)


@pytest.fixture(scope="module")
def forehead_plan() -> rhytid.Plan:
    return rhytid.load_plan(Path(__file__).resolve().parents[2] / "examples" / "forehead-glabellar-40U.toml")


ALL_AREAS = ("glabellar", "forehead", "lateral_canthal_l", "lateral_canthal_r")
EXACT_CASES = [
    Patient(sex="female", age=45, muscle_strength=1.0),
    Patient(sex="male", age=58, muscle_strength=1.2, frontalis_tone=0.3),
]


@pytest.mark.parametrize("patient", EXACT_CASES, ids=lambda p: f"{p.sex}-{p.age:g}")
def test_exact_trial_engine_and_simulate_agree(
    tp: TrialParameters, patient: Patient, forehead_plan: rhytid.Plan
) -> None:
    """One patient, the technique exactly as planned: the trial engine with every cell and point
    (the same kernels as simulate) gives simulate's depths, grades, blocks, brow and lid to float
    rounding — not within a tolerance of a different implementation."""
    from rhytid.model import _injection_arrays

    data = forehead_plan.model_dump(by_alias=True, exclude_none=True)
    plan = rhytid.Plan.model_validate({**data, "patient": None, "simulation": {"days": DAYS}})
    outcome = rhytid.simulate(plan, patient, params=tp)
    fm = face_model(patient.sex, ALL_AREAS, tp.area_cells_max, tp.quadrature_stride, tp.tissue, exact=True)
    face = fm.engine.face
    product = tp.product(plan.product.name)
    injections = plan.resolve(face, product)
    xy, depth, units, volume, _ = _injection_arrays(face, injections, product, tp.spread)
    pattern = Pattern(tuple(str(i.site) for i in injections), xy[0], depth[0], units, volume[0])
    q = fm.uptake(pattern, nominal_technique(len(injections)), tp)
    r = np.zeros(1, dtype=np.intp)
    days = np.array(DAYS)[None]
    kr = np.array([product.recovery_rate_per_day])
    kin = active_fraction(days, product.onset_days, kr[:, None])
    seg = fm.exact_segment_block(q, r, kin, np.ones(1), tp)
    tone = 1.0 if patient.frontalis_tone is None else patient.frontalis_tone / fm.engine.reference_tone
    pop = Population.typical(
        np.array([patient.age]), np.array([patient.sex == "male"]), np.array([patient.muscle_strength])
    )
    pop = dataclasses.replace(pop, tone=np.array([tone]))

    def kin_of(grid: np.ndarray) -> np.ndarray:
        return active_fraction(grid[None], product.onset_days, kr[:, None])

    for area in fm.areas:
        static = fm.static_um(area, pop, tp)
        ease = fm.exact_static_ease(area, q, r, kin_of, np.ones(1), days, tp)
        trial = fm.area_depth(area, pop, seg, static, tp, ease=ease)[0]
        model = np.array([v.areas[area.name].max_depth_um for v in outcome.timeline])
        assert np.allclose(trial, model, rtol=2e-5, atol=0.02), area.name
        model_grade = np.array([v.areas[area.name].max_grade for v in outcome.timeline])
        assert np.array_equal(grade_from_depth(trial, tp.grade_thresholds_um), model_grade), area.name
    muscles = fm.muscle_block(seg[0])
    for i, m in enumerate(fm.engine.muscles):
        assert np.allclose(muscles[:, i], [v.muscle_block[m] for v in outcome.timeline], atol=1e-9), m
    brow = fm.brow_mm(pop, seg, tp.tissue) - fm.brow_mm(pop, np.zeros((1, 1, seg.shape[2])), tp.tissue)
    for k, key in enumerate(fm.brow_keys):
        assert np.allclose(brow[0, :, k], [v.brow_height_change_mm[key] for v in outcome.timeline], atol=1e-9)
    droop = fm.lid_droop_mm(seg, tp.tissue)[0]
    for k, side in enumerate(("l", "r")):
        expected = [v.eyelid_droop_mm[side] for v in outcome.timeline]
        assert np.allclose(np.maximum(droop[:, k], 0.0), expected, atol=1e-9)
