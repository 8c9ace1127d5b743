"""Facial expressions as activation vectors over motor regions, and the resulting skin motion."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rhytid.tissue._basis import Basis, Segment
from rhytid.tissue._parameters import TissueParameters, tissue_parameters

__all__ = [
    "EXPRESSIONS",
    "activation_matrix",
    "brow_point",
    "frown_brow_displacement_mm",
]

Array = NDArray[np.float64]
EXPRESSIONS = ("rest", "frown", "raise_brows", "squint", "smile")


def activation_matrix(segments: tuple[Segment, ...], p: TissueParameters | None = None) -> Array:
    """``(len(EXPRESSIONS), n_segments)``: activation (0..1) of every segment in each expression.

    An expression lists the muscles it drives (``muscle``, or ``muscle.region`` for one motor
    region of it); the others keep their resting tone.
    """
    p = p or tissue_parameters()
    rest = p.expressions["rest"]
    out = np.zeros((len(EXPRESSIONS), len(segments)))
    for e, name in enumerate(EXPRESSIONS):
        levels = p.expressions[name]
        for j, seg in enumerate(segments):
            here = f"{seg.base}.{seg.name}"
            out[e, j] = levels.get(here, levels.get(seg.base, rest.get(here, rest.get(seg.base, 0.0))))
    return out


def brow_point(basis: Basis, side: str, x_from_midline: float, offset_mm: float = 0.0) -> tuple[float, float]:
    """A point on the brow centre line at ``x_from_midline`` mm (plus ``offset_mm`` up)."""
    lm = basis.face.landmarks
    sign = 1.0 if side == "l" else -1.0
    xs = np.array([lm[f"brow_{k}_{side}"][0] for k in ("medial", "peak", "lateral")]) * sign
    ys = np.array([lm[f"brow_{k}_{side}"][1] for k in ("medial", "peak", "lateral")])
    return sign * x_from_midline, float(np.interp(x_from_midline, xs, ys)) + offset_mm


def frown_brow_displacement_mm(basis: Basis, p: TissueParameters | None = None) -> float:
    """Skin displacement (mm) from rest to maximal frown at the Proebstle reference point.

    The point lies ``brow.reference_point_x_mm`` lateral to the midline at the upper brow
    margin; the value is averaged over both sides.
    """
    p = p or tissue_parameters()
    act = activation_matrix(basis.segments, p)
    delta = (act[EXPRESSIONS.index("frown")] - act[EXPRESSIONS.index("rest")])[basis.skin_rows]
    out = []
    for side in ("l", "r"):
        x, y = brow_point(basis, side, p.brow_reference_x_mm, p.brow_upper_margin_offset_mm)
        u = delta.astype(np.float32) @ basis.sample(x, y)[:, :2]
        out.append(float(np.hypot(u[0], u[1])))
    return float(np.mean(out))
