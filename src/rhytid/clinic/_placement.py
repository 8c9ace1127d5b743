"""Placement rules: danger zones of the upper face in the face frame (mm), and spread.

Three distance rules (limits and sources in ``clinic.yaml``, section ``placement``):

- **supraorbital**: any point over the orbit (between the medial-canthus and lateral-orbital-rim
  verticals) must lie at least ``supraorbital_min_above_rim_mm`` (1 cm) *vertically* above the
  superior orbital rim: below it, toxin reaches the levator palpebrae through the septum.
- **forehead**: a point of the forehead area must lie at least ``forehead_min_above_brow_mm``
  (2 cm) above the brow line (landmarks ``brow_medial``, ``brow_peak``, ``brow_lateral``,
  interpolated linearly, flat beyond the ends), or the frontalis fails low and the brow drops.
- **lateral canthal**: a crow's-feet point must lie *lateral* to the lateral orbital rim
  (horizontal distance from the rim at the point's height).

Each rule's risk is ``high`` below its limit, ``moderate`` within ``caution_band_mm`` of it and
``none`` beyond, so it never decreases as the point moves toward the danger structure. A
negative distance is said the other way round ("1.7 mm below the orbital rim").

**One owner per risk.** What toxin does once it has spread (eyelid ptosis from lid droop, brow
ptosis, asymmetry, unintended muscles) is the model's to judge: :func:`spread_findings` reads the
risks of the Outcome (``rhytid.simulate(plan).to_dict()["risks"]``) and maps their levels to
severities (high → blocking, moderate → warning, low → note); it recomputes no block threshold.
The distance rules above are the labels' placement rules, the clinic's own.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from rhytid.anatomy import Face
from rhytid.clinic._findings import PlanFinding, PlanSeverity
from rhytid.clinic._plan_view import PlanView, injection_area
from rhytid.clinic._rules import number, rules

__all__ = [
    "RISK_LEVELS",
    "ZoneRisk",
    "brow_height_mm",
    "distance_words",
    "placement_findings",
    "spread_findings",
    "zone_risks",
]

RiskLevel = Literal["none", "moderate", "high"]
RISK_LEVELS: tuple[RiskLevel, ...] = ("none", "moderate", "high")


@dataclass(frozen=True)
class ZoneRisk:
    """One danger-zone rule at one point: distance (mm) to its limit's reference and the risk."""

    rule: str
    side: str
    distance_mm: float
    limit_mm: float
    level: RiskLevel
    source: str


def _side(x: float) -> str:
    return "l" if x >= 0 else "r"


def _level(distance: float, limit: float) -> RiskLevel:
    if distance < limit:
        return "high"
    if distance < limit + number("placement", "caution_band_mm"):
        return "moderate"
    return "none"


def _risk(rule: str, key: str, side: str, distance: float) -> ZoneRisk:
    limit = number("placement", key)
    source = rules().placement[key].source
    return ZoneRisk(rule, side, distance, limit, _level(distance, limit), source)


def brow_height_mm(face: Face, x: float) -> float:
    """Height (y, mm) of the brow line of the side of ``x`` at ``x``."""
    s = _side(x)
    names = ("brow_medial", "brow_peak", "brow_lateral")
    pts = sorted((abs(face.landmarks[f"{n}_{s}"][0]), face.landmarks[f"{n}_{s}"][1]) for n in names)
    return float(np.interp(abs(x), [p[0] for p in pts], [p[1] for p in pts]))


def _superior_rim_height(face: Face, x: float) -> float:
    """Height (y, mm) of the superior orbital rim at ``x`` (medial end to lateral-most point)."""
    rim = face.orbital_rims[_side(x)]
    ax = np.abs(rim[:, 0])
    lateral, medial = int(np.argmax(ax)), int(np.argmin(ax))
    arc = rim[medial : lateral + 1] if medial < lateral else rim[lateral : medial + 1][::-1]
    return float(np.interp(abs(x), np.abs(arc[:, 0]), arc[:, 1]))


def _lateral_rim_x(face: Face, y: float, side: str) -> float:
    """Largest |x| (mm) of that side's orbital rim at height ``y``; clamped above and below."""
    rim = face.orbital_rims[side]
    xs: list[float] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(rim.tolist()):
        if min(y0, y1) <= y <= max(y0, y1) and y0 != y1:
            xs.append(abs(x0 + (y - y0) / (y1 - y0) * (x1 - x0)))
    if xs:
        return max(xs)
    lowest = rim[int(np.argmin(rim[:, 1]))]
    highest = rim[int(np.argmax(rim[:, 1]))]
    return float(abs(lowest[0]) if y < lowest[1] else abs(highest[0]))


def zone_risks(face: Face, x: float, y: float, area: str | None) -> list[ZoneRisk]:
    """The danger-zone rules that apply to a point of the given treatment area."""
    s = _side(x)
    out: list[ZoneRisk] = []
    medial = abs(face.landmarks[f"medial_canthus_{s}"][0])
    lateral = abs(face.landmarks[f"orbital_rim_lat_{s}"][0])
    if medial <= abs(x) <= lateral:
        height = y - _superior_rim_height(face, x)
        out.append(_risk("supraorbital", "supraorbital_min_above_rim_mm", s, height))
    if area == "forehead":
        out.append(_risk("forehead", "forehead_min_above_brow_mm", s, y - brow_height_mm(face, x)))
    if area is not None and area.startswith("lateral_canthal"):
        lateral_of_rim = float(abs(x) - _lateral_rim_x(face, y, s))
        out.append(_risk("lateral_canthal", "lateral_canthal_min_outside_rim_mm", s, lateral_of_rim))
    return out


_RULE_WORDS = {
    "supraorbital": (("above", "below"), "the orbital rim", "eyelid ptosis (levator palpebrae)"),
    "forehead": (("above", "below"), "the brow", "brow ptosis (low frontalis)"),
    "lateral_canthal": (
        ("lateral to", "medial to"),
        "the lateral orbital rim",
        "eyelid ptosis / spread into the orbit",
    ),
}


def distance_words(rule: str, distance_mm: float) -> str:
    """A rule's signed distance in words: ``1.7 mm below the orbital rim`` for -1.7 (supraorbital)."""
    (ahead, behind), reference, _ = _RULE_WORDS[rule]
    return f"{abs(distance_mm):.1f} mm {ahead if distance_mm >= 0 else behind} {reference}"


_SEVERITY: dict[RiskLevel, PlanSeverity] = {"high": "blocking", "moderate": "warning"}


def placement_findings(plan: PlanView, face: Face) -> list[PlanFinding]:
    """Danger-zone findings for each injection (1-based index, site and distance in mm)."""
    out: list[PlanFinding] = []
    for n, inj in enumerate(plan.injections, start=1):
        if not face.on_face(inj.x_mm, inj.y_mm):
            out.append(
                PlanFinding(
                    "off_face",
                    "blocking",
                    f"({inj.x_mm:g}, {inj.y_mm:g}) mm lies outside the modelled upper face",
                    "anatomy.yaml frame.window_mm",
                    injection=n,
                    site=inj.site,
                )
            )
            continue
        for risk in zone_risks(face, inj.x_mm, inj.y_mm, injection_area(face, inj)):
            if risk.level == "none":
                continue
            (ahead, _), _, danger = _RULE_WORDS[risk.rule]
            out.append(
                PlanFinding(
                    f"{risk.rule}_too_close",
                    _SEVERITY[risk.level],
                    f"injection {n}{f' ({inj.site})' if inj.site else ''} lies "
                    f"{distance_words(risk.rule, risk.distance_mm)} (side {risk.side}); the rule is "
                    f"at least {risk.limit_mm:g} mm {ahead} it: risk of {danger}",
                    risk.source,
                    injection=n,
                    site=inj.site,
                    distance_mm=risk.distance_mm,
                )
            )
    return out


_MODEL_SEVERITY: dict[str, PlanSeverity] = {
    "high": "blocking",
    "moderate": "warning",
    "low": "note",
}
_MODEL_SOURCE = "rhytid model (simulate): spread, block kinetics, brow and lid mechanics"


def spread_findings(plan: PlanView, face: Face, outcome: Mapping[str, Any]) -> list[PlanFinding]:
    """The model's risks as findings: the model owns what spread toxin does (module docstring).

    ``outcome`` is ``rhytid.simulate(plan).to_dict()`` (CONTRACTS.md); each of its ``risks`` gives
    one finding ``model_<kind>`` whose severity follows the risk's level, tied to the injection the
    model names (``None``: a whole-plan finding). ``plan`` and ``face`` name the site.
    """
    del face  # the model placed the plan on the face already
    out: list[PlanFinding] = []
    for finding in _model_risks(outcome.get("risks", [])):
        n = finding.injection
        if n is not None and 1 <= n <= len(plan.injections):
            finding = replace(finding, site=plan.injections[n - 1].site)
        out.append(finding)
    return out


_KIND_WORDS = {
    "eyelid_ptosis": "eyelid droop (ptosis)",
    "brow_ptosis": "brow droop (ptosis)",
    "asymmetry": "asymmetry",
    "unintended_muscle": "spread to an untargeted muscle",
}


def _side_words(side: object) -> str:
    return {"l": " on the patient's left", "r": " on the patient's right"}.get(str(side), "")


def _model_risks(risks: Sequence[Mapping[str, Any]]) -> list[PlanFinding]:
    out: list[PlanFinding] = []
    for r in risks:
        level = str(r.get("level", "low"))
        injection = r.get("injection")
        out.append(
            PlanFinding(
                f"model_{r.get('kind', 'risk')}",
                _MODEL_SEVERITY.get(level, "warning"),
                f"{_KIND_WORDS.get(str(r.get('kind')), str(r.get('kind')))}"
                f"{_side_words(r.get('side'))}: {r.get('detail', '')}",
                _MODEL_SOURCE,
                injection=int(injection) if isinstance(injection, int) else None,
            )
        )
    return out
