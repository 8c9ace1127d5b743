"""Toxin: conservation of the spread kernel, volume and dose monotonicity, kinetics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhytid.errors import ProductError
from rhytid.toxin import (
    PRODUCT_NAMES,
    active_fraction,
    block_fraction,
    bolus_radius_mm,
    bound_uptake,
    dose_response,
    get_product,
    label_pattern,
    peak_active_day,
    spread_parameters,
    uptake_density,
)

R = np.linspace(0.0, 80.0, 16001)


def _total(q: np.ndarray) -> float:
    return float(np.trapezoid(q * 4.0 * np.pi * R**2, R))


@pytest.mark.parametrize("volume_ml", [0.02, 0.05, 0.1, 0.2, 0.4])
@pytest.mark.parametrize("length_mm", [1.5, 3.0, 6.0])
def test_uptake_integrates_to_the_injected_units(volume_ml: float, length_mm: float) -> None:
    a = float(bolus_radius_mm(volume_ml, 0.15))
    assert _total(uptake_density(R, 4.0, a, length_mm)) == pytest.approx(4.0, rel=2e-3)


def test_uptake_is_continuous_at_the_bolus_edge() -> None:
    a = 5.0
    inside = uptake_density(np.array([a - 1e-7]), 4.0, a, 3.0)
    outside = uptake_density(np.array([a + 1e-7]), 4.0, a, 3.0)
    assert inside[0] == pytest.approx(outside[0], rel=1e-5)


def test_small_bolus_tends_to_the_screened_point_source() -> None:
    r = np.array([8.0, 12.0])
    q = uptake_density(r, 1.0, 1e-3, 3.0)
    point = np.exp(-r / 3.0) / (4.0 * np.pi * 3.0**2 * r)
    assert q == pytest.approx(point, rel=1e-4)


@given(
    v1=st.floats(0.01, 0.5),
    factor=st.floats(1.05, 4.0),
)
@settings(max_examples=40, deadline=None)
def test_more_volume_same_units_gives_a_wider_field(v1: float, factor: float) -> None:
    sp = spread_parameters()
    a1 = float(bolus_radius_mm(v1, sp.interstitial_fraction))
    a2 = float(bolus_radius_mm(v1 * factor, sp.interstitial_fraction))
    q1, q2 = uptake_density(R, 4.0, a1, sp.length_mm), uptake_density(R, 4.0, a2, sp.length_mm)
    rms1 = np.sqrt(np.trapezoid(q1 * R**4, R) / np.trapezoid(q1 * R**2, R))
    rms2 = np.sqrt(np.trapezoid(q2 * R**4, R) / np.trapezoid(q2 * R**2, R))
    assert rms2 > rms1
    assert q2[0] < q1[0]  # the same units, diluted: lower peak


@given(u1=st.floats(0.5, 50.0), extra=st.floats(0.01, 50.0), c=st.floats(0.0, 1.0))
@settings(max_examples=60, deadline=None)
def test_more_units_same_volume_never_less_block(u1: float, extra: float, c: float) -> None:
    params = dose_response()
    q1 = uptake_density(R[::100], u1, 5.0, 3.0)
    q2 = uptake_density(R[::100], u1 + extra, 5.0, 3.0)
    assert np.all(block_fraction(q2 * c, params) >= block_fraction(q1 * c, params))


@given(q=st.floats(0.0, 10.0), extra=st.floats(1e-6, 10.0), cap=st.floats(1e-4, 1.0))
@settings(max_examples=80, deadline=None)
def test_binding_saturates_at_the_capacity(q: float, extra: float, cap: float) -> None:
    """Bound toxin grows with uptake, stays below the capacity, and doubling binds less than double."""
    b1, b2 = bound_uptake(np.array([q, q + extra]), cap)
    assert b1 <= b2 < cap
    assert b1 <= q
    assert bound_uptake(np.array([2 * (q + extra)]), cap)[0] <= 2 * b2


def test_binding_is_linear_far_below_the_capacity() -> None:
    cap = dose_response().binding_capacity_u_per_mm3
    q = np.array([1e-6, 1e-5]) * cap
    assert bound_uptake(q, cap) == pytest.approx(q, rel=2e-5)
    assert bound_uptake(np.array([cap]), cap)[0] == pytest.approx(cap / 2)


def test_block_saturates_between_zero_and_max() -> None:
    params = dose_response()
    b = block_fraction(np.logspace(-10, 2, 60), params)
    assert np.all(np.diff(b) >= 0)
    assert b[0] == pytest.approx(0.0, abs=1e-6) and b[-1] == pytest.approx(params.max_block, rel=1e-3)
    assert block_fraction(np.array([params.ec50_u_per_mm3]), params)[0] == pytest.approx(params.max_block / 2)


@pytest.mark.parametrize(("onset", "kr"), [(5.29, 0.0173), (3.02, 0.0173), (5.29, 0.0099), (2.0, 0.3)])
def test_two_step_onset_agrees_with_the_integrated_chain(onset: float, kr: float) -> None:
    """The closed form equals the bound -> internalised -> active chain integrated numerically."""
    from scipy.integrate import solve_ivp

    k = 1.6783469900166608 / onset

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        return [-k * y[0], k * y[0] - k * y[1], k * y[1] - kr * y[2]]

    days = np.array([0.5, 1.0, 2.0, 4.0, 7.0, 14.0, 42.0, 84.0, 168.0, 300.0])
    sol = solve_ivp(rhs, (0.0, 300.0), [1.0, 0.0, 0.0], t_eval=days, rtol=1e-10, atol=1e-13, method="LSODA")
    assert active_fraction(days, onset, kr) == pytest.approx(sol.y[2], rel=1e-6, abs=1e-12)
    fine = np.linspace(0.01, 120.0, 240_001)
    f = active_fraction(fine, onset, kr)
    assert float(peak_active_day(onset, kr)) == pytest.approx(fine[np.argmax(f)], abs=1e-3)


@pytest.mark.parametrize("onset", [1.0, 3.02, 5.29, 10.0])
def test_peak_day_is_where_the_active_fraction_stops_rising(onset: float) -> None:
    """The peak day agrees to 1e-12 with an independent root of d/dt ln I(t) = 0 (scipy's brentq
    on the closed form's logarithmic derivative), for a range of recovery rates at once."""
    from scipy.optimize import brentq

    k = 1.6783469900166608 / onset
    rates = np.array([1e-4, 1e-3, 0.0099, 0.0173, 0.05, 0.6 * k])

    def slope(t: float, kr: float) -> float:  # d/dt ln I = 2/t - kr + d/dt ln((1 - e^-x (1 + x)) / x^2)
        a = k - kr
        x = a * t
        return -kr + a * x * np.exp(-x) / (-np.expm1(-x) - x * np.exp(-x))

    expected = [
        brentq(slope, 1e-6 / (k - kr), 200.0 / (k - kr), args=(kr,), xtol=1e-14, rtol=1e-15) for kr in rates
    ]
    assert peak_active_day(onset, rates) == pytest.approx(expected, rel=1e-12)
    assert peak_active_day(onset, rates).shape == rates.shape


def test_half_of_the_light_chain_is_active_by_the_reported_onset_day() -> None:
    for onset in (3.02, 5.29):
        assert active_fraction(np.array([onset]), onset, 0.0)[0] == pytest.approx(0.5, rel=1e-12)
    early = active_fraction(np.array([0.5, 1.0]), 3.02, 0.0)
    assert early[1] / early[0] > 3.0  # sigmoid start: slower than linear at first


def test_kinetics_onset_peak_and_recovery() -> None:
    p = get_product("onabotulinumtoxinA")
    t = np.arange(0.0, 400.0, 0.5)
    f = active_fraction(t, p.onset_days, p.recovery_rate_per_day)
    assert f[0] == 0.0 and active_fraction(np.array([-3.0]), 5, 0.02)[0] == 0.0
    peak_day = t[np.argmax(f)]
    assert 3.0 <= peak_day <= 30.0  # onset in days, peak within weeks
    assert f[t == 180][0] < 0.5 * f.max()  # recovered over months


def test_faster_onset_product_acts_earlier() -> None:
    inco, ona = get_product("incobotulinumtoxinA"), get_product("onabotulinumtoxinA")
    t = np.array([2.0])
    assert (
        active_fraction(t, inco.onset_days, inco.recovery_rate_per_day)[0]
        > active_fraction(t, ona.onset_days, ona.recovery_rate_per_day)[0]
    )


def test_products_and_reconstitution() -> None:
    assert set(PRODUCT_NAMES) == {
        "onabotulinumtoxinA",
        "abobotulinumtoxinA",
        "incobotulinumtoxinA",
        "prabotulinumtoxinA",
        "daxibotulinumtoxinA",
    }
    assert get_product("onabotulinumtoxinA").default_units_per_ml == pytest.approx(40.0)
    assert get_product("daxibotulinumtoxinA").default_units_per_ml == pytest.approx(80.0)
    assert get_product("daxibotulinumtoxinA").use_within_h == 72
    with pytest.raises(ProductError, match="unknown product 'botox'"):
        get_product("botox")


def test_label_patterns_total_the_label_doses() -> None:
    assert sum(label_pattern("glabellar", "onabotulinumtoxinA").values()) == 20
    assert sum(label_pattern("glabellar", "abobotulinumtoxinA").values()) == 50
    assert sum(label_pattern("glabellar", "daxibotulinumtoxinA").values()) == 40
    assert sum(label_pattern("lateral_canthal", "onabotulinumtoxinA").values()) == 24
    assert sum(label_pattern("forehead", "onabotulinumtoxinA").values()) == 20
