r"""Toxin spread: where the toxin of one injection is taken up.

The injected bolus of volume :math:`V` fills the interstitial space of a ball of tissue,
radius :math:`a = (3V / 4\pi\phi)^{1/3}` (:math:`\phi` the interstitial volume fraction). From
there toxin spreads, binds to nerve endings and is cleared: steady diffusion–binding–clearance,

.. math::  D\nabla^2 c - k c = -s, \qquad L = \sqrt{D/k},

a screened-Poisson problem whose Green's function decays as :math:`e^{-R/L}/R`. For a uniform
ball source the solution is closed-form; normalised so that the uptake density :math:`q = k c`
integrates to the injected units :math:`U` over all tissue,

.. math::
    q(R) = \frac{3U}{4\pi a^3}\Bigl[1 - (1+\kappa a)e^{-\kappa a}\frac{\sinh\kappa R}{\kappa R}\Bigr]
    \quad (R < a), \qquad
    q(R) = \frac{3U}{4\pi a^3\kappa}\bigl[\kappa a\cosh\kappa a - \sinh\kappa a\bigr]
    \frac{e^{-\kappa R}}{R} \quad (R \ge a),

with :math:`\kappa = 1/L`, and :math:`R` the 3-D distance from the injection (in-plane distance
and the depth difference between the injection and the muscle). The field of effect grows with the
volume through :math:`a`. The orbital septum is a barrier of low permeability: uptake behind it
(the levator palpebrae) is multiplied by the septum transmission.

Units: mm, mL (1 mL = 1000 mm³), U (ona-equivalent), q in U/mm³.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rhytid._data import value

__all__ = [
    "SpreadParameters",
    "bolus_radius_mm",
    "load_spread_parameters",
    "spread_parameters",
    "uptake_density",
]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class SpreadParameters:
    interstitial_fraction: float
    length_mm: float
    septum_transmission: float
    #: depth (mm) toxin is deposited at for each non-intramuscular layer and ``no_muscle_below``
    injection_depth_mm: dict[str, float]

    def transmission(self, behind_septum: NDArray[np.bool_]) -> Array:
        """Share of the uptake that reaches each point: ``septum_transmission`` behind the orbital
        septum, 1 elsewhere."""
        return np.where(behind_septum, self.septum_transmission, 1.0)

    def bolus_radius_mm(self, volume_ml: Array) -> Array:
        """Radius (mm) of the tissue ball that holds each bolus (:func:`bolus_radius_mm`)."""
        return np.asarray(bolus_radius_mm(volume_ml, self.interstitial_fraction))


def load_spread_parameters(lookup: Callable[..., Any] = value) -> SpreadParameters:
    """The spread parameters, each read as ``lookup("toxins.yaml", "spread", ...)``."""
    layers = ("subcutaneous", "intradermal", "no_muscle_below")
    return SpreadParameters(
        interstitial_fraction=float(lookup("toxins.yaml", "spread", "interstitial_fraction")),
        length_mm=float(lookup("toxins.yaml", "spread", "length_mm")),
        septum_transmission=float(lookup("toxins.yaml", "spread", "septum_transmission")),
        injection_depth_mm={
            k: float(lookup("toxins.yaml", "spread", "injection_depth_mm", k)) for k in layers
        },
    )


def spread_parameters() -> SpreadParameters:
    """The spread part of the default :class:`rhytid.Parameters`."""
    from rhytid._parameters import default_parameters

    return default_parameters().spread


def bolus_radius_mm(volume_ml: float | Array, interstitial_fraction: float) -> float | Array:
    """Radius (mm) of the tissue ball whose interstitial space holds the bolus."""
    return np.cbrt(3.0 * np.asarray(volume_ml) * 1000.0 / (4.0 * np.pi * interstitial_fraction))


def uptake_density(distance_mm: Array, units: float, bolus_radius: float | Array, length_mm: float) -> Array:
    """Uptake density q (U/mm³) at 3-D distance ``distance_mm`` from one injection (see module)."""
    kappa = 1.0 / length_mm
    ka = kappa * bolus_radius
    r = np.maximum(np.asarray(distance_mm, dtype=float), 1e-9)
    a = np.asarray(bolus_radius, dtype=float)  # a scalar, or one radius per row of r
    pref = 3.0 * units / (4.0 * np.pi * a**3)
    shell = ka * np.cosh(ka) - np.sinh(ka)
    out = np.asarray(np.broadcast_to((pref / kappa * shell), r.shape) * (np.exp(-kappa * r) / r))
    inner = r < a
    if np.any(inner):
        kr = kappa * r[inner]
        ka_in = np.broadcast_to(ka, r.shape)[inner]
        # inside: sinh(kr)/kr (kr < ka here, ka is moderate)
        inside = 1.0 - (1.0 + ka_in) * np.exp(-ka_in) * np.sinh(kr) / kr
        out[inner] = np.broadcast_to(pref, r.shape)[inner] * inside
    return out
