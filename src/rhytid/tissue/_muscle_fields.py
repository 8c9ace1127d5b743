"""Muscle fields on points: smooth region masks, motor-region weights, fibre directions,
nerve-ending (endplate) density and the active stress a unit activation exerts on the skin."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rhytid.anatomy import Muscle

__all__ = [
    "active_stress",
    "endplate_density",
    "fascia_tether_points",
    "fibre_direction",
    "muscle_mask",
    "origin_traction",
    "segment_weights",
]

Array = NDArray[np.float64]


def muscle_mask(m: Muscle, x: Array, y: Array, edge_mm: float) -> Array:
    """Smooth indicator of the muscle region (1 inside, 0 outside, tanh across the border)."""
    return 0.5 * (1.0 - np.tanh(m.signed_distance(x, y) / edge_mm))


def segment_weights(m: Muscle, x: Array, y: Array, softness_mm: float) -> Array:
    """Soft Voronoi partition of unity over the muscle's motor regions: ``(n_segments, *x.shape)``."""
    seeds = np.array(list(m.segments.values()))
    shape = (-1,) + (1,) * np.ndim(x)
    d = np.hypot(x[None] - seeds[:, 0].reshape(shape), y[None] - seeds[:, 1].reshape(shape))
    w = np.exp(-(d - d.min(axis=0)) / softness_mm)
    return np.asarray(w / w.sum(axis=0))


def fibre_direction(m: Muscle, x: Array, y: Array) -> tuple[Array, Array]:
    """Unit fibre direction (dx, dy) at the points."""
    if m.fibre == "contractile":
        a = np.radians(m.fibre_angle_deg)
        return np.full_like(x, np.cos(a)), np.full_like(x, np.sin(a))
    assert m.fibre_point is not None
    rx, ry = x - m.fibre_point[0], y - m.fibre_point[1]
    r = np.maximum(np.hypot(rx, ry), 1e-9)
    if m.fibre == "circumferential":
        return -ry / r, rx / r
    if m.fibre == "toward_origin":
        return -rx / r, -ry / r
    return np.zeros_like(x), np.zeros_like(x)


def endplate_density(m: Muscle, x: Array, y: Array, edge_mm: float) -> Array:
    """Relative density of nerve endings: the endplate ellipse (smoothed) within the muscle."""
    c, s = np.cos(np.radians(m.endplate_angle_deg)), np.sin(np.radians(m.endplate_angle_deg))
    dx, dy = x - m.endplate_center[0], y - m.endplate_center[1]
    u, v = c * dx + s * dy, -s * dx + c * dy
    ra, rb = m.endplate_radii
    rho = np.hypot(u / ra, v / rb)
    inside = 0.5 * (1.0 - np.tanh((rho - 1.0) * min(ra, rb) / edge_mm))
    return np.asarray(inside * muscle_mask(m, x, y, edge_mm), dtype=np.float64)


def fascia_tether_points(m: Muscle, spacing_mm: float) -> Array:
    """Lattice points ``(n, 2)`` where the muscle adheres to deep fascia (skin tethered there)."""
    if m.fascia_above_y_mm is None:
        return np.zeros((0, 2))
    lo = np.floor(m.outline.min(axis=0) / spacing_mm) - 1
    hi = np.ceil(m.outline.max(axis=0) / spacing_mm) + 1
    # a lattice at (k + 1/2) * spacing: mirror-symmetric about x = 0, like the face
    grid_x, grid_y = np.meshgrid(
        (np.arange(lo[0], hi[0]) + 0.5) * spacing_mm, (np.arange(lo[1], hi[1]) + 0.5) * spacing_mm
    )
    gx, gy = grid_x.ravel(), grid_y.ravel()
    inside = (m.signed_distance(gx, gy) < 0) & (gy >= m.fascia_above_y_mm)
    return np.column_stack([gx[inside], gy[inside]])


def origin_traction(m: Muscle, x: Array, y: Array, membrane_force_n_per_mm: float, weight: Array) -> Array:
    r"""Traction ``(2, *x.shape)`` (N/mm²) of a muscle pulling the skin toward its bony origin.

    The fibres insert into the dermis progressively toward the insertion end: the traction grows
    with the distance :math:`\rho` from the origin, :math:`f = F\,w\,(\rho/\rho_{max})\,d /
    (\ell/2)`, so that along a fibre of length :math:`\ell` the skin receives the muscle's force
    per width :math:`F`, and the reaction goes into bone.
    """
    assert m.fibre_point is not None
    ox, oy = m.fibre_point
    r_outline = np.hypot(m.outline[:, 0] - ox, m.outline[:, 1] - oy)
    length = float(r_outline.max() - r_outline.min())
    rho = np.clip((np.hypot(x - ox, y - oy) - r_outline.min()) / length, 0.0, 1.0)
    dx, dy = fibre_direction(m, x, y)
    s = membrane_force_n_per_mm * weight * rho / (0.5 * length)
    return np.stack([s * dx, s * dy])


def active_stress(m: Muscle, x: Array, y: Array, membrane_force_n_per_mm: float, weight: Array) -> Array:
    """Active membrane stress ``(3, *x.shape)`` (σxx, σyy, σxy in N/mm) along the fibres.

    ``weight`` is the muscle mask times the motor-region weight; a unit activation gives
    σ = F w d⊗d with F the muscle's force per unit width transmitted to the skin.
    """
    dx, dy = fibre_direction(m, x, y)
    s = membrane_force_n_per_mm * weight
    return np.stack([s * dx * dx, s * dy * dy, s * dx * dy])
