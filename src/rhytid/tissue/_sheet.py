r"""Skin as a linear elastic sheet on an elastic foundation, loaded by active muscle stress.

The skin (epidermis + dermis, thickness :math:`h`, modulus :math:`E`, Poisson ratio
:math:`\nu`) is a membrane in plane stress resting on the subcutis, a shear foundation of
stiffness :math:`k = G_s/H_s`. Contracting muscle adds an active membrane stress
:math:`\sigma^a` (N/mm) along its fibres. In-plane equilibrium of the total stress
:math:`N = h\,C:\varepsilon(u) + \sigma^a` against the foundation reads

.. math::  -\nabla\cdot\bigl(h\,C:\varepsilon(u)\bigr) + k\,u = \nabla\cdot\sigma^a,

with :math:`h\,C:\varepsilon = 2\mu h\,\varepsilon + \lambda^* h\,\mathrm{tr}\,\varepsilon\,I`
(plane-stress Lamé constants :math:`\mu = E/2(1+\nu)`, :math:`\lambda^* = E\nu/(1-\nu^2)`).
Where a muscle arises from bone, or adheres to deep fascia, the skin is tethered there: point
springs of stiffness :math:`K_i` at tether points :math:`p_i` add forces :math:`-K_i u(p_i)`.
Because the untethered operator is translation invariant, tethers are solved exactly with its
Green's function :math:`G` (a capacitance system): :math:`(I + G K)\,u_t = u_0(p)`, then
:math:`u = u_0 + G * (-K u_t)`. Point forces are Gaussian bumps of fixed width, so the result
converges under raster refinement.

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
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.typing import NDArray

from rhytid.tissue._raster import Raster

__all__ = ["SheetMaterial", "SheetSolver", "Tethers", "solve_sheet"]

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


@dataclass(frozen=True)
class Tethers:
    """Point springs tying the skin to bone or fascia: positions (mm), stiffness (N/mm)."""

    points: Array
    stiffness: Array
    width_mm: float = 1.0


class SheetSolver:
    """Spectral solver of the sheet on its foundation over one raster (see module docstring)."""

    def __init__(
        self,
        raster: Raster,
        material: SheetMaterial,
        padding_mm: float,
        tethers: Tethers | None = None,
    ) -> None:
        self.raster = raster
        self.material = material
        ny, nx = raster.ny, raster.nx
        pad = int(np.ceil(padding_mm / raster.spacing))
        self.shape = (sfft.next_fast_len(ny + 2 * pad), sfft.next_fast_len(nx + 2 * pad, real=True))
        self.window = (slice(pad, pad + ny), slice(pad, pad + nx))
        nyp, nxp = self.shape
        self.kx = (2.0 * np.pi * sfft.rfftfreq(nxp, raster.spacing)[None, :]).astype(np.float32)
        self.ky = (2.0 * np.pi * sfft.fftfreq(nyp, raster.spacing)[:, None]).astype(np.float32)
        mu, lam = material.shear_n_per_mm, material.lambda_n_per_mm
        kf = material.foundation_n_per_mm3
        k2 = self.kx**2 + self.ky**2
        self.a_t = (1.0 / (mu * k2 + kf)).astype(np.float32)
        self.a_l = (1.0 / ((lam + 2.0 * mu) * k2 + kf)).astype(np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.inv_k2 = np.where(k2 > 0, 1.0 / k2, 0.0).astype(np.float32)
        self.tethers = tethers
        if tethers is not None and len(tethers.points):
            self._deposit = self._gaussian_deposit(tethers)
            self._capacitance = self._capacitance_lu(tethers)

    # -- the constant-coefficient solve ------------------------------------------------------

    def _embed(self, field: Array) -> Array:
        lead = field.shape[:-2]
        big = np.zeros((*lead, *self.shape), dtype=np.float32)
        big[(..., *self.window)] = field
        return big

    def _displacement_hat(self, fx: Array, fy: Array) -> tuple[Array, Array]:
        kx, ky = self.kx, self.ky
        proj = (kx * fx + ky * fy) * self.inv_k2
        ux = self.a_t * fx + (self.a_l - self.a_t) * kx * proj
        uy = self.a_t * fy + (self.a_l - self.a_t) * ky * proj
        return ux, uy

    def _crop(self, field_hat: Array) -> Array:
        out = sfft.irfft2(field_hat, s=self.shape, workers=-1)
        return np.asarray(out[(..., slice(None), *self.window)])

    def _load_hat(
        self, active_stress: Array | None, body_force: Array | None, lead: tuple[int, ...]
    ) -> tuple[Array, Array]:
        nyp, nxp = self.shape
        fx = np.zeros((*lead, nyp, nxp // 2 + 1), dtype=np.complex64)
        fy = np.zeros_like(fx)
        if active_stress is not None:
            s_hat = sfft.rfft2(self._embed(np.asarray(active_stress)), workers=-1)
            fx += 1j * (self.kx * s_hat[..., 0, :, :] + self.ky * s_hat[..., 2, :, :])
            fy += 1j * (self.kx * s_hat[..., 2, :, :] + self.ky * s_hat[..., 1, :, :])
        if body_force is not None:
            b_hat = sfft.rfft2(self._embed(np.asarray(body_force)), workers=-1)
            fx += b_hat[..., 0, :, :]
            fy += b_hat[..., 1, :, :]
        return fx, fy

    # -- tethers -----------------------------------------------------------------------------

    def _gaussian_deposit(self, tethers: Tethers) -> sp.csr_matrix:
        """Sparse ``(n_cells, M)``: unit-integral Gaussian bump of each tether on the raster."""
        r = self.raster
        sigma = tethers.width_mm / 2.0
        reach = int(np.ceil(3.0 * sigma / r.spacing)) + 1
        offs = np.arange(-reach, reach + 1)
        rows, cols, vals = [], [], []
        for m, (px, py) in enumerate(tethers.points):
            i0 = int(np.floor((px - r.x0) / r.spacing))
            j0 = int(np.floor((py - r.y0) / r.spacing))
            ii, jj = np.meshgrid(i0 + offs, j0 + offs)
            ok = (ii >= 0) & (ii < r.nx) & (jj >= 0) & (jj < r.ny)
            ii, jj = ii[ok], jj[ok]
            cx, cy = r.x0 + (ii + 0.5) * r.spacing, r.y0 + (jj + 0.5) * r.spacing
            w = np.exp(-((cx - px) ** 2 + (cy - py) ** 2) / (2 * sigma**2))
            rows.append(jj * r.nx + ii)
            cols.append(np.full(len(w), m))
            vals.append(w / (w.sum() * r.spacing**2))
        return sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(r.nx * r.ny, len(tethers.points)),
        )

    def _capacitance_lu(self, tethers: Tethers) -> tuple[Array, Array]:
        """LU of I + G K, G the Gaussian-averaged Green's function between tether points."""
        nyp, nxp = self.shape
        h = self.raster.spacing
        sigma = tethers.width_mm / 2.0
        smooth = np.exp(-(self.kx**2 + self.ky**2) * sigma**2)  # two Gaussian bumps
        kernels = []
        for fx, fy in ((smooth, 0 * smooth), (0 * smooth, smooth)):
            ux, uy = self._displacement_hat(fx, fy)
            kernels.append(sfft.irfft2(np.stack([ux, uy]), s=self.shape, workers=-1) / h**2)
        p = tethers.points
        dx = (p[:, None, 0] - p[None, :, 0]) / h
        dy = (p[:, None, 1] - p[None, :, 1]) / h
        i0, j0 = np.floor(dx).astype(int), np.floor(dy).astype(int)
        tx, ty = dx - i0, dy - j0
        m = len(p)
        g = np.zeros((2 * m, 2 * m))
        for src, kernel in enumerate(kernels):
            for comp in range(2):
                k = kernel[comp]
                val = (
                    k[j0 % nyp, i0 % nxp] * (1 - tx) * (1 - ty)
                    + k[j0 % nyp, (i0 + 1) % nxp] * tx * (1 - ty)
                    + k[(j0 + 1) % nyp, i0 % nxp] * (1 - tx) * ty
                    + k[(j0 + 1) % nyp, (i0 + 1) % nxp] * tx * ty
                )
                g[comp * m : (comp + 1) * m, src * m : (src + 1) * m] = val
        stiffness = np.concatenate([tethers.stiffness, tethers.stiffness])
        lu: tuple[Array, Array] = sla.lu_factor(np.eye(2 * m) + g * stiffness[None, :])
        return lu

    def solve(self, active_stress: Array | None = None, body_force: Array | None = None) -> Array:
        """``(..., 5, ny, nx)`` ux, uy, εxx, εyy, εxy for active stress ``(..., 3, ny, nx)``
        (N/mm) and/or body force ``(..., 2, ny, nx)`` (N/mm²)."""
        ref = active_stress if active_stress is not None else body_force
        assert ref is not None
        lead = np.shape(ref)[:-3]
        fx, fy = self._load_hat(active_stress, body_force, lead)
        if self.tethers is not None and len(self.tethers.points):
            fx, fy = self._add_tether_forces(fx, fy, lead)
        ux, uy = self._displacement_hat(fx, fy)
        kx, ky = self.kx, self.ky
        out_hat = np.stack([ux, uy, 1j * kx * ux, 1j * ky * uy, 0.5j * (kx * uy + ky * ux)], axis=-3)
        return np.ascontiguousarray(self._crop(out_hat), dtype=np.float64)

    def _add_tether_forces(self, fx: Array, fy: Array, lead: tuple[int, ...]) -> tuple[Array, Array]:
        """Solve the capacitance system and add the tether forces to the load (Fourier space)."""
        assert self.tethers is not None
        r = self.raster
        m = len(self.tethers.points)
        u_free = self._crop(np.stack(self._displacement_hat(fx, fy), axis=-3))
        u_cells = u_free.reshape(-1, r.ny * r.nx).astype(np.float64)
        u_t = np.asarray(self._deposit.T @ u_cells.T).T * r.spacing**2  # Gaussian-averaged
        rhs = u_t.reshape(-1, 2 * m).T
        u_tethered = sla.lu_solve(self._capacitance, rhs).T.reshape(-1, m)
        forces = -u_tethered * self.tethers.stiffness
        force_field = np.asarray(self._deposit @ forces.T).T.reshape(*lead, 2, r.ny, r.nx)
        f_hat = sfft.rfft2(self._embed(force_field), workers=-1)
        return fx + f_hat[..., 0, :, :], fy + f_hat[..., 1, :, :]


def solve_sheet(
    active_stress: Array,
    raster: Raster,
    material: SheetMaterial,
    padding_mm: float,
    tethers: Tethers | None = None,
    body_force: Array | None = None,
) -> Array:
    """Displacement and strain of the sheet under active membrane stress (one-off solve).

    ``active_stress`` is ``(..., 3, ny, nx)``: σxx, σyy, σxy in N/mm on the raster; leading axes
    are independent load cases. Returns ``(..., 5, ny, nx)``: ux, uy (mm), εxx, εyy, εxy.
    """
    return SheetSolver(raster, material, padding_mm, tethers).solve(active_stress, body_force)
