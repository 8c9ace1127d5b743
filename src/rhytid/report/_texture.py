"""Wrinkles drawn as the model predicts them: a line texture across the compression.

The skin buckles where it is compressed; the furrows run perpendicular to the most compressive
principal direction θ, with the buckling wavelength λ between them and the depth A. With
``s = x cos θ + y sin θ`` the coordinate along the compression, the drawn intensity is

    I(x, y) = A · ½ (1 + cos(2π s / λ)),

so that I is constant along the furrows and alternates A, 0, A, … every λ across them (a
``sharpness`` exponent narrows the furrows for display without moving them). Where
λ is not defined (no skin model, λ ≤ 0) the depth is drawn flat.

θ is a direction without a sense (θ and θ + π are the same compression); numerical noise in θ
where the compression is weak would break the lines up, so :func:`smooth_orientation` averages
the doubled angle (cos 2θ, sin 2θ), weighted by depth, over a small neighbourhood first.

The phase s is measured from an origin. Where θ turns, the level sets of s bend by about
(distance from the origin) × (change of θ), so a far origin draws spurious arcs (60 mm from the
nasion at the crow's feet, a 20° turn of θ shifts the lines by a whole wavelength).
:func:`anchored_texture` therefore measures s from the nearest of a few anchors (the centres of
the treatment areas), blending between them over a narrow seam.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import gaussian_filter

__all__ = ["anchored_texture", "smooth_orientation", "wrinkle_texture"]

Array = NDArray[np.float64]


def wrinkle_texture(
    depth_um: ArrayLike,
    compression_angle: ArrayLike,
    wavelength_mm: ArrayLike,
    x_mm: ArrayLike,
    y_mm: ArrayLike,
    sharpness: float = 1.0,
) -> Array:
    """Intensity (µm) of the wrinkle line texture at points (x, y) — module docstring.

    All arguments broadcast together: depth A (µm), compression angle θ (radians from +x),
    wavelength λ (mm) and the coordinates (mm). ``sharpness`` p ≥ 1 raises the profile to the
    power p, ``A · (½ (1 + cos(2π s / λ)))^p``: same crests and spacing, narrower furrows.
    """
    depth = np.asarray(depth_um, dtype=float)
    theta = np.asarray(compression_angle, dtype=float)
    lam = np.asarray(wavelength_mm, dtype=float)
    s = np.asarray(x_mm, dtype=float) * np.cos(theta) + np.asarray(y_mm, dtype=float) * np.sin(theta)
    k = np.divide(2.0 * np.pi, lam, out=np.zeros(np.broadcast(s, lam).shape), where=lam > 0)
    return np.asarray(depth * (0.5 * (1.0 + np.cos(k * s))) ** sharpness, dtype=float)


def smooth_orientation(angle: ArrayLike, weight: ArrayLike, sigma_cells: float) -> Array:
    """The compression angle averaged as an orientation (doubled angle), weighted by ``weight``,
    with a Gaussian of ``sigma_cells`` raster cells; result in [0, π)."""
    theta = np.asarray(angle, dtype=float)
    w = np.asarray(weight, dtype=float)
    c = gaussian_filter(w * np.cos(2.0 * theta), sigma_cells, mode="nearest")
    s = gaussian_filter(w * np.sin(2.0 * theta), sigma_cells, mode="nearest")
    smoothed = np.where(np.hypot(c, s) > 0, 0.5 * np.arctan2(s, c), theta)
    return np.asarray(np.mod(smoothed, np.pi), dtype=float)


def anchored_texture(
    depth_um: Array,
    compression_angle: Array,
    wavelength_mm: Array,
    x_mm: Array,
    y_mm: Array,
    anchors: Array,
    seam_mm: float,
    sharpness: float = 1.0,
) -> Array:
    """:func:`wrinkle_texture` with the phase measured from the nearest anchor (``(n, 2)``, mm).

    Textures of neighbouring anchors are blended with weights exp(−(dᵢ − d_min)/``seam_mm``),
    dᵢ being the distance to anchor i, so that they meet over a seam a few ``seam_mm`` wide.
    """
    pts = np.asarray(anchors, dtype=float).reshape(-1, 2)
    dist = np.stack([np.hypot(x_mm - ax, y_mm - ay) for ax, ay in pts])
    w = np.exp(-(dist - dist.min(axis=0)) / seam_mm)
    out = np.zeros(np.shape(depth_um))
    for (ax, ay), wi in zip(pts, w, strict=True):
        out += wi * wrinkle_texture(
            depth_um, compression_angle, wavelength_mm, x_mm - ax, y_mm - ay, sharpness
        )
    return np.asarray(out / w.sum(axis=0), dtype=float)
