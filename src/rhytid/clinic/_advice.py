"""Toxin, filler or both, per area, from a wrinkle assessment or from the model's depths.

Toxin relaxes the muscle and so removes the *dynamic* part of a line (what contraction adds);
lines etched into the skin and visible at rest (*static*) respond little to toxin and are
treated with a dermal filler (DESIGN.md). From Facial Wrinkle Scale grades (0 none, 1 mild,
2 moderate, 3 severe): static when the grade at rest is at least ``static_from_grade_rest``;
dynamic when the grade at maximum contraction is at least ``treat_from_grade_max`` and exceeds the
grade at rest by at least ``dynamic_from_grade_increase``. From depths (µm): each component
counts when it is at least ``significant_depth_um`` deep. Thresholds and sources: clinic.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from rhytid.clinic._rules import number, rules
from rhytid.errors import ClinicError

__all__ = ["AreaAdvice", "advise_from_depths", "advise_from_grades", "advise_from_outcome"]

Recommendation = Literal["none", "toxin", "filler", "toxin_and_filler"]
_GRADES = range(4)


@dataclass(frozen=True)
class AreaAdvice:
    """The recommendation for one area, with the reason and sources."""

    area: str
    recommendation: Recommendation
    reason: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _recommend(static: bool, dynamic: bool) -> Recommendation:
    if static and dynamic:
        return "toxin_and_filler"
    if static:
        return "filler"
    return "toxin" if dynamic else "none"


def _why(static: bool, dynamic: bool) -> str:
    parts = [
        "lines are etched at rest: a filler treats them, toxin helps little" if static else "",
        "contraction deepens the lines: toxin relaxes the muscle" if dynamic else "",
    ]
    return "; ".join(p for p in parts if p) or "no moderate or severe lines: no treatment needed"


def _source(*keys: str) -> str:
    return "; ".join(rules().advice[k].source for k in keys)


def advise_from_grades(area: str, grade_rest: int, grade_max: int) -> AreaAdvice:
    """Advice from FWS grades at rest and at maximum contraction (0..3)."""
    for name, g in (("grade_rest", grade_rest), ("grade_max", grade_max)):
        if isinstance(g, bool) or not isinstance(g, int) or g not in _GRADES:
            raise ClinicError(f"{area}.{name}: must be a Facial Wrinkle Scale grade 0-3, got {g!r}")
    if grade_max < grade_rest:
        raise ClinicError(
            f"{area}.grade_max: {grade_max} is below grade_rest {grade_rest}; contraction "
            "cannot show fewer lines than rest"
        )
    static = grade_rest >= number("advice", "static_from_grade_rest")
    dynamic = grade_max >= number("advice", "treat_from_grade_max") and (
        grade_max - grade_rest >= number("advice", "dynamic_from_grade_increase")
    )
    reason = f"grade {grade_rest} at rest, {grade_max} at maximum contraction: {_why(static, dynamic)}"
    src = _source("static_from_grade_rest", "treat_from_grade_max", "dynamic_from_grade_increase")
    return AreaAdvice(area, _recommend(static, dynamic), reason, src)


def advise_from_depths(area: str, static_um: float, dynamic_um: float) -> AreaAdvice:
    """Advice from the static depth and the dynamic depth added at maximum contraction (µm)."""
    for name, d in (("static_um", static_um), ("dynamic_um", dynamic_um)):
        if not d >= 0:
            raise ClinicError(f"{area}.{name}: must be a depth >= 0 µm, got {d!r}")
    limit = number("advice", "significant_depth_um")
    static, dynamic = static_um >= limit, dynamic_um >= limit
    reason = (
        f"{static_um:.0f} µm static, {dynamic_um:.0f} µm added by contraction "
        f"(threshold {limit:g} µm): {_why(static, dynamic)}"
    )
    return AreaAdvice(area, _recommend(static, dynamic), reason, _source("significant_depth_um"))


def advise_from_outcome(outcome: Mapping[str, Any], day: int = 0) -> list[AreaAdvice]:
    """Advice per area from a simulated outcome (``rhytid.simulate(...).to_dict()``).

    At ``day`` (0 = before treatment) the depth at rest stands for the static part and the depth
    at maximum contraction minus it for the dynamic part.
    """
    for entry in outcome.get("timeline", []):
        if entry.get("day") == day:
            out = []
            for area, grades in entry.get("areas", {}).items():
                rest = grades.get("rest", {}).get("depth_um")
                peak = grades.get("max", {}).get("depth_um")
                if rest is None or peak is None:
                    continue
                out.append(advise_from_depths(area, float(rest), max(float(peak) - rest, 0.0)))
            return out
    raise ClinicError(f"day: the outcome's timeline has no day {day}")
