"""Pre-treatment screening of a medical history, and the clinician's acknowledgement of it.

``screen(history)`` applies the rules of ``clinic.yaml`` (section ``screening``) and decides:

- ``do_not_treat`` when any finding is a contraindication (whatever else is missing),
- ``incomplete`` when answers are missing (they are listed, never read as "no"),
- ``treat_with_precautions`` when there are precautions, each to be acknowledged by a clinician,
- ``ok`` otherwise.

:func:`acknowledge` records who acknowledged which precautions and when; :func:`clear` refuses
to clear a screening until the decision allows treatment and every precaution is acknowledged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Literal

from rhytid.clinic._findings import ScreeningFinding
from rhytid.clinic._history import ANSWERED_FIELDS, History, medication_class
from rhytid.clinic._rules import PRODUCTS, rules
from rhytid.errors import ScreeningError

__all__ = [
    "Acknowledgement",
    "Decision",
    "Screening",
    "acknowledge",
    "clear",
    "screen",
]

Decision = Literal["do_not_treat", "treat_with_precautions", "ok", "incomplete"]
_POTENTIATING = ("aminoglycoside", "neuromuscular_blocker", "anticholinergic", "muscle_relaxant")


@dataclass(frozen=True)
class Acknowledgement:
    """A clinician's acknowledgement of precaution findings (by code) at a moment in time."""

    clinician: str
    at: dt.datetime
    codes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"clinician": self.clinician, "at": self.at.isoformat(), "codes": list(self.codes)}


@dataclass(frozen=True)
class Screening:
    """The result of screening one history for one (optional) product and planned date."""

    decision: Decision
    findings: tuple[ScreeningFinding, ...]
    missing: tuple[str, ...]
    product: str | None
    planned_date: dt.date
    acknowledgements: tuple[Acknowledgement, ...] = ()

    @property
    def precautions(self) -> tuple[str, ...]:
        """Codes of the findings that need a clinician's acknowledgement."""
        return tuple(f.code for f in self.findings if f.severity == "precaution")

    @property
    def unacknowledged(self) -> tuple[str, ...]:
        """Precaution codes no clinician has acknowledged yet."""
        done = {c for a in self.acknowledgements for c in a.codes}
        return tuple(c for c in self.precautions if c not in done)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``rhytid screen --json`` (CONTRACTS.md), with a few added keys."""
        return {
            "decision": self.decision,
            "findings": [f.to_dict() for f in self.findings],
            "missing": list(self.missing),
            "product": self.product,
            "planned_date": self.planned_date.isoformat(),
            "acknowledgements": [a.to_dict() for a in self.acknowledgements],
        }


def _finding(code: str, rule: str, reason: str) -> ScreeningFinding:
    spec = rules().screening[rule]
    return ScreeningFinding(code=code, severity=spec.severity, reason=reason, source=spec.source)


def _allergy_findings(history: History, product: str | None) -> list[ScreeningFinding]:
    toxin_codes = set(rules().codes["toxin_allergens"].value)
    out: list[ScreeningFinding] = []
    for allergy in history.allergies or ():
        substance = allergy.substance
        if substance in toxin_codes:
            out.append(
                _finding(
                    "toxin_allergy",
                    "toxin_allergy",
                    f"allergy to {substance}: hypersensitivity to any botulinum toxin product",
                )
            )
            continue
        if substance == "other":
            continue
        containing = [
            name for name, p in rules().products.items() if substance in p.formulation_allergens.value
        ]
        code = f"formulation_allergy_{substance}"
        if product is None:
            listed = ", ".join(containing) or "no product in the evidence"
            out.append(
                _finding(
                    code,
                    "formulation_allergy_product_unknown",
                    f"allergy to {substance}: do not use a product that contains it "
                    f"(listed for {listed}); check the chosen product's full ingredients",
                )
            )
        elif product in containing:
            out.append(
                _finding(code, "formulation_allergy", f"allergy to {substance}: {product} contains it")
            )
        else:
            out.append(
                _finding(
                    code,
                    "formulation_allergy_product_unknown",
                    f"allergy to {substance}: not listed for {product} in the evidence; "
                    "check its full ingredient list before treating",
                )
            )
    return out


def _condition_findings(history: History) -> list[ScreeningFinding]:
    out: list[ScreeningFinding] = []
    conditions = set(history.conditions or ())
    neuromuscular = sorted(conditions & set(rules().codes["neuromuscular_conditions"].value))
    if neuromuscular:
        out.append(
            _finding(
                "neuromuscular_disease",
                "neuromuscular_disease",
                f"{', '.join(neuromuscular)}: risk of severe swallowing and breathing problems",
            )
        )
    if "other_neuromuscular" in conditions:
        out.append(
            _finding(
                "other_neuromuscular_disease",
                "other_neuromuscular_disease",
                "another neuromuscular disorder: increased risk of systemic toxin effects",
            )
        )
    if history.bleeding_disorder or "bleeding_disorder" in conditions:
        out.append(_finding("bleeding_disorder", "bleeding_disorder", "bleeding disorder"))
    if history.dry_eye or conditions & {"dry_eye", "corneal_disorder"}:
        out.append(_finding("dry_eye", "dry_eye", "dry eye or corneal disorder: reduced blinking"))
    if "cardiovascular_disease" in conditions:
        out.append(_finding("cardiovascular_disease", "cardiovascular_disease", "cardiovascular disease"))
    if history.infection_at_injection_site:
        out.append(_finding("infection_at_site", "infection_at_site", "infection at a site"))
    if history.inflammation_at_injection_site:
        out.append(_finding("inflammation_at_site", "inflammation_at_site", "inflammation at a site"))
    if history.pregnant:
        out.append(_finding("pregnant", "pregnant", "pregnant: safety not established"))
    if history.breastfeeding:
        out.append(_finding("breastfeeding", "breastfeeding", "breastfeeding: safety not known"))
    return out


def _medication_findings(history: History) -> list[ScreeningFinding]:
    by_class: dict[str, list[str]] = {}
    for code in history.medications or ():
        by_class.setdefault(medication_class(code), []).append(code)
    out: list[ScreeningFinding] = []
    for cls, names in sorted(by_class.items()):
        listed = ", ".join(names)
        if cls == "antithrombotic":
            reason = f"takes {listed} (anticoagulant/antiplatelet): more bruising and bleeding"
            out.append(_finding("antithrombotic", "antithrombotic", reason))
        elif cls in _POTENTIATING or cls == "magnesium":
            reason = f"takes {listed} ({cls.replace('_', ' ')}): may potentiate the toxin's effect"
            out.append(_finding(f"medication_{cls}", "medication", reason))
    return out


def _previous_findings(
    history: History, product: str | None, planned: dt.date, today: dt.date
) -> list[ScreeningFinding]:
    out: list[ScreeningFinding] = []
    treatments = history.previous_toxin or ()
    for i, t in enumerate(treatments):
        if t.date > today:
            raise ScreeningError(
                f"previous_toxin[{i}].date: {t.date.isoformat()} is in the future "
                f"(today is {today.isoformat()}); give the date the treatment took place"
            )
        if t.date > planned:
            raise ScreeningError(
                f"previous_toxin[{i}].date: {t.date.isoformat()} is after the planned treatment "
                f"date {planned.isoformat()}; give a planned date on or after it with --date"
            )
    interval = rules().products[product or PRODUCTS[0]].retreatment_interval_days.value
    recent = [t for t in treatments if (planned - t.date).days < interval]
    if recent:
        last = max(t.date for t in recent)
        days = (planned - last).days
        out.append(
            _finding(
                "recent_toxin",
                "recent_toxin",
                f"botulinum toxin {days} days before the planned date ({last.isoformat()}); "
                f"treatments should be at least {interval} days apart",
            )
        )
    effects = sorted({e for t in treatments for e in t.side_effects if e != "none"})
    if effects:
        out.append(
            _finding(
                "previous_side_effect",
                "previous_side_effect",
                f"side effects after previous toxin: {', '.join(effects)}",
            )
        )
    if any(t.response == "none" for t in treatments):
        out.append(
            _finding(
                "no_previous_response",
                "no_previous_response",
                "no response to a previous treatment: consider antibodies or dosing",
            )
        )
    droops = [
        name
        for name, answer in (
            ("eyelid", history.previous_eyelid_droop),
            ("brow", history.previous_brow_droop),
        )
        if answer
    ]
    if droops:
        out.append(_finding("previous_droop", "previous_droop", f"previous {' and '.join(droops)} droop"))
    if history.other_medicines:
        out.append(
            _finding(
                "other_medicines",
                "other_medicines",
                f"medicines named by the patient: {history.other_medicines}; check them for interactions",
            )
        )
    if history.facial_surgery:
        detail = f": {history.facial_surgery_details}" if history.facial_surgery_details else ""
        out.append(_finding("facial_surgery", "facial_surgery", f"previous facial surgery{detail}"))
    return out


def _decide(findings: list[ScreeningFinding], missing: tuple[str, ...]) -> Decision:
    severities = {f.severity for f in findings}
    if "contraindication" in severities:
        return "do_not_treat"
    if missing:
        return "incomplete"
    if "precaution" in severities:
        return "treat_with_precautions"
    return "ok"


def screen(
    history: History,
    *,
    product: str | None = None,
    planned_date: dt.date | None = None,
    today: dt.date | None = None,
) -> Screening:
    """Screen a history for treatment with ``product`` (any product if ``None``) on a date.

    ``today`` (default: the system date) bounds the dates of previous treatments; the planned
    date defaults to today. Raises :class:`ScreeningError` for an unknown product or impossible
    dates.
    """
    if product is not None and product not in PRODUCTS:
        raise ScreeningError(f"product: unknown product {product!r}; allowed: {', '.join(PRODUCTS)}")
    today = today or dt.date.today()
    planned = planned_date or today
    findings = [
        *_allergy_findings(history, product),
        *_condition_findings(history),
        *_medication_findings(history),
        *_previous_findings(history, product, planned, today),
    ]
    missing = tuple(name for name in ANSWERED_FIELDS if getattr(history, name) is None)
    return Screening(
        decision=_decide(findings, missing),
        findings=tuple(findings),
        missing=missing,
        product=product,
        planned_date=planned,
    )


def acknowledge(
    screening: Screening, *, clinician: str, at: dt.datetime, codes: tuple[str, ...] | list[str]
) -> Screening:
    """Record that ``clinician`` acknowledged the precaution ``codes`` at ``at``.

    Returns a new :class:`Screening`; raises :class:`ScreeningError` for an empty clinician or a
    code that is not a precaution of this screening.
    """
    if not clinician.strip():
        raise ScreeningError("clinician: the acknowledging clinician must be named")
    unknown = [c for c in codes if c not in screening.precautions]
    if unknown or not codes:
        allowed = ", ".join(screening.precautions) or "none"
        raise ScreeningError(
            f"codes: {unknown or list(codes)!r} are not precautions of this screening; allowed: {allowed}"
        )
    record = Acknowledgement(clinician=clinician.strip(), at=at, codes=tuple(codes))
    return replace(screening, acknowledgements=(*screening.acknowledgements, record))


def clear(screening: Screening) -> Screening:
    """Return the screening once it allows treatment; otherwise raise :class:`ScreeningError`.

    Cleared means: no contraindication, no missing answer, every precaution acknowledged.
    """
    if screening.decision == "do_not_treat":
        codes = [f.code for f in screening.findings if f.severity == "contraindication"]
        raise ScreeningError(f"decision: do_not_treat ({', '.join(codes)}); cannot be cleared")
    if screening.decision == "incomplete":
        raise ScreeningError(f"missing answers: {', '.join(screening.missing)}; cannot be cleared")
    if screening.unacknowledged:
        raise ScreeningError(
            f"precautions not acknowledged: {', '.join(screening.unacknowledged)}; "
            "a clinician must acknowledge each before treatment"
        )
    return screening
