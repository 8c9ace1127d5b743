r"""Wrinkles: buckling of the skin (a stiff film, the dermis) on a soft substrate (the subcutis).

Where the compressive principal strain :math:`\varepsilon` of the skin exceeds the critical
strain of the film-on-substrate, the skin buckles (Chen–Hutchinson, thick substrate, plane
strain moduli :math:`\bar E = E/(1-\nu^2)`):

.. math::
    \lambda = 2\pi h\Bigl(\frac{\bar E_f}{3\bar E_s}\Bigr)^{1/3}, \qquad
    \varepsilon_c = \frac14\Bigl(\frac{3\bar E_s}{\bar E_f}\Bigr)^{2/3}, \qquad
    A = h\sqrt{\varepsilon/\varepsilon_c - 1}.

The skin rests pre-stretched by its in vivo tension :math:`\sigma_0`, so only compression beyond
the pre-strain :math:`\varepsilon_0 = \sigma_0/E_f` loads the film: :math:`\varepsilon =
\max(c - \varepsilon_0, 0)` for a compressive principal strain :math:`c` from the sheet model.
**What ``depth_um`` is.** The dynamic depth is the amplitude :math:`A` of the buckled dermis, mean
surface to trough, in micrometres (small-slope post-buckling). It is bounded by the fold's
geometry: a fold of wavelength :math:`\lambda` whose arc length took up the whole compression
would have :math:`A_{geo} = (\lambda/\pi)\sqrt{\varepsilon}`; with the Chen–Hutchinson
:math:`\lambda = \pi h/\sqrt{\varepsilon_c}` this is :math:`h\sqrt{\varepsilon/\varepsilon_c}`, so
:math:`A = h\sqrt{\varepsilon/\varepsilon_c - 1} < A_{geo}` always (the film also stores strain).
Lines run perpendicular to the compression.

**Static (etched) depth**, visible at rest, is a lasting indentation of the skin, also in
micrometres: it grows with the years of habitual compression, :math:`d_s = \gamma\,(age - a_0)_+\,
d_{habit}`, and eases while the fold stays relaxed: with the relaxation :math:`r(t)` of the fold (the
mean block of the muscles that fold the area) the eased share :math:`R` follows
:math:`\dot R = (r - R)/\tau` (:math:`\tau` of months, :func:`fold_relaxation`), and the etched
depth is :math:`d_s\,(1 - e_{max} R)`: it returns as folding returns, and a static line responds less
than a dynamic one (:math:`e_{max} < 1`, :math:`R \le r`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Buckling",
    "buckling",
    "compression",
    "compression_direction",
    "dynamic_depth_um",
    "fold_relaxation",
    "grade_from_depth",
    "static_depth_um",
]

Array = NDArray[np.floating]


@dataclass(frozen=True)
class Buckling:
    """Wavelength (mm) and critical compressive strain of a film on a thick substrate."""

    wavelength_mm: float
    critical_strain: float
    thickness_mm: float
    prestrain: float = 0.0


def buckling(
    thickness_mm: float,
    film_mpa: float,
    substrate_mpa: float,
    nu: float,
    prestress_mpa: float = 0.0,
) -> Buckling:
    """Chen–Hutchinson wavelength and critical strain, and the pre-strain σ0/E (module docstring)."""
    ratio = (film_mpa / (1 - nu**2)) / (3.0 * substrate_mpa / (1 - nu**2))
    return Buckling(
        wavelength_mm=float(2.0 * np.pi * thickness_mm * np.cbrt(ratio)),
        critical_strain=float(0.25 * ratio ** (-2.0 / 3.0)),
        thickness_mm=thickness_mm,
        prestrain=prestress_mpa / film_mpa,
    )


def compression(exx: Array, eyy: Array, exy: Array) -> Array:
    """Magnitude of the compressive principal strain (0 where both principal strains are ≥ 0)."""
    mean = 0.5 * (exx + eyy)
    radius = np.sqrt((0.5 * (exx - eyy)) ** 2 + exy**2)
    return np.asarray(np.maximum(radius - mean, 0.0))


def compression_direction(exx: Array, eyy: Array, exy: Array) -> Array:
    """Angle (radians from +x) of the most compressive principal direction."""
    return np.asarray(0.5 * np.arctan2(2.0 * exy, exx - eyy) + 0.5 * np.pi)


def dynamic_depth_um(compressive_strain: Array, b: Buckling) -> Array:
    """Post-buckling depth A (µm) of wrinkles under compressive strain (beyond the pre-strain)."""
    film_strain = np.maximum(np.asarray(compressive_strain) - b.prestrain, 0.0)
    excess = np.maximum(film_strain / b.critical_strain - 1.0, 0.0)
    return np.asarray(1000.0 * b.thickness_mm * np.sqrt(excess))


def static_depth_um(habitual_depth_um: Array, years: float, etch_per_year: float) -> Array:
    """Etched depth (µm) after ``years`` of habitual dynamic depth ``habitual_depth_um``."""
    return np.asarray(etch_per_year * max(years, 0.0) * np.asarray(habitual_depth_um))


def relaxation_steps(t: Array, tau_days: float) -> tuple[Array, Array]:
    """The steps :math:`h_k` (days) of the grid ``t`` and their decay :math:`e^{-h_k/\\tau}` in
    :func:`fold_relaxation`."""
    steps = np.array([float(t[k + 1] - t[k]) for k in range(len(t) - 1)])
    decay = np.array([np.exp(-h / tau_days) for h in steps])  # as the scalar np.exp of each step
    return steps, decay


def fold_relaxation(t: Array, relaxed: Array, tau_days: float) -> Array:
    r"""The eased share :math:`R` on the grid ``t`` (days, increasing) of :math:`\dot R = (r - R)/\tau`,
    :math:`R(t_0) = 0`, for the fold's relaxation ``relaxed`` (``(..., len(t))``, 0..1) taken as linear
    between grid days (exact): :math:`R_{k+1} = r_{k+1} - m\tau + (R_k - r_k + m\tau)\,e^{-h/\tau}`
    with the slope :math:`m = (r_{k+1} - r_k)/h`."""
    r = np.asarray(relaxed, dtype=np.float64)
    out = np.zeros_like(r)
    n = len(t) - 1
    if n < 1 or r.size == 0:
        return out
    steps, decay = relaxation_steps(t, tau_days)
    flat = out.reshape(-1, r.shape[-1])
    _relax(np.ascontiguousarray(r.reshape(-1, r.shape[-1])), steps, decay, float(tau_days), flat)
    return flat.reshape(r.shape)


@nb.njit(nogil=True, cache=True)
def relax_row(r, steps, decay, tau, out):  # type: ignore[no-untyped-def]
    """The recurrence of :func:`fold_relaxation` on one row ``r`` ``(T,)`` into ``out`` (``out[0]``
    = 0 first), the arithmetic of its numpy form (no contraction, the same order)."""
    for k in range(len(steps)):
        m = (r[k + 1] - r[k]) / steps[k]
        out[k + 1] = r[k + 1] - m * tau + (out[k] - r[k] + m * tau) * decay[k]


@nb.njit(nogil=True, cache=True)
def _relax(r, steps, decay, tau, out):  # type: ignore[no-untyped-def]
    for i in range(r.shape[0]):
        relax_row(r[i], steps, decay, tau, out[i])


def grade_from_depth(depth_um: Array, thresholds_um: tuple[float, float, float]) -> NDArray[np.intp]:
    """Facial Wrinkle Scale grade 0..3: the number of thresholds the depth reaches."""
    return np.searchsorted(np.asarray(thresholds_um), np.asarray(depth_um), side="right")
