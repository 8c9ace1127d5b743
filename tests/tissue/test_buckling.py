"""The film-on-substrate buckling constants against the stability of a sinusoidal mode, solved
numerically: a plate of bending stiffness D = Ē_f h³/12 on a half-space whose surface resists a
deflection of wavenumber k with a pressure Ē_s k / 2 per unit deflection (Allen 1969; Chen &
Hutchinson 2004) buckles first at the k that minimises the compressive force N(k) = D k² + Ē_s/(2k)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from rhytid.tissue import buckling


@settings(max_examples=40, deadline=None)
@given(
    h=st.floats(0.3, 2.5),
    film=st.floats(0.05, 20.0),
    stiffness_ratio=st.floats(1e-3, 0.2),
    nu=st.floats(0.3, 0.49),
)
def test_critical_strain_and_wavelength_are_those_of_the_first_unstable_mode(
    h: float, film: float, stiffness_ratio: float, nu: float
) -> None:
    substrate = film * stiffness_ratio
    ef, es = film / (1 - nu**2), substrate / (1 - nu**2)

    def force(log_k: float) -> float:  # compressive force per width (N/mm) the mode needs
        k = math.exp(log_k)
        return ef * h**3 * k**2 / 12.0 + es / (2.0 * k)

    best = minimize_scalar(
        force, bounds=(math.log(1e-4 / h), math.log(1e3 / h)), method="bounded", options={"xatol": 1e-10}
    )
    b = buckling(h, film, substrate, nu)
    assert b.critical_strain == pytest.approx(best.fun / (ef * h), rel=1e-6)
    assert b.wavelength_mm == pytest.approx(2.0 * math.pi / math.exp(best.x), rel=1e-4)
