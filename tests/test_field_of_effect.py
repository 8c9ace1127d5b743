"""The planner's field of effect and the report's maps are the model's own block (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest

import rhytid
from rhytid import Injection, Plan, ProductChoice
from rhytid.model import block_state, face_engine, field_maps, field_of_effect, injection_depth, map_layers
from rhytid.store._maps import _field
from rhytid.toxin import (
    active_fraction,
    binding_factor,
    block_fraction,
    bolus_radius_mm,
    dose_response,
    get_product,
    spread_parameters,
    uptake_density,
)

ONA = ProductChoice(name="onabotulinumtoxinA", vial_units=100, diluent_ml=2.5)


def _plan() -> Plan:
    return Plan.model_validate(
        {
            "patient": {"sex": "female", "age": 45},
            "product": ONA,
            "injection": [
                Injection(site="corrugator_lateral_l", units=5),
                Injection(x_mm=-20.0, y_mm=40.0, units=4),
            ],
            "simulation": {"days": [0, 30]},
        }
    )


def test_planner_cells_are_the_block_of_the_spread_equations() -> None:
    """Each planner cell equals the block written out from the published equations: bolus radius,
    screened spread with the model's length, shared binding, kinetics, dose response. A planner that
    used another spread length (or none of binding) fails here."""
    plan = _plan()
    field = _field(plan, 30.0)
    assert field["quantity"] == "block" and field["cells"]
    face = face_engine("female", None).face
    sp = spread_parameters()
    product = get_product("onabotulinumtoxinA")
    injections = plan.resolve(face)
    checked = 0
    for x, y, v in field["cells"][:: max(1, len(field["cells"]) // 40)]:
        below = [m for m in face.muscles_at(x, y) if not m.behind_septum]
        if not below:
            continue
        z = max(m.depth_mm for m in below)
        q = []
        for inj in injections:
            r = np.sqrt((x - inj.x_mm) ** 2 + (y - inj.y_mm) ** 2 + (z - injection_depth(face, inj)) ** 2)
            a = float(bolus_radius_mm(inj.volume_ml, sp.interstitial_fraction))
            q.append(
                float(
                    uptake_density(
                        np.array([r]), inj.units * product.ona_equivalent_per_unit, a, sp.length_mm
                    )[0]
                )
            )
        total = np.array([sum(q)])
        bound = total * binding_factor(total, dose_response().binding_capacity_u_per_mm3)
        kin = float(active_fraction(np.array([30.0]), product.onset_days, product.recovery_rate_per_day)[0])
        expected = float(block_fraction(kin * bound, dose_response())[0])
        assert v == pytest.approx(expected, abs=0.006)
        checked += 1
    assert checked >= 10


def test_map_block_is_the_outcomes_block_at_the_nerve_endings() -> None:
    """At the model's own nerve-ending quadrature points the map equals the block of block_state."""
    plan = _plan()
    engine = face_engine("female", None)
    b = engine.basis
    state = block_state(engine, plan.resolve(engine.face), get_product(plan.product.name), np.array([30.0]))
    cols = b.segment_index("corrugator_l")
    pts = np.flatnonzero(b.quad_weights[:, cols].sum(axis=1) > 0)
    layer, _ = map_layers(engine.face, b.quad_xy[pts])
    pts = pts[layer == b.quad_depth_mm[pts]][:60]  # inside the corrugator, the deepest muscle there
    assert len(pts) >= 20
    product = get_product("onabotulinumtoxinA")
    kin = active_fraction(30.0 - np.zeros(2), product.onset_days, product.recovery_rate_per_day)
    at_quad = block_fraction(kin @ state.uptake[:, pts], dose_response())
    mapped = field_of_effect(plan, b.quad_xy[pts], 30.0)
    assert mapped == pytest.approx(at_quad, rel=1e-9, abs=1e-12)


def test_report_maps_show_the_same_block() -> None:
    plan = _plan()
    maps = field_maps(plan, 30.0, "frown")
    x, y = maps.raster.grid()
    pts = np.column_stack([x.ravel(), y.ravel()])[::997]
    assert maps.block.ravel()[::997] == pytest.approx(field_of_effect(plan, pts, 30.0))
    outcome = rhytid.simulate(plan)
    assert outcome.visit(30).muscle_block["corrugator_l"] > 0.3


def test_report_maps_show_the_outcomes_depth() -> None:
    """The maps' depth comes from simulate's kernels: its percentile over a graded area's cells
    is the Outcome's depth of that area at its expression (static depth eased alike)."""
    from rhytid._kernels import percentile

    plan = _plan()
    outcome = rhytid.simulate(plan)
    engine = face_engine("female", None)
    glabellar = next(a for a in engine.areas if a.name == "glabellar")
    for day in (30.0, float(outcome.timeline[-1].day)):
        maps = field_maps(plan, day, "frown")
        cells = maps.depth_um.ravel()[glabellar.cells].astype(np.float32)[None]
        assert percentile(cells, 90.0)[0] == pytest.approx(
            outcome.visit(day).areas["glabellar"].max_depth_um, abs=0.05
        )
