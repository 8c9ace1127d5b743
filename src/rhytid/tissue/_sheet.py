r"""Skin as a linear elastic sheet on an elastic foundation, loaded by active muscle stress.

The skin (epidermis + dermis, thickness :math:`h`, modulus :math:`E`, Poisson ratio
:math:`\nu`) is a membrane in plane stress resting on the subcutis, a shear foundation of
stiffness :math:`k = G_s/H_s`. Contracting muscle adds an active membrane stress
:math:`\sigma^a` (N/mm) along its fibres. In-plane equilibrium of the total stress
:math:`N = h\,C:\varepsilon(u) + \sigma^a` against the foundation reads

.. math::  -\nabla\cdot\bigl(h\,C:\varepsilon(u)\bigr) + k\,u = \nabla\cdot\sigma^a,

with :math:`h\,C:\varepsilon = 2\mu h\,\varepsilon + \lambda^* h\,\mathrm{tr}\,\varepsilon\,I`
(plane-stress Lamé constants :math:`\mu = E/2(1+\nu)`, :math:`\lambda^* = E\nu/(1-\nu^2)`).
Where a muscle has a bony origin, the force of its origin end goes into bone: the load there is
removed (``anchor``).

The operator has constant coefficients, so it is diagonal in Fourier space. On a periodic box
padded well beyond the foundation decay lengths :math:`\ell_T = \sqrt{\mu h/k}`,
:math:`\ell_L = \sqrt{(\lambda^*+2\mu)h/k}`, the solution is, per wave vector
:math:`\mathbf{k}`,

.. math::
    \hat u = \frac{P_L \hat f}{(\lambda^*+2\mu)h|\mathbf k|^2 + k}
           + \frac{(I - P_L)\hat f}{\mu h|\mathbf k|^2 + k}, \qquad
    P_L = \frac{\mathbf k\mathbf k^T}{|\mathbf k|^2},

a direct spectral solve (no iteration, exact for the band-limited load). Units: mm, N/mm
(membrane stiffness), N/mm³ (foundation), strain dimensionless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from numpy.typing import NDArray

from rhytid.tissue._raster import Raster

__all__ = ["SheetMaterial", "solve_sheet"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class SheetMaterial:
    """Membrane and foundation stiffness of the skin sheet."""

    modulus_mpa: float
    poisson_ratio: float
    thickness_mm: float
    foundation_n_per_mm3: float

    @property
    def shear_n_per_mm(self) -> float:
        """μh, N/mm."""
        return self.modulus_mpa / (2.0 * (1.0 + self.poisson_ratio)) * self.thickness_mm

    @property
    def lambda_n_per_mm(self) -> float:
        """λ*h (plane stress), N/mm."""
        nu = self.poisson_ratio
        return self.modulus_mpa * nu / (1.0 - nu**2) * self.thickness_mm

    @property
    def decay_lengths_mm(self) -> tuple[float, float]:
        """(transverse, longitudinal) decay lengths ℓ_T, ℓ_L in mm."""
        k = self.foundation_n_per_mm3
        mu, lam = self.shear_n_per_mm, self.lambda_n_per_mm
        return float(np.sqrt(mu / k)), float(np.sqrt((lam + 2 * mu) / k))


def solve_sheet(
    active_stress: Array,
    raster: Raster,
    material: SheetMaterial,
    padding_mm: float,
    anchor: Array | None = None,
) -> Array:
    """Displacement and strain of the sheet under active membrane stress.

    Parameters
    ----------
    active_stress
        ``(..., 3, ny, nx)``: σxx, σyy, σxy of the active stress in N/mm on the raster. Leading
        axes are independent load cases, solved together.
    anchor
        Optional ``(..., ny, nx)`` in [0, 1]: the fraction of the load carried by bone there.

    Returns
    -------
    ``(..., 5, ny, nx)``: ux, uy (mm) and εxx, εyy, εxy (small strain).
    """
    stress = np.asarray(active_stress, dtype=float)
    lead = stress.shape[:-3]
    ny, nx = raster.ny, raster.nx
    pad = int(np.ceil(padding_mm / raster.spacing))
    nyp, nxp = sfft.next_fast_len(ny + 2 * pad), sfft.next_fast_len(nx + 2 * pad, real=True)
    window = (slice(pad, pad + ny), slice(pad, pad + nx))

    big = np.zeros((*lead, 3, nyp, nxp))
    big[(..., slice(None), *window)] = stress
    s_hat = sfft.rfft2(big, workers=-1)
    kx = 2.0 * np.pi * sfft.rfftfreq(nxp, raster.spacing)[None, :]
    ky = 2.0 * np.pi * sfft.fftfreq(nyp, raster.spacing)[:, None]
    fx = 1j * (kx * s_hat[..., 0, :, :] + ky * s_hat[..., 2, :, :])
    fy = 1j * (kx * s_hat[..., 2, :, :] + ky * s_hat[..., 1, :, :])
    if anchor is not None:
        keep = np.ones((*lead, nyp, nxp))
        keep[(..., *window)] = 1.0 - np.asarray(anchor, dtype=float)
        f = sfft.irfft2(np.stack([fx, fy], axis=-3), s=(nyp, nxp), workers=-1)
        f_hat = sfft.rfft2(f * keep[..., None, :, :], workers=-1)
        fx, fy = f_hat[..., 0, :, :], f_hat[..., 1, :, :]

    mu, lam, kf = material.shear_n_per_mm, material.lambda_n_per_mm, material.foundation_n_per_mm3
    k2 = kx**2 + ky**2
    a_t = 1.0 / (mu * k2 + kf)
    a_l = 1.0 / ((lam + 2.0 * mu) * k2 + kf)
    with np.errstate(invalid="ignore", divide="ignore"):
        proj = np.where(k2 > 0, (kx * fx + ky * fy) / k2, 0.0)
    ux = a_t * fx + (a_l - a_t) * kx * proj
    uy = a_t * fy + (a_l - a_t) * ky * proj
    out_hat = np.stack(
        [ux, uy, 1j * kx * ux, 1j * ky * uy, 0.5j * (kx * uy + ky * ux)], axis=-3
    )
    out = sfft.irfft2(out_hat, s=(nyp, nxp), workers=-1)
    return np.ascontiguousarray(out[(..., slice(None), *window)])
