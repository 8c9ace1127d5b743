"""Findings: what a clinical rule says about a history or a plan, with its reason and source."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["PlanFinding", "PlanSeverity", "ScreeningFinding", "ScreeningSeverity"]

ScreeningSeverity = Literal["contraindication", "precaution", "note"]
PlanSeverity = Literal["blocking", "warning", "note"]


@dataclass(frozen=True)
class ScreeningFinding:
    """One screening finding: ``code``, ``severity``, plain ``reason`` and published ``source``."""

    code: str
    severity: ScreeningSeverity
    reason: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlanFinding:
    """One finding of ``rhytid check`` on a plan.

    ``injection`` is the 1-based index of the injection in the plan (``None`` for whole-plan
    findings), ``site`` its named site if any, ``distance_mm`` the distance that the rule
    measured (mm; ``None`` when the rule is not a distance). ``acknowledge`` says how a finding
    that needs a clinician's acknowledgement is given one before treatment (``"screening"``: on
    the screening page; ``"reason"``: at recording, with a written reason), and ``ref`` names the
    record it is about (e.g. ``"aftercare_report:12"``); both are ``None`` otherwise.
    """

    code: str
    severity: PlanSeverity
    reason: str
    source: str
    injection: int | None = None
    site: str | None = None
    distance_mm: float | None = None
    acknowledge: Literal["screening", "reason"] | None = None
    ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("acknowledge", "ref"):
            if out[key] is None:
                del out[key]
        if self.distance_mm is not None:
            out["distance_mm"] = round(self.distance_mm, 1)
        return out
