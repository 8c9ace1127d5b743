"""Trial designs: area, product, dose, visits, size and seed — validated, with the label pattern.

The injection pattern is the product's label pattern for the area (:func:`rhytid.toxin.label_pattern`)
scaled to the requested total dose, reconstituted as the label says (the product's default units per
mL), so the volume per point scales with the dose. ``forehead+glabellar`` injects both patterns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rhytid._plan import DEFAULT_DAYS, Depth, ResolvedInjection
from rhytid.anatomy import reference_face
from rhytid.errors import ProductError, TrialError
from rhytid.model import injection_depth
from rhytid.toxin import PRODUCT_NAMES, get_product, label_pattern
from rhytid.trial._engine import Pattern

__all__ = ["AREAS", "TrialDesign", "place_pattern"]

#: trial area -> (label-pattern areas injected, graded areas of the reference face)
AREAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "glabellar": (("glabellar",), ("glabellar",)),
    "forehead": (("forehead",), ("forehead",)),
    "lateral-canthal": (("lateral_canthal",), ("lateral_canthal_l", "lateral_canthal_r")),
    "forehead+glabellar": (("forehead", "glabellar"), ("forehead",)),
}
_DEFAULT_VISITS = tuple(d for d in DEFAULT_DAYS if d >= 7)
_UNITS_PER_POINT = (0.5, 100.0)
_VOLUME_ML = (0.005, 1.0)
_MAX_PATIENTS = 10_000_000


@dataclass(frozen=True)
class TrialDesign:
    """A virtual randomised trial (CONTRACTS.md ``rhytid trial``).

    ``patients`` is the number randomised (3:1 toxin:placebo) after screening; ``visits`` are days
    after treatment (baseline is day 0).
    """

    area: str
    product: str
    dose_units: float
    patients: int = 2000
    seed: int = 1
    visits: tuple[float, ...] = _DEFAULT_VISITS

    def __post_init__(self) -> None:
        if self.area not in AREAS:
            raise TrialError(f"--area must be one of {' | '.join(AREAS)}, got {self.area!r}")
        if self.product not in PRODUCT_NAMES:
            raise TrialError(f"--product must be one of {' | '.join(PRODUCT_NAMES)}, got {self.product!r}")
        if not (
            isinstance(self.dose_units, int | float)
            and math.isfinite(self.dose_units)
            and self.dose_units > 0
        ):
            raise TrialError(f"--dose must be a positive number of units, got {self.dose_units!r}")
        if not 8 <= self.patients <= _MAX_PATIENTS:
            raise TrialError(f"--patients must be between 8 and {_MAX_PATIENTS}, got {self.patients}")
        if not 0 <= self.seed < 2**63:
            raise TrialError(f"--seed must be a non-negative integer, got {self.seed}")
        if not self.visits or any(not (0 < d <= 730) for d in self.visits):
            raise TrialError("visits must be days between 1 and 730")
        if list(self.visits) != sorted(set(self.visits)):
            raise TrialError("visits must be increasing and distinct")
        self.pattern_units()  # checks the dose per point and the volumes

    @property
    def graded_areas(self) -> tuple[str, ...]:
        return AREAS[self.area][1]

    def pattern_units(self) -> dict[str, float]:
        """Units of this product per named site: the label pattern scaled to ``dose_units``."""
        label: dict[str, float] = {}
        for a in AREAS[self.area][0]:
            try:
                label.update(label_pattern(a, self.product))
            except ProductError as exc:  # pragma: no cover - every area has an ona pattern
                raise TrialError(f"--area: {exc}") from None
        factor = self.dose_units / sum(label.values())
        units = {site: u * factor for site, u in label.items()}
        per_ml = get_product(self.product).default_units_per_ml
        lo, hi = _UNITS_PER_POINT
        for site, u in units.items():
            if not lo <= u <= hi:
                raise TrialError(
                    f"--dose {self.dose_units:g} U gives {u:.3g} U at {site}; each of the "
                    f"{len(units)} points of the pattern needs {lo:g}..{hi:g} U"
                )
            if not _VOLUME_ML[0] <= u / per_ml <= _VOLUME_ML[1]:
                raise TrialError(
                    f"--dose {self.dose_units:g} U needs {u / per_ml:.3g} mL at {site} at the label "
                    f"dilution; allowed {_VOLUME_ML[0]:g}..{_VOLUME_ML[1]:g} mL"
                )
        return units

    def pattern(self, sex: str) -> Pattern:
        """The pattern placed on the reference face of ``sex`` (aimed depths as in the model)."""
        product = get_product(self.product)
        per_ml = product.default_units_per_ml
        units = self.pattern_units()
        points: list[PatternPoint] = [(s, None, units[s], units[s] / per_ml, "intramuscular") for s in units]
        return place_pattern(sex, self.product, points)

    def to_dict(self) -> dict[str, object]:
        units = self.pattern_units()
        return {
            "area": self.area,
            "product": self.product,
            "dose_units": _num(self.dose_units),
            "seed": self.seed,
            "pattern": [{"site": s, "units": _num(round(u, 3))} for s, u in units.items()],
            "visits": [_num(d) for d in self.visits],
        }


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


#: one point of a pattern: (site name, (x_mm, y_mm) or None for the site's point, units of the
#: product, volume in mL, depth intent)
PatternPoint = tuple[str, tuple[float, float] | None, float, float, Depth]


def place_pattern(sex: str, product_name: str, points: Sequence[PatternPoint]) -> Pattern:
    """Points placed on the reference face of ``sex``: positions (mm), the depth each deposits at
    (:func:`rhytid.model.injection_depth`), ona-equivalent units and volumes (mL)."""
    face = reference_face("male" if sex == "male" else "female")
    product = get_product(product_name)
    xy = np.array([face.sites[s].xy if at is None else at for s, at, _, _, _ in points], dtype=float)
    depth = np.array(
        [
            injection_depth(
                face,
                ResolvedInjection(
                    index=i + 1,
                    x_mm=float(xy[i, 0]),
                    y_mm=float(xy[i, 1]),
                    units=u,
                    volume_ml=v,
                    depth=d,
                    day=0.0,
                    site=s if at is None else None,
                ),
            )
            for i, (s, at, u, v, d) in enumerate(points)
        ]
    )
    u = np.array([p[2] for p in points], dtype=float)
    vol = np.array([p[3] for p in points], dtype=float)
    return Pattern(tuple(p[0] for p in points), xy, depth, u * product.ona_equivalent_per_unit, vol)
