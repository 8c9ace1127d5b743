"""A plain, read-only view of a treatment plan for the clinical rules.

The rules need only a few facts of a plan (product, reconstitution, and per injection its
position in the face frame (mm), units, volume (mL), depth, site and day). :func:`plan_view`
reads them from a :class:`rhytid.Plan` (or anything with the same attributes), so the rules stay
pure and testable without the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rhytid.anatomy import Face
from rhytid.clinic._rules import number
from rhytid.errors import PlanError

__all__ = ["PlanView", "PlannedInjection", "injection_area", "plan_view"]


@dataclass(frozen=True)
class PlannedInjection:
    """One injection: position (mm, face frame), units, volume (mL), depth, site, day."""

    x_mm: float
    y_mm: float
    units: float
    volume_ml: float
    depth: str = "intramuscular"
    site: str | None = None
    day: float = 0.0


@dataclass(frozen=True)
class PlanView:
    """Product, reconstitution (units per mL) and injections of a plan."""

    product: str
    units_per_ml: float
    injections: tuple[PlannedInjection, ...]
    sex: str = "female"

    @property
    def total_units(self) -> float:
        return sum(i.units for i in self.injections)


def plan_view(plan: Any) -> PlanView:
    """Read the facts the rules need from a :class:`rhytid.Plan`-like object.

    A plan with a ``resolve()`` method (``rhytid.Plan``) is resolved first, which places named
    sites on the plan patient's face and fills in volumes from the reconstitution.
    """
    try:
        resolved = plan.resolve() if hasattr(plan, "resolve") else plan.injections
        injections = tuple(
            PlannedInjection(
                x_mm=float(i.x_mm),
                y_mm=float(i.y_mm),
                units=float(i.units),
                volume_ml=float(i.volume_ml),
                depth=str(getattr(i, "depth", "intramuscular")),
                site=getattr(i, "site", None),
                day=float(getattr(i, "day", 0) or 0),
            )
            for i in resolved
        )
        patient = getattr(plan, "patient", None)
        sex = str(getattr(patient, "sex", "female")) if patient is not None else "female"
        view = PlanView(
            product=str(plan.product.name),
            units_per_ml=float(plan.units_per_ml),
            injections=injections,
            sex=sex,
        )
    except (AttributeError, TypeError) as exc:
        raise PlanError(f"plan: cannot read product and injections ({exc})") from None
    if not view.units_per_ml > 0:
        raise PlanError(f"product: units per mL must be > 0, got {view.units_per_ml}")
    return view


def _distance_to_polygon(x: float, y: float, polygon: Any) -> float:
    """Distance (mm) from a point to a closed polygon's boundary (vertices as rows)."""
    pts = np.asarray(polygon, dtype=float)
    a, b = pts, np.roll(pts, -1, axis=0)
    ab = b - a
    t = np.clip(((x - a[:, 0]) * ab[:, 0] + (y - a[:, 1]) * ab[:, 1]) / (ab**2).sum(axis=1), 0, 1)
    return float(np.hypot(a[:, 0] + t * ab[:, 0] - x, a[:, 1] + t * ab[:, 1] - y).min())


def injection_area(face: Face, injection: PlannedInjection) -> str | None:
    """The treatment area of an injection.

    Its named site's area; else the area containing the point; else the nearest area within
    ``area_assignment_max_mm`` (clinic.yaml); else ``None`` (outside every treatment area).
    """
    if injection.site is not None and injection.site in face.sites:
        return face.sites[injection.site].area
    x, y = injection.x_mm, injection.y_mm
    for name, area in face.areas.items():
        if area.contains(x, y):
            return name
    nearest = min(face.areas.values(), key=lambda a: _distance_to_polygon(x, y, a.polygon))
    if _distance_to_polygon(x, y, nearest.polygon) <= number("placement", "area_assignment_max_mm"):
        return nearest.name
    return None
