"""``rhytid check``: dosing and placement rules on a plan, with the model's spread.

:func:`check_plan` combines the dosing checks (label doses, reconstitution, session total), the
danger-zone geometry of every injection, the model's predicted spread (when an outcome is
given) and, with a medical history, the retreatment interval and cumulative dose. A plan with a
``blocking`` finding must not be injected as it stands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rhytid.anatomy import Face
from rhytid.clinic._dosing import (
    PreviousDose,
    check_cumulative_dose,
    check_doses,
    check_retreatment,
)
from rhytid.clinic._findings import PlanFinding
from rhytid.clinic._history import History
from rhytid.clinic._placement import placement_findings, spread_findings
from rhytid.clinic._plan_view import PlanView

__all__ = ["CheckResult", "check_plan"]

_ORDER = {"blocking": 0, "warning": 1, "note": 2}


@dataclass(frozen=True)
class CheckResult:
    """All findings on a plan; ``blocking`` is true when any finding blocks it."""

    product: str
    total_units: float
    findings: tuple[PlanFinding, ...]

    @property
    def blocking(self) -> bool:
        return any(f.severity == "blocking" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocking": self.blocking,
            "product": self.product,
            "total_units": self.total_units,
            "findings": [f.to_dict() for f in self.findings],
        }


def _history_findings(plan: PlanView, history: History, planned: dt.date) -> list[PlanFinding]:
    treatments = [t for t in history.previous_toxin or () if t.date <= planned]
    if not treatments:
        return []
    return check_retreatment(plan.product, max(t.date for t in treatments), planned)


def _previous_doses(history: History | None, planned: dt.date) -> list[PreviousDose]:
    if history is None:
        return []
    return [
        PreviousDose(t.date, t.product, t.units)
        for t in history.previous_toxin or ()
        if t.product is not None and t.units is not None and t.date <= planned
    ]


def check_plan(
    plan: PlanView,
    face: Face,
    *,
    outcome: Mapping[str, Any] | None = None,
    history: History | None = None,
    planned_date: dt.date | None = None,
) -> CheckResult:
    """Check a plan on ``face``; see the module docstring. Pure: no I/O, no model run."""
    planned = planned_date or dt.date.today()
    findings = check_doses(plan, face) + placement_findings(plan, face)
    doses = _previous_doses(history, planned)
    findings += check_cumulative_dose(plan.product, doses, planned, plan.total_units)
    if outcome is not None:
        findings += spread_findings(plan, face, outcome)
    if history is not None:
        findings += _history_findings(plan, history, planned)
    unique = list(dict.fromkeys(findings))
    unique.sort(key=lambda f: _ORDER[f.severity])
    return CheckResult(plan.product, plan.total_units, tuple(unique))
