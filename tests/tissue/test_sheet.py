"""The spectral sheet solver: agreement with an independent finite-element solution
(scikit-fem, bilinear quads), symmetry, superposition, decay, and the measured frown motion."""

from __future__ import annotations

import numpy as np
import pytest
from skfem import Basis as FEBasis
from skfem import BilinearForm, ElementQuad1, ElementVector, LinearForm, MeshQuad, asm, condense, solve
from skfem.helpers import ddot, dot, sym_grad, trace

from rhytid.tissue import (
    Basis,
    Raster,
    SheetMaterial,
    Tethers,
    frown_brow_displacement_mm,
    solve_sheet,
    tissue_parameters,
)

# A test material with short decay lengths so a modest FE domain is effectively unbounded.
MATERIAL = SheetMaterial(modulus_mpa=0.13, poisson_ratio=0.5, thickness_mm=1.0, foundation_n_per_mm3=8e-3)
HALF = 30.0
SPACING = 0.5
WIDTH = 5.0
DIRECTION = np.array([np.cos(np.radians(30)), np.sin(np.radians(30))])


def _active_stress(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """σ = s d⊗d with a smooth bump s (N/mm) off-centre, fibres at 30°."""
    s = 0.02 * np.exp(-((x - 3.0) ** 2 + (y + 2.0) ** 2) / (2 * WIDTH**2))
    d = DIRECTION
    return np.stack([s * d[0] ** 2, s * d[1] ** 2, s * d[0] * d[1]])


def _fe_solution(extra_foundation=None) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Nodal ux, uy of the same problem by FE (Dirichlet far field), nodes at raster centres."""
    n = round(2 * HALF / SPACING)
    nodes = -HALF + (np.arange(n) + 0.5) * SPACING
    mesh = MeshQuad.init_tensor(nodes, nodes)
    basis = FEBasis(mesh, ElementVector(ElementQuad1()), intorder=3)
    mu, lam, kf = MATERIAL.shear_n_per_mm, MATERIAL.lambda_n_per_mm, MATERIAL.foundation_n_per_mm3

    @BilinearForm
    def stiffness(u, v, w):  # type: ignore[no-untyped-def]
        eu, ev = sym_grad(u), sym_grad(v)
        k = kf if extra_foundation is None else kf + extra_foundation(w.x[0], w.x[1])
        return 2 * mu * ddot(eu, ev) + lam * trace(eu) * trace(ev) + k * dot(u, v)

    @LinearForm
    def load(v, w):  # type: ignore[no-untyped-def]
        sxx, syy, sxy = _active_stress(w.x[0], w.x[1])
        ev = sym_grad(v)
        return -(sxx * ev[0, 0] + syy * ev[1, 1] + 2 * sxy * ev[0, 1])

    k, f = asm(stiffness, basis), asm(load, basis)
    u = solve(*condense(k, f, D=basis.get_dofs()))
    ux, uy = u[basis.nodal_dofs[0]], u[basis.nodal_dofs[1]]
    order = np.lexsort((mesh.p[0], mesh.p[1]))  # rows by y, then x: raster layout
    return ux[order].reshape(n, n), uy[order].reshape(n, n)


@pytest.fixture(scope="module")
def both() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raster = Raster.over(((-HALF, -HALF), (HALF, HALF)), SPACING)
    x, y = raster.grid()
    spectral = solve_sheet(_active_stress(x, y), raster, MATERIAL, padding_mm=40.0)
    ux, uy = _fe_solution()
    return spectral, ux, uy


def test_agrees_with_finite_elements_in_displacement(both: tuple[np.ndarray, ...]) -> None:
    spectral, ux, uy = both
    fe = np.stack([ux, uy])
    err = np.linalg.norm(spectral[:2] - fe) / np.linalg.norm(fe)
    assert err < 0.02


def test_agrees_with_finite_elements_in_strain(both: tuple[np.ndarray, ...]) -> None:
    spectral, ux, uy = both
    exx = np.gradient(ux, SPACING, axis=1)
    eyy = np.gradient(uy, SPACING, axis=0)
    exy = 0.5 * (np.gradient(ux, SPACING, axis=0) + np.gradient(uy, SPACING, axis=1))
    fe = np.stack([exx, eyy, exy])
    err = np.linalg.norm(spectral[2:] - fe) / np.linalg.norm(fe)
    assert err < 0.03


def test_contracting_region_shortens_along_its_fibres() -> None:
    raster = Raster.over(((-HALF, -HALF), (HALF, HALF)), SPACING)
    x, y = raster.grid()
    out = solve_sheet(_active_stress(x, y), raster, MATERIAL, padding_mm=40.0)
    d = DIRECTION
    e_dd = out[2] * d[0] ** 2 + out[3] * d[1] ** 2 + 2 * out[4] * d[0] * d[1]
    j, i = np.unravel_index(np.argmin(np.hypot(x - 3.0, y + 2.0)), x.shape)
    assert e_dd[j, i] < 0


def test_superposition_and_zero_load() -> None:
    raster = Raster.over(((-20.0, -20.0), (20.0, 20.0)), 1.0)
    x, y = raster.grid()
    a = _active_stress(x, y)
    b = np.roll(a, 7, axis=-1) * 0.5
    both = solve_sheet(np.stack([a, b, a + b]), raster, MATERIAL, padding_mm=30.0)
    tol = 1e-5 * np.abs(both).max()  # single-precision FFTs
    assert np.allclose(both[2], both[0] + both[1], atol=tol)
    zero = solve_sheet(np.zeros((3, raster.ny, raster.nx)), raster, MATERIAL, padding_mm=30.0)
    assert np.all(zero == 0)


def test_mirror_symmetric_load_gives_mirror_symmetric_response() -> None:
    raster = Raster.over(((-20.0, -20.0), (20.0, 20.0)), 0.5)
    x, y = raster.grid()
    s = np.exp(-((np.abs(x) - 8.0) ** 2 + y**2) / 18.0) * 0.01
    stress = np.stack([s, 0.2 * s, np.sign(x) * 0.1 * s])  # σxy odd in x: a mirrored fibre field
    out = solve_sheet(stress, raster, MATERIAL, padding_mm=30.0)
    tol = 1e-5 * np.abs(out).max()  # single-precision FFTs
    assert np.allclose(out[0], -out[0][:, ::-1], atol=tol)  # ux odd
    assert np.allclose(out[1], out[1][:, ::-1], atol=tol)  # uy even


def test_response_decays_away_from_the_load() -> None:
    raster = Raster.over(((-60.0, -60.0), (60.0, 60.0)), 1.0)
    x, y = raster.grid()
    out = solve_sheet(_active_stress(x, y), raster, MATERIAL, padding_mm=40.0)
    u = np.hypot(out[0], out[1])
    r = np.hypot(x - 3.0, y + 2.0)
    near, far = u[(r > 8) & (r < 12)].max(), u[r > 45].max()
    _, ell_l = MATERIAL.decay_lengths_mm
    assert far < near * np.exp(-25.0 / ell_l)


def test_reference_frown_moves_the_brow_as_measured(basis: Basis) -> None:
    """Proebstle 2014: a maximal frown moves the skin 5.4 mm at 30 mm from the midline."""
    target = tissue_parameters().frown_displacement_mm
    assert frown_brow_displacement_mm(basis) == pytest.approx(target, rel=0.02)


def test_tethers_agree_with_finite_elements_on_a_locally_stiff_foundation() -> None:
    """Point springs solved by the capacitance method agree with FE in which the same springs are
    smeared into a locally stiffer foundation k(x) = k + Σ K_i φ_i(x) (φ_i their Gaussian
    footprints): an independent discretisation of the same tethered sheet."""
    spacing_t, width_t, k_area = 1.5, 1.5, 0.02
    g = (np.arange(-6, 6) + 0.5) * spacing_t
    tx, ty = np.meshgrid(g + 8.0, g - 6.0)
    pts = np.column_stack([tx.ravel(), ty.ravel()])
    pts = pts[np.hypot(pts[:, 0] - 8.0, pts[:, 1] + 6.0) < 6.0]
    stiffness = np.full(len(pts), k_area * spacing_t**2)
    sigma = width_t / 2.0

    def extra_foundation(xq: np.ndarray, yq: np.ndarray) -> np.ndarray:
        out = np.zeros_like(xq)
        for (px, py), k in zip(pts, stiffness, strict=True):
            out += k * np.exp(-((xq - px) ** 2 + (yq - py) ** 2) / (2 * sigma**2)) / (2 * np.pi * sigma**2)
        return out

    raster = Raster.over(((-HALF, -HALF), (HALF, HALF)), SPACING)
    x, y = raster.grid()
    tethered = solve_sheet(
        _active_stress(x, y), raster, MATERIAL, padding_mm=40.0, tethers=Tethers(pts, stiffness, width_t)
    )
    ux, uy = _fe_solution(extra_foundation)
    fe = np.stack([ux, uy])
    err = np.linalg.norm(tethered[:2] - fe) / np.linalg.norm(fe)
    free = solve_sheet(_active_stress(x, y), raster, MATERIAL, padding_mm=40.0)
    assert np.linalg.norm(free[:2] - fe) / np.linalg.norm(fe) > 5 * err  # the tethers matter
    assert err < 0.03
