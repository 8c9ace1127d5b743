"""One message per injection: the clinic's rules and the model's risks, reconciled.

A review (:func:`rhytid.clinic.review_plan`) can say several things about one point: a placement
rule ("1.7 mm below the orbital rim; the rule is at least 10 mm above it"), a label dose, and the
model's risk for it ("eyelid droop … 12 % of the toxin reaching the levator"). Shown one by one,
each with its own level, they read as contradictions ("low risk" beside "blocking"). Here they
become **one message per injection** whose level is the **worst** of its findings
(blocking > warning > note), followed by what each finding says, without levels of their own.
Findings about the whole plan (history, totals, the model's risks that name no injection) are
returned separately, in the review's order.

Pure: reads a :class:`~rhytid.clinic.Review`'s findings, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rhytid.clinic._findings import PlanFinding, PlanSeverity

__all__ = ["InjectionMessage", "injection_messages", "plan_findings"]

_RANK: dict[PlanSeverity, int] = {"note": 0, "warning": 1, "blocking": 2}
_HEADLINE: dict[PlanSeverity, str] = {
    "blocking": "blocking: move or change this point, or keep the plan as a draft",
    "warning": "caution",
    "note": "note",
}


@dataclass(frozen=True)
class InjectionMessage:
    """Everything the review says about injection ``injection`` (1-based), at its worst level."""

    injection: int
    site: str | None
    severity: PlanSeverity
    text: str
    codes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "injection": self.injection,
            "site": self.site,
            "severity": self.severity,
            "text": self.text,
            "codes": list(self.codes),
        }


def _without_subject(reason: str, n: int) -> str:
    """``injection 2 (procerus) lies …`` → ``lies …`` (the message names the point once)."""
    return re.sub(rf"^injection {n}( \([^)]*\))? ", "", reason)


def injection_messages(findings: Sequence[PlanFinding]) -> list[InjectionMessage]:
    """One :class:`InjectionMessage` per injection that has a finding, in injection order.

    The level is the worst of the injection's findings; the text names the point once, then the
    level in words, then each finding's reason (duplicates dropped).
    """
    by_point: dict[int, list[PlanFinding]] = {}
    for f in findings:
        if f.injection is not None:
            by_point.setdefault(f.injection, []).append(f)
    out: list[InjectionMessage] = []
    for n in sorted(by_point):
        group = sorted(by_point[n], key=lambda f: -_RANK[f.severity])
        worst = group[0].severity
        site = next((f.site for f in group if f.site), None)
        parts = list(dict.fromkeys(_without_subject(f.reason, n) for f in group))
        name = f"Point {n}" + (f" ({site.replace('_', ' ')})" if site else "")
        text = f"{name} — {_HEADLINE[worst]}: " + "; ".join(parts)
        out.append(InjectionMessage(n, site, worst, text, tuple(dict.fromkeys(f.code for f in group))))
    return out


def plan_findings(findings: Sequence[PlanFinding]) -> list[PlanFinding]:
    """The findings about the whole plan (no injection named), in the given order."""
    return [f for f in findings if f.injection is None]
