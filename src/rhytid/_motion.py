r"""How the skin moves: the displacement from rest to an expression (``rhytid motion``).

The sheet is linear, so the displacement from rest to an expression ``e`` is the superposition
of the unit fields :math:`U_s` of the skin-loading motor regions weighted by the change of their
effective activation,

.. math::  u(x) = \sum_s \bigl(a^{\mathrm{eff}}_{e,s} - a^{\mathrm{eff}}_{rest,s}\bigr)\,U_s(x),
           \qquad a^{\mathrm{eff}} = \text{strength}\times a\,(1 - b_s),

with the same kernels as :func:`rhytid.simulate` (:func:`rhytid.model.effective_activation`,
block :math:`b_s` of each region on the plan's day, none without a plan). This is what the
motion anchors are checked against (``evidence/motion.md``): brow excursion on maximal raising,
the forehead's line of convergence (C-line) where the lower skin moving up meets the upper skin
moving down, forehead shortening, the frown's brow displacement, the smile's cheek lift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rhytid._parameters import Parameters, default_parameters
from rhytid._plan import Patient, Plan
from rhytid.anatomy import Face, reference_face
from rhytid.errors import PatientError, PlanError
from rhytid.model import (
    REST,
    _patient_scales,
    block_state,
    effective_activation,
    face_engine,
    tone_factor,
)
from rhytid.tissue import EXPRESSIONS, Basis

__all__ = ["Motion", "Profile", "motion"]

Array = NDArray[np.float64]
PROFILE_POINTS = 25
_GRID_STEP_MM = 4.0


@dataclass(frozen=True)
class Profile:
    """A vertical profile from the brow peak's height to the trichion at ``x_mm``."""

    x_mm: float
    y_mm: Array
    height_fraction: Array
    dx_mm: Array
    dy_mm: Array

    @property
    def c_line_fraction(self) -> float | None:
        """Height fraction where the vertical motion turns from up (below) to down (above),
        linearly interpolated; ``None`` when the skin moves one way along the whole profile."""
        dy = self.dy_mm
        for i in range(len(dy) - 1):
            if dy[i] > 0 >= dy[i + 1]:
                f0, f1 = self.height_fraction[i], self.height_fraction[i + 1]
                return float(f0 + (f1 - f0) * dy[i] / (dy[i] - dy[i + 1]))
        return None

    @property
    def shortening_mm(self) -> float:
        """How much the profile's length shrinks (mm): bottom displacement minus top displacement."""
        return float(self.dy_mm[0] - self.dy_mm[-1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "x_mm": round(self.x_mm, 2),
            "c_line_height_fraction": None
            if self.c_line_fraction is None
            else round(self.c_line_fraction, 3),
            "shortening_mm": round(self.shortening_mm, 3),
            "points": [
                {
                    "y_mm": round(float(y), 2),
                    "height_fraction": round(float(f), 3),
                    "dx_mm": round(float(dx), 3),
                    "dy_mm": round(float(dy), 3),
                }
                for y, f, dx, dy in zip(self.y_mm, self.height_fraction, self.dx_mm, self.dy_mm, strict=True)
            ],
        }


@dataclass(frozen=True)
class Motion:
    """Skin displacement (mm, x toward the patient's left, y up) from rest to ``expression``."""

    expression: str
    sex: str
    day: float | None
    face: Face
    landmarks: dict[str, tuple[float, float]]
    profiles: list[Profile]
    grid_xy: Array  # (n, 2) points of a coarse lattice over the face window
    grid_u: Array  # (n, 2) displacement there
    delta: NDArray[np.float32]  # (n_skin,) change of effective activation, rest -> expression
    basis: Basis

    def at(self, x: float, y: float) -> tuple[float, float]:
        """Displacement (mm) at a point of the face frame (bilinear in the unit fields)."""
        u = self.delta @ self.basis.sample(x, y)[:, :2]
        return float(u[0]), float(u[1])

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``rhytid motion --json`` (CONTRACTS.md)."""
        day: float | int | None = self.day
        if day is not None and float(day).is_integer():
            day = int(day)
        return {
            "expression": self.expression,
            "sex": self.sex,
            "day": day,
            "landmarks": {
                k: {"dx_mm": round(u[0], 3), "dy_mm": round(u[1], 3)} for k, u in self.landmarks.items()
            },
            "profiles": [p.to_dict() for p in self.profiles],
        }


def motion(
    expression: str,
    sex: str = "female",
    plan: Plan | None = None,
    day: float | None = None,
    *,
    patient: Patient | None = None,
    params: Parameters | None = None,
    raster_mm: float | None = None,
) -> Motion:
    """The skin's displacement from rest to ``expression`` (module docstring); with a ``plan``
    and ``day``, the muscles act as that day's block leaves them."""
    if expression not in EXPRESSIONS or expression == "rest":
        allowed = ", ".join(e for e in EXPRESSIONS if e != "rest")
        raise PlanError(f"expression must be one of {allowed}, got {expression!r}")
    if sex not in ("female", "male"):
        raise PatientError(f"sex must be 'female' or 'male', got {sex!r}")
    if (plan is None) != (day is None):
        raise PlanError("give a plan and a day together (or neither)")
    if patient is None:
        base = plan.patient if plan is not None and plan.patient is not None else Patient()
        patient = base.model_copy(update={"sex": sex})
    face = reference_face(patient.sex)
    params = params or default_parameters()
    engine = face_engine(face.key, raster_mm, params.tissue)
    b = engine.basis
    n_seg = len(b.segments)
    seg_block = np.zeros((1, n_seg))
    if plan is not None and day is not None:
        state = block_state(
            engine, plan.resolve(face), params.product(plan.product.name), np.array([float(day)]), params
        )
        seg_block = state.segment
    scale, _ = _patient_scales(patient, params.tissue)
    act = effective_activation(engine, seg_block, scale, tone_factor(engine, patient))[0]
    delta = (act[EXPRESSIONS.index(expression)] - act[REST])[b.skin_rows].astype(np.float32)

    def at(x: float, y: float) -> tuple[float, float]:
        u = delta @ b.sample(x, y)[:, :2]
        return float(u[0]), float(u[1])

    landmarks = {name: at(*xy) for name, xy in face.landmarks.items()}
    lm = face.landmarks
    y0, y1 = lm["brow_peak_l"][1], lm["trichion"][1]
    fractions = np.linspace(0.0, 1.0, PROFILE_POINTS)
    ys = y0 + fractions * (y1 - y0)
    profiles = []
    for side in ("r", "l"):
        x = lm[f"pupil_{side}"][0]
        u = np.array([at(x, float(y)) for y in ys])
        profiles.append(Profile(float(x), ys, fractions, u[:, 0], u[:, 1]))
    (wx0, wy0), (wx1, wy1) = face.window
    gx, gy = np.meshgrid(
        np.arange(wx0 + _GRID_STEP_MM / 2, wx1, _GRID_STEP_MM),
        np.arange(wy0 + _GRID_STEP_MM / 2, wy1, _GRID_STEP_MM),
    )
    grid_xy = np.column_stack([gx.ravel(), gy.ravel()])
    flat = b.fields[:, :2].reshape(len(b.skin_rows), 2, -1)
    cells = np.array([b.raster.bilinear_weights(float(x), float(y))[0][0] for x, y in grid_xy])
    grid_u = np.einsum("s,scn->nc", delta, flat[:, :, cells]).astype(np.float64)
    return Motion(expression, patient.sex, day, face, landmarks, profiles, grid_xy, grid_u, delta, b)
