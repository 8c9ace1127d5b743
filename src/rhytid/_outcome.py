"""The result of a simulation, and its JSON shape (CONTRACTS.md ``rhytid simulate --json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["LEVELS", "AreaState", "Level", "Outcome", "Risk", "Visit"]

RiskKind = Literal["eyelid_ptosis", "brow_ptosis", "asymmetry", "unintended_muscle"]
Level = Literal["low", "moderate", "high"]
LEVELS: tuple[Level, Level, Level] = ("low", "moderate", "high")


def _r(x: float, nd: int = 3) -> float:
    return float(round(x, nd))


@dataclass(frozen=True)
class AreaState:
    """Grade (Facial Wrinkle Scale 0..3) and depth (µm) of an area at rest and at maximum."""

    rest_grade: int
    rest_depth_um: float
    max_grade: int
    max_depth_um: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rest": {"grade": self.rest_grade, "depth_um": _r(self.rest_depth_um, 1)},
            "max": {"grade": self.max_grade, "depth_um": _r(self.max_depth_um, 1)},
        }


@dataclass(frozen=True)
class Visit:
    """The face on one day: muscle block, area grades, brow and eyelid changes at rest."""

    day: float
    muscle_block: dict[str, float]
    areas: dict[str, AreaState]
    brow_height_change_mm: dict[str, float]
    eyelid_droop_mm: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        day: float | int = int(self.day) if float(self.day).is_integer() else self.day
        return {
            "day": day,
            "muscles": {k: {"block": _r(v)} for k, v in self.muscle_block.items()},
            "areas": {k: a.to_dict() for k, a in self.areas.items()},
            "brow_height_change_mm": {k: _r(v, 2) for k, v in self.brow_height_change_mm.items()},
            "eyelid_droop_mm": {k: _r(v, 2) for k, v in self.eyelid_droop_mm.items()},
        }


@dataclass(frozen=True)
class Risk:
    kind: RiskKind
    side: str | None
    level: Level
    detail: str
    injection: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "side": self.side,
            "level": self.level,
            "detail": self.detail,
        }
        if self.injection is not None:
            out["injection"] = self.injection
        return out


@dataclass(frozen=True)
class Outcome:
    """What a plan does to a face over time, with its risks and provenance."""

    model_version: str
    parameters_hash: str
    plan: dict[str, Any]
    patient: dict[str, Any]
    timeline: list[Visit]
    risks: list[Risk] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def visit(self, day: float) -> Visit:
        for v in self.timeline:
            if v.day == day:
                return v
        raise KeyError(f"day {day} is not in the timeline")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "parameters_hash": self.parameters_hash,
            "plan": self.plan,
            "patient": self.patient,
            "timeline": [v.to_dict() for v in self.timeline],
            "risks": [r.to_dict() for r in self.risks],
            "warnings": list(self.warnings),
        }
