r"""Block kinetics: from toxin taken up to nerve endings blocked, over time.

Toxin taken up by a nerve ending acts after two first-order steps: it is internalised, and its
light chain is then translocated into the cytosol, where it cleaves SNAP-25 (Meunier 2003). Both
steps are given one rate :math:`k = c / t_{onset}` with :math:`c = 1.678\ldots` the root of
:math:`1 - e^{-c}(1 + c) = 1/2`, so that half of the light chain is active by the reported onset
day; the chain makes the onset sigmoid (slow on day 1-2, fast after). The active light chain's
blocking capacity is lost with the functional recovery rate :math:`k_r` (sprouting and restored
release at the original endplate). For an uptake density :math:`q` at time 0:

.. math::  I(t) = q\,k^2 e^{-k_r t}\,\frac{1 - e^{-a t}(1 + a t)}{a^2}, \quad a = k - k_r,
           \quad t \ge 0,

and repeated treatments add: :math:`I = \sum_j I_j(t - t_j)`. Uptake itself is receptor-mediated
and saturates: the toxin a treatment leaves at a point binds as :math:`q_b = q / (1 + q / q_{cap})`,
with :math:`q_{cap}` the binding capacity of the nerve endings there (what is not bound is
cleared). The fraction of nerve endings blocked is a saturating (Hill) function of :math:`I`,

.. math::  b = b_{max}\,\frac{I^n}{I^n + EC_{50}^n}.

Units: days, U/mm³ (ona-equivalent).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from rhytid._data import value

__all__ = [
    "ONSET_CONSTANT",
    "DoseResponse",
    "active_fraction",
    "binding_factor",
    "block_fraction",
    "bound_uptake",
    "dose_response",
    "load_dose_response",
    "onset_rate",
    "peak_active_day",
]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class DoseResponse:
    ec50_u_per_mm3: float
    hill: float
    max_block: float
    binding_capacity_u_per_mm3: float


def load_dose_response(lookup: Callable[..., Any] = value) -> DoseResponse:
    """The dose response, each value read as ``lookup("toxins.yaml", "dose_response", ...)``."""

    def v(key: str) -> float:
        return float(lookup("toxins.yaml", "dose_response", key))

    return DoseResponse(
        ec50_u_per_mm3=v("ec50_u_per_mm3"),
        hill=v("hill"),
        max_block=v("max_block"),
        binding_capacity_u_per_mm3=v("binding_capacity_u_per_mm3"),
    )


def dose_response() -> DoseResponse:
    """The dose response of the default :class:`rhytid.Parameters`."""
    from rhytid._parameters import default_parameters

    return default_parameters().dose


#: :math:`c` with :math:`1 - e^{-c}(1 + c) = 1/2`: half of a two-step chain done at :math:`t = c/k`
ONSET_CONSTANT = 1.6783469900166608


def onset_rate(onset_days: float) -> float:
    """Rate (1/day) of each of the two onset steps: half the light chain active by ``onset_days``."""
    return ONSET_CONSTANT / onset_days


@nb.njit(nogil=True, cache=True)
def active_at(t, k, kr):  # type: ignore[no-untyped-def]
    """:math:`k^2 e^{-k_r t}\\,t^2\\,(1 - e^{-x}(1 + x)) / x^2`, :math:`x = (k - k_r) t` (its
    series near 0), for ``t > 0``; 0 before: :func:`active_fraction` of one time (numba, for the
    fused kernels)."""
    if not t > 0.0:
        return 0.0
    x = (k - kr) * t
    if abs(x) < 1e-4:  # the series near 0
        return k * k * math.exp(-kr * t) * (t * t) * (0.5 - x / 3.0 + x * x / 8.0)
    return k * k * math.exp(-kr * t) * (t * t) * ((-math.expm1(-x) - x * math.exp(-x)) / (x * x))


@nb.njit(nogil=True, cache=True)
def _active(t, k, kr, out):  # type: ignore[no-untyped-def]
    for i in range(len(t)):
        out[i] = active_at(t[i], k, kr[i])


def active_fraction(t_days: Array, onset_days: float, recovery_rate: float | Array) -> Array:
    """The fraction :math:`I(t)/q` of taken-up toxin actively blocking at time ``t`` (0 before);
    ``recovery_rate`` may be an array (per patient), broadcast against ``t_days``."""
    t, kr = np.broadcast_arrays(np.asarray(t_days, dtype=float), np.asarray(recovery_rate, dtype=float))
    out = np.empty(t.shape)
    _active(
        np.ascontiguousarray(t).ravel(), onset_rate(onset_days), np.ascontiguousarray(kr).ravel(), out.ravel()
    )
    return out


@nb.njit(nogil=True, cache=True)
def _peak_x(target):  # type: ignore[no-untyped-def]
    r"""The root :math:`x > 0` of :math:`r(x) = x e^{-x} / (1 - e^{-x}(1 + x)) = ` ``target``
    (:math:`r` falls from 2/x to 0): Newton's method in :math:`u = \ln x`, kept inside a bisection
    bracket in which it falls back to halving, until the step is below 1e-15."""
    lo = math.log(1e-6)
    hi = math.log(200.0)
    u = 1.0  # x = e: near the roots of the products' onset and recovery rates (x ~ 1 to 6)
    log_target = math.log(target)
    for _ in range(200):
        x = math.exp(u)
        ex = math.exp(-x)
        ratio = x * ex / (-math.expm1(-x) - x * ex)
        g = math.log(ratio) - log_target
        if g > 0.0:  # the ratio falls with x: the root lies higher
            lo = u
        else:
            hi = u
        nxt = u - g / (1.0 - x - x * ratio)  # d ln r / d ln x = 1 - x - x r
        if abs(nxt - u) <= 1e-15 * max(1.0, abs(u)):
            return math.exp(nxt)
        u = nxt if lo < nxt < hi else 0.5 * (lo + hi)
    return math.exp(u)


@nb.njit(nogil=True, cache=True)
def _peak_days(k, kr, out):  # type: ignore[no-untyped-def]
    for i in range(len(kr)):
        a = k - kr[i]
        out[i] = _peak_x(kr[i] / a) / a


def peak_active_day(onset_days: float, recovery_rate: float | Array) -> Array:
    r"""Day of the maximum of :func:`active_fraction`: where :math:`f'(t)/f(t) = k_r` for the chain
    factor :math:`f`, i.e. :math:`x e^{-x} / (1 - e^{-x}(1 + x)) = k_r / a` with :math:`x = a t`
    (:func:`_peak_x`; :math:`k > k_r`); ``recovery_rate``'s shape."""
    kr = np.asarray(recovery_rate, dtype=float)
    out = np.empty(kr.shape)
    _peak_days(onset_rate(onset_days), np.ascontiguousarray(kr).ravel(), out.ravel())
    return out


def block_fraction(active: Array, params: DoseResponse) -> Array:
    """Fraction of nerve endings blocked for active toxin density ``active`` (U/mm³)."""
    x = np.maximum(np.asarray(active, dtype=float), 0.0) / params.ec50_u_per_mm3
    xn = x**params.hill
    return np.asarray(params.max_block * xn / (1.0 + xn), dtype=np.float64)


def binding_factor(uptake: Array, capacity: float) -> Array:
    """The share :math:`1 / (1 + q / q_{cap})` of the uptake ``q`` (U/mm³) that nerve endings of
    binding ``capacity`` (U/mm³) bind."""
    q = np.maximum(np.asarray(uptake, dtype=float), 0.0)
    return np.asarray(1.0 / (1.0 + q / capacity), dtype=np.float64)


def bound_uptake(uptake: Array, capacity: float) -> Array:
    """Toxin bound by the nerve endings, :math:`q / (1 + q / q_{cap})` (U/mm³), for the uptake
    density ``uptake`` of one treatment (U/mm³) and the binding ``capacity`` (U/mm³)."""
    q = np.maximum(np.asarray(uptake, dtype=float), 0.0)
    return np.asarray(q * binding_factor(q, capacity), dtype=np.float64)
