"""Lines at rest: what depth_um is, its bound by the fold geometry, and how etched depth eases
over months while the fold is relaxed and returns as folding returns (issue 11, item 5)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rhytid
from rhytid.tissue import buckling, dynamic_depth_um, fold_relaxation, tissue_parameters


@settings(max_examples=60, deadline=None)
@given(
    strain=st.floats(0.0, 0.6),
    h=st.floats(0.5, 1.6),
    film=st.floats(0.05, 0.4),
    substrate_kpa=st.floats(1.0, 10.0),
)
def test_depth_is_bounded_by_the_fold_geometry(
    strain: float, h: float, film: float, substrate_kpa: float
) -> None:
    """A fold whose arc length took up all the compression has A = (λ/π)√ε; the buckled depth
    stays below it (the film also stores strain)."""
    b = buckling(h, film, substrate_kpa * 1e-3, 0.5)
    depth = float(dynamic_depth_um(np.array([strain]), b)[0])
    assert depth <= 1000.0 * b.wavelength_mm / np.pi * np.sqrt(strain) + 1e-9


def test_fold_relaxation_is_the_exact_first_order_response() -> None:
    tau = 60.0
    t = np.arange(0.0, 400.0, 7.0)
    steady = fold_relaxation(t, np.full_like(t, 0.8), tau)
    assert steady == pytest.approx(0.8 * (1.0 - np.exp(-t / tau)), abs=1e-12)
    ramp = fold_relaxation(t, t / 400.0, tau)  # r = t/T: R = (t - τ(1 - e^{-t/τ}))/T
    assert ramp == pytest.approx((t - tau * (1.0 - np.exp(-t / tau))) / 400.0, abs=1e-12)
    fine = np.arange(0.0, 400.0, 1.0)
    assert fold_relaxation(fine, np.full_like(fine, 0.8), tau)[::7] == pytest.approx(steady, abs=1e-12)


def test_rest_lines_ease_over_months_and_return() -> None:
    """Glabellar 20 U in a 65-year-old: the rest depth (all etched at rest) falls slowly, most by
    about three months, and comes back as the block wears off; the dynamic depth at maximal frown
    falls far more and far sooner."""
    plan = rhytid.load_plan("examples/glabellar-20U.toml")
    days = (0, 7, 30, 90, 150, 240, 400)
    plan = rhytid.Plan.model_validate({**plan.model_dump(exclude_none=True), "simulation": {"days": days}})
    o = rhytid.simulate(plan, rhytid.Patient(age=65))
    rest = np.array([v.areas["glabellar"].rest_depth_um for v in o.timeline])
    peak = np.array([v.areas["glabellar"].max_depth_um for v in o.timeline])
    ease = 1.0 - rest / rest[0]
    assert ease[1] < 0.05  # a week: hardly any change at rest
    assert ease[3] > 0.1  # three months: clearly eased
    assert int(np.argmax(ease)) in (2, 3, 4)
    assert ease[-1] < 0.5 * ease.max()  # returns as folding returns
    assert (1.0 - peak[2] / peak[0]) > 2.0 * ease.max()  # static responds less than dynamic
    p = tissue_parameters()
    assert ease.max() < p.static_ease_max


def test_no_treatment_no_easing() -> None:
    plan = rhytid.Plan.model_validate(
        {
            "product": {"name": "onabotulinumtoxinA"},
            "injection": [{"x_mm": 0.0, "y_mm": -40.0, "units": 0.5}],
            "simulation": {"days": (0, 90)},
        }
    )
    o = rhytid.simulate(plan, rhytid.Patient(age=65))
    assert o.timeline[1].areas["forehead"].rest_depth_um == pytest.approx(
        o.timeline[0].areas["forehead"].rest_depth_um, rel=1e-6
    )


def test_fold_relaxation_of_a_batch_is_that_of_each_row() -> None:
    rng = np.random.default_rng(5)
    t = np.concatenate([[0.0], np.cumsum(rng.uniform(0.5, 9.0, 30))])
    r = rng.random((2, 3, len(t)))
    batch = fold_relaxation(t, r, 60.0)
    assert batch.shape == r.shape and np.all(batch[..., 0] == 0.0)
    for i in range(2):
        for j in range(3):
            assert np.array_equal(batch[i, j], fold_relaxation(t, r[i, j], 60.0))
    assert fold_relaxation(t[:1], r[..., :1], 60.0).tolist() == [[[0.0]] * 3] * 2
