"""Plane geometry on point arrays: signed distance to polygons, smooth masks, ellipses.

All functions are vectorised over points (arrays of shape ``(..., 2)`` or separate ``x``/``y``
arrays) and loop only over polygon edges.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ellipse_polygon",
    "point_in_polygon",
    "quadrant_ellipse",
    "signed_distance",
    "smooth_mask",
]

Array = NDArray[np.float64]


def _segment_distance(x: Array, y: Array, a: Array, b: Array) -> Array:
    """Distance from points (x, y) to the segment a-b."""
    ab = b - a
    t = ((x - a[0]) * ab[0] + (y - a[1]) * ab[1]) / max(float(ab @ ab), 1e-300)
    t = np.clip(t, 0.0, 1.0)
    return np.asarray(np.hypot(x - (a[0] + t * ab[0]), y - (a[1] + t * ab[1])), dtype=np.float64)


def point_in_polygon(x: Array, y: Array, polygon: Array) -> NDArray[np.bool_]:
    """Even-odd rule: True where (x, y) lies inside the closed polygon (vertices ``(n, 2)``)."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    poly = np.asarray(polygon, dtype=float)
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    dy = np.where(y2 == y1, 1.0, y2 - y1)
    if x.size * len(poly) <= 200_000:  # few points: vectorise over points and edges at once
        px, py = x.reshape(-1, 1), y.reshape(-1, 1)
        crosses = (y1 > py) != (y2 > py)
        x_cross = x1 + (py - y1) * (x2 - x1) / dy
        inside = (np.count_nonzero(crosses & (px < x_cross), axis=1) % 2).astype(bool)
        return np.asarray(inside.reshape(x.shape), dtype=np.bool_)
    inside = np.zeros(x.shape, dtype=bool)
    for i in range(len(poly)):
        crosses = (y1[i] > y) != (y2[i] > y)
        inside ^= crosses & (x < x1[i] + (y - y1[i]) * (x2[i] - x1[i]) / dy[i])
    return inside


def signed_distance(x: Array, y: Array, polygon: Array) -> Array:
    """Signed distance (mm) to the polygon boundary: negative inside, positive outside."""
    polygon = np.asarray(polygon, dtype=float)
    d = np.full(np.broadcast(x, y).shape, np.inf)
    n = len(polygon)
    for i in range(n):
        d = np.minimum(d, _segment_distance(x, y, polygon[i], polygon[(i + 1) % n]))
    return np.where(point_in_polygon(x, y, polygon), -d, d)


def smooth_mask(x: Array, y: Array, polygon: Array, edge_mm: float) -> Array:
    """Indicator of the polygon smoothed across its edge: ½(1 − tanh(s/w)), s the signed distance.

    The mask is a smooth function of position, so it converges under raster refinement
    instead of staircasing.
    """
    return 0.5 * (1.0 - np.tanh(signed_distance(x, y, polygon) / edge_mm))


def ellipse_polygon(
    center: tuple[float, float], radii: tuple[float, float], angle_deg: float = 0.0, n: int = 96
) -> Array:
    """Vertices of an ellipse with semi-axes ``radii`` rotated by ``angle_deg``."""
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    ex, ey = radii[0] * np.cos(t), radii[1] * np.sin(t)
    return np.column_stack([center[0] + c * ex - s * ey, center[1] + s * ex + c * ey])


def quadrant_ellipse(
    center: tuple[float, float], semi: dict[str, float], lateral_sign: float, n: int
) -> Array:
    """Closed curve made of four quarter-ellipses with their own semi-axes.

    ``semi`` has keys lateral, medial, superior, inferior; ``lateral_sign`` is +1 when lateral is +x.
    """
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    cos_t, sin_t = np.cos(t), np.sin(t)
    ax = np.where(cos_t * lateral_sign >= 0, semi["lateral"], semi["medial"])
    ay = np.where(sin_t >= 0, semi["superior"], semi["inferior"])
    return np.column_stack([center[0] + ax * cos_t, center[1] + ay * sin_t])
