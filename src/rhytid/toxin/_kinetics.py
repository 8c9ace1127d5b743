r"""Block kinetics: from toxin taken up to nerve endings blocked, over time.

Taken-up toxin is internalised with rate :math:`k_i = \ln 2 / t_{onset}` (half internalised by
the reported onset day), and the blocking capacity of the internalised light chain is lost with the
functional recovery rate :math:`k_r` (sprouting and restored release at the original endplate).
For an uptake density :math:`q` at time 0 the active light chain is the Bateman function

.. math::  I(t) = q\,\frac{k_i}{k_i - k_r}\bigl(e^{-k_r t} - e^{-k_i t}\bigr), \quad t \ge 0,

and repeated treatments add: :math:`I = \sum_j I_j(t - t_j)`. The fraction of nerve endings
blocked is a saturating (Hill) function of it. Uptake itself is receptor-mediated and saturates:
the toxin a treatment leaves at a point binds as :math:`q_b = q / (1 + q / q_{cap})`, with
:math:`q_{cap}` the binding capacity of the nerve endings there (what is not bound is cleared).
The fraction of nerve endings

.. math::  b = b_{max}\,\frac{I^n}{I^n + EC_{50}^n}.

Units: days, U/mm³ (ona-equivalent).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from rhytid._data import value

__all__ = ["DoseResponse", "active_fraction", "block_fraction", "bound_uptake", "dose_response"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class DoseResponse:
    ec50_u_per_mm3: float
    hill: float
    max_block: float
    binding_capacity_u_per_mm3: float


@cache
def dose_response() -> DoseResponse:
    return DoseResponse(
        ec50_u_per_mm3=float(value("toxins.yaml", "dose_response", "ec50_u_per_mm3")),
        hill=float(value("toxins.yaml", "dose_response", "hill")),
        max_block=float(value("toxins.yaml", "dose_response", "max_block")),
        binding_capacity_u_per_mm3=float(value("toxins.yaml", "dose_response", "binding_capacity_u_per_mm3")),
    )


def active_fraction(t_days: Array, onset_days: float, recovery_rate: float) -> Array:
    """Bateman factor I(t)/q: the fraction of taken-up toxin actively blocking at time t (0 before)."""
    t = np.asarray(t_days, dtype=float)
    k_i = np.log(2.0) / onset_days
    k_r = recovery_rate
    tp = np.maximum(t, 0.0)
    if abs(k_i - k_r) < 1e-9:
        f = k_i * tp * np.exp(-k_r * tp)
    else:
        f = k_i / (k_i - k_r) * (np.exp(-k_r * tp) - np.exp(-k_i * tp))
    return np.where(t > 0.0, f, 0.0)


def block_fraction(active: Array, params: DoseResponse) -> Array:
    """Fraction of nerve endings blocked for active toxin density ``active`` (U/mm³)."""
    x = np.maximum(np.asarray(active, dtype=float), 0.0) / params.ec50_u_per_mm3
    xn = x**params.hill
    return np.asarray(params.max_block * xn / (1.0 + xn), dtype=np.float64)


def bound_uptake(uptake: Array, capacity: float) -> Array:
    """Toxin bound by the nerve endings, :math:`q / (1 + q / q_{cap})` (U/mm³), for the uptake
    density ``uptake`` of one treatment (U/mm³) and the binding ``capacity`` (U/mm³)."""
    q = np.maximum(np.asarray(uptake, dtype=float), 0.0)
    return np.asarray(q / (1.0 + q / capacity), dtype=np.float64)
