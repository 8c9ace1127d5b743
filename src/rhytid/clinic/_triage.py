"""Aftercare triage: reported symptoms → ``expected`` | ``self_care`` | ``contact_clinic`` |
``emergency`` with plain-language advice (CONTRACTS.md ``triage``).

Each symptom gets a level from its rule in ``clinic.yaml`` (``triage.symptoms``), adjusted by the
days since treatment, how long it has lasted, a sudden onset and its location; combinations of
symptoms may raise the level further. The report's level is the **maximum** over symptoms and
combinations, so adding a symptom can never lower it, and any red-flag symptom (level
``emergency``) yields ``emergency`` whatever else is reported. Facial droop is a possible stroke
unless it is gradual *and* inside the treated area. After hyaluronic-acid filler (``filler``),
blanched, mottled or dusky skin, severe pain and any change of vision are emergencies (a blocked
blood vessel; the advice says the clinic keeps hyaluronidase ready).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rhytid.clinic._rules import TRIAGE_LEVELS, SymptomRule, rules
from rhytid.errors import TriageError

__all__ = [
    "AftercareReport",
    "Symptom",
    "Triage",
    "load_report",
    "parse_report",
    "symptom_codes",
    "triage",
]

TriageLevel = Literal["expected", "self_care", "contact_clinic", "emergency"]


def symptom_codes() -> tuple[str, ...]:
    """The symptom codes of CONTRACTS.md, in the order of ``clinic.yaml``."""
    return tuple(rules().triage.symptoms)


class Symptom(BaseModel):
    """One reported symptom with optional onset, location and duration (days)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    onset: Literal["sudden", "gradual"] | None = None
    location: Literal["treated_area", "outside_treated_area"] | None = None
    days: float | None = Field(default=None, ge=0)

    @field_validator("code")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in symptom_codes():
            raise ValueError(f"unknown symptom code {v!r}; allowed: {', '.join(symptom_codes())}")
        return v


class AftercareReport(BaseModel):
    """A patient's aftercare report (CONTRACTS.md ``triage`` input)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days_since_treatment: float = Field(ge=0)
    treated_areas: tuple[str, ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    #: the treatment included hyaluronic-acid filler: its red flags (vascular occlusion) apply
    filler: bool = False

    @field_validator("treated_areas")
    @classmethod
    def _known_areas(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        allowed = tuple(str(a) for a in rules().codes["treatment_areas"].value)
        for area in v:
            if area not in allowed:
                raise ValueError(f"unknown area {area!r}; allowed: {', '.join(allowed)}")
        return v


@dataclass(frozen=True)
class Triage:
    """The triage result: ``level``, ``advice`` for the patient and the ``reasons``."""

    level: TriageLevel
    advice: str
    reasons: tuple[str, ...]
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "advice": self.advice,
            "reasons": list(self.reasons),
            "sources": list(self.sources),
        }


def _rank(level: TriageLevel) -> int:
    return TRIAGE_LEVELS.index(level)


def _symptom_level(
    s: Symptom, rule: SymptomRule, days_since: float, filler: bool = False
) -> tuple[TriageLevel, str]:
    """Level of one symptom and the reason, in words."""
    name = s.code.replace("_", " ")
    candidates: list[tuple[TriageLevel, str]] = [(rule.level, name)]
    if filler and rule.filler is not None:
        candidates.append((rule.filler, f"{name} after filler: possible blocked blood vessel"))
    if s.code == "facial_droop":
        gradual_local = s.onset == "gradual" and s.location == "treated_area"
        if gradual_local and rule.treated_gradual is not None:
            candidates = [(rule.treated_gradual, "facial droop, gradual, in the treated area")]
        else:
            how = "sudden" if s.onset == "sudden" else "not known to be gradual"
            where = "outside the treated area" if s.location != "treated_area" else "treated area"
            candidates = [(rule.level, f"facial droop ({how}, {where}): possible stroke")]
    if rule.expected_days is not None and rule.later is not None and days_since > rule.expected_days:
        candidates.append((rule.later, f"{name} more than {rule.expected_days} days after treatment"))
    if rule.lasting_days is not None and rule.lasting is not None and (s.days or 0) > rule.lasting_days:
        candidates.append((rule.lasting, f"{name} lasting more than {rule.lasting_days} days"))
    if rule.sudden is not None and s.onset == "sudden":
        candidates.append((rule.sudden, f"sudden {name}"))
    return max(candidates, key=lambda c: _rank(c[0]))


def _wording(key: str) -> str:
    return str(rules().triage.advice[key].value)


def _advice(level: TriageLevel, emergency_codes: set[str], any_symptom: bool, filler: bool = False) -> str:
    if not any_symptom:
        return _wording("none_reported")
    if level != "emergency":
        return _wording(level)
    groups = rules().triage.groups
    # after filler, a change of vision or of the skin's colour is read as a blocked vessel first
    order = ("vascular", "stroke", "spread", "anaphylaxis") if filler else ("stroke", "spread", "anaphylaxis")
    parts = [_wording(f"emergency_{g}") for g in order if emergency_codes & set(groups[g].value)]
    skin_signs = set(groups["vascular"].value) - set(groups["stroke"].value)
    if not filler and emergency_codes & skin_signs:
        parts.append(_wording("emergency_vascular"))
    return " ".join(parts) or _wording("emergency_other")


def triage(report: AftercareReport) -> Triage:
    """Triage an aftercare report (pure; see the module docstring for the rules)."""
    table = rules().triage
    level: TriageLevel = "expected"
    reasons: list[str] = []
    sources: list[str] = []
    emergency_codes: set[str] = set()
    for s in report.symptoms:
        rule = table.symptoms[s.code]
        s_level, reason = _symptom_level(s, rule, report.days_since_treatment, report.filler)
        reasons.append(f"{reason}: {s_level.replace('_', ' ')}")
        sources.append(rule.source)
        if s_level == "emergency":
            emergency_codes.add(s.code)
        level = max(level, s_level, key=_rank)
    present = {s.code for s in report.symptoms}
    for combo in table.combinations:
        if set(combo.all) <= present:
            reasons.append(f"{' with '.join(combo.all)} ({combo.reason.replace('_', ' ')})")
            sources.append(combo.source)
            if combo.level == "emergency":
                emergency_codes |= set(combo.all)
            level = max(level, combo.level, key=_rank)
    advice = _advice(level, emergency_codes, bool(report.symptoms), report.filler)
    return Triage(level=level, advice=advice, reasons=tuple(reasons), sources=tuple(sources))


def parse_report(data: Any) -> AftercareReport:
    """Validate a report (a mapping as read from JSON); :class:`TriageError` on bad input."""
    if not isinstance(data, Mapping):
        raise TriageError(f"report: expected a JSON object, got {type(data).__name__}")
    try:
        return AftercareReport.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field; allowed: days_since_treatment, treated_areas, symptoms, filler"
        if err["type"] == "value_error":
            raise TriageError(f"{where.lstrip('.')}: {message}") from None
        raise TriageError(f"{where.lstrip('.') or 'report'}: {message} (got {err['input']!r})") from None


def load_report(path: str | Path) -> AftercareReport:
    """Read and validate a ``REPORT.json`` file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise TriageError(f"report file {str(path)!r}: cannot be read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise TriageError(
            f"report file {str(path)!r}: not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from None
    return parse_report(data)
