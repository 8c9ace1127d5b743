"""One review of a toxin plan against everything the clinic knows: :func:`review_plan`.

The command line (``rhytid check``), the planner's preview, the plan API and the treatment form
all call :func:`review_plan`; nothing else strings the rules together. It combines

1. **the medical history** — no history on file is a *blocking* finding ("no medical history on
   file"), never "no findings"; a contraindication or an unanswered question blocks; a precaution
   needs a clinician's acknowledgement on the screening page (``acknowledge="screening"``);
2. **dosing and placement** — label doses per site, area and session, the reconstitution, the
   danger-zone distances (:func:`check_doses`, :func:`placement_findings`);
3. **the model** — its risks (eyelid and brow ptosis, asymmetry, unintended muscles), when an
   outcome (``rhytid.simulate(plan).to_dict()``) is given (:func:`spread_findings`): the model owns
   those risks and the review reads their levels, recomputing no block threshold;
4. **the clinic's own record together with the intake** — the retreatment interval from the
   latest treatment either of them knows (:func:`check_retreatment`), units of the same product
   over the cumulative window (:func:`check_cumulative_dose`; an intake entry on the same day and
   product as a recorded treatment is taken to be that treatment, not added twice), and every open
   aftercare alert or adverse event or alert within ``schedule.adverse_event_review_days``
   (clinic.yaml): each is shown and needs an acknowledgement with a written reason
   (``acknowledge="reason"``, ``ref`` naming the record) before the treatment can be recorded.

A plan with a ``blocking`` finding may be kept as a draft but not made ready or recorded; a plan
is *cleared* for recording when nothing blocks and every finding that needs an acknowledgement
has one. Pure: no I/O, no clock (the caller gives the time), no model run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from rhytid.anatomy import Face
from rhytid.clinic._dosing import PreviousDose, check_cumulative_dose, check_doses, check_retreatment
from rhytid.clinic._findings import PlanFinding
from rhytid.clinic._history import History
from rhytid.clinic._placement import placement_findings, spread_findings
from rhytid.clinic._plan_view import PlanView
from rhytid.clinic._rules import number, rules
from rhytid.clinic._screening import Acknowledgement, Screening, acknowledge, screen
from rhytid.errors import ClinicError

__all__ = ["RecordEvent", "RecordedTreatment", "Review", "ReviewAcknowledgement", "review_plan"]

_ORDER = {"blocking": 0, "warning": 1, "note": 2}
_NO_HISTORY_SOURCE = (
    "labels: screen for contraindications before treatment (evidence/clinical.md section 6); "
    "Aestheticc notes: history reviewed is required content for injectables (evidence/software.md)"
)


@dataclass(frozen=True)
class RecordedTreatment:
    """A toxin treatment in the clinic's own record: when, product, units and areas."""

    performed_at: dt.datetime
    product: str
    units: float
    areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordEvent:
    """An aftercare alert or adverse event on the patient's record.

    ``ref`` names it (``"aftercare_report:12"``, ``"adverse_event:3"``), ``at`` is when it was
    reported (alert) or began (adverse event), ``summary`` says what it was in words, ``open``
    whether an alert is still open (adverse events: always ``False``).
    """

    ref: str
    kind: Literal["aftercare_alert", "adverse_event"]
    at: dt.datetime
    summary: str
    open: bool = False


@dataclass(frozen=True)
class ReviewAcknowledgement:
    """A clinician's acknowledgement, with a reason, of the finding about the record ``ref``."""

    ref: str
    clinician: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class Review:
    """All findings on a plan for one patient at one time."""

    product: str
    total_units: float
    findings: tuple[PlanFinding, ...]
    decision: str | None

    @property
    def blocking(self) -> bool:
        """True when a finding blocks: the plan may be a draft, not ready, and is not recorded."""
        return any(f.severity == "blocking" for f in self.findings)

    @property
    def unacknowledged(self) -> tuple[PlanFinding, ...]:
        """Findings that still need a clinician's acknowledgement before recording."""
        return tuple(f for f in self.findings if f.acknowledge is not None and f.severity != "note")

    @property
    def cleared(self) -> bool:
        """True when the treatment may be recorded: nothing blocks, everything is acknowledged."""
        return not self.blocking and not self.unacknowledged

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocking": self.blocking,
            "cleared": self.cleared,
            "product": self.product,
            "total_units": self.total_units,
            "screening": self.decision,
            "acknowledge": [f.ref or f.code for f in self.unacknowledged],
            "findings": [f.to_dict() for f in self.findings],
        }

    def summary(self) -> str:
        """Why the plan cannot be recorded, in one line a clinician can act on ('' when cleared)."""
        blocking = [f.reason for f in self.findings if f.severity == "blocking"]
        if blocking:
            return "cannot be treated as planned: " + "; ".join(blocking)
        pending = self.unacknowledged
        if pending:
            return "needs your acknowledgement first: " + "; ".join(f.reason for f in pending)
        return ""


def _screening(
    history: History,
    acknowledgements: Sequence[Acknowledgement],
    product: str,
    planned: dt.date,
    today: dt.date,
) -> Screening:
    result = screen(history, product=product, planned_date=planned, today=today)
    for ack in acknowledgements:
        codes = [c for c in ack.codes if c in result.precautions]
        if codes:
            result = acknowledge(result, clinician=ack.clinician, at=ack.at, codes=codes)
    return result


def _screening_findings(result: Screening) -> list[PlanFinding]:
    out: list[PlanFinding] = []
    done = {c: a for a in result.acknowledgements for c in a.codes}
    for f in result.findings:
        if f.severity == "contraindication":
            out.append(PlanFinding(f.code, "blocking", f"contraindication: {f.reason}", f.source))
        elif f.severity == "precaution" and f.code in done:
            ack = done[f.code]
            reason = f"precaution acknowledged by {ack.clinician} ({ack.at:%Y-%m-%d}): {f.reason}"
            out.append(PlanFinding(f.code, "note", reason, f.source, acknowledge="screening"))
        elif f.severity == "precaution":
            reason = f"precaution not yet acknowledged on the screening page: {f.reason}"
            out.append(PlanFinding(f.code, "warning", reason, f.source, acknowledge="screening"))
        else:
            out.append(PlanFinding(f.code, "note", f.reason, f.source))
    if result.missing:
        out.append(
            PlanFinding(
                "history_incomplete",
                "blocking",
                "medical history incomplete: not answered: "
                + ", ".join(m.replace("_", " ") for m in result.missing),
                "screening: an unanswered question is never read as 'no' (the labels' questions, "
                "evidence/clinical.md section 6)",
            )
        )
    return out


def _last_treatment(
    history: History | None, record: Sequence[RecordedTreatment], at: dt.datetime
) -> tuple[dt.date, str] | None:
    """The latest earlier treatment (date) and where it is known from, in words."""
    known: list[tuple[dt.date, str]] = []
    for t in record:
        if t.performed_at <= at:
            areas = ", ".join(a.replace("_", " ") for a in t.areas) or "area not recorded"
            when = t.performed_at.strftime("%Y-%m-%d %H:%M")
            known.append((t.performed_at.date(), f"recorded here {when}: {t.units:g} U {t.product}, {areas}"))
    for p in history.previous_toxin or () if history is not None else ():
        if p.date <= at.date():
            what = f"{p.units:g} U " if p.units is not None else ""
            known.append((p.date, f"reported in the intake: {what}{p.product or 'toxin'} on {p.date}"))
    return max(known, key=lambda k: k[0]) if known else None


def _doses(
    history: History | None, record: Sequence[RecordedTreatment], at: dt.datetime
) -> list[PreviousDose]:
    mine = [PreviousDose(t.performed_at.date(), t.product, t.units) for t in record if t.performed_at <= at]
    seen = {(d.date, d.product) for d in mine}
    reported = [
        PreviousDose(p.date, p.product, p.units)
        for p in (history.previous_toxin or () if history is not None else ())
        if p.product is not None
        and p.units is not None
        and p.date <= at.date()
        and (p.date, p.product) not in seen
    ]
    return mine + reported


def _event_findings(
    events: Sequence[RecordEvent], acks: Mapping[str, ReviewAcknowledgement], at: dt.datetime
) -> list[PlanFinding]:
    window = int(number("schedule", "adverse_event_review_days"))
    source = rules().schedule["adverse_event_review_days"].source
    out: list[PlanFinding] = []
    for e in sorted(events, key=lambda e: e.at):
        age = (at - e.at).days
        if not e.open and not 0 <= age < window:
            continue
        kind = "open aftercare alert" if e.open else e.kind.replace("_", " ")
        code = "open_alert" if e.open else f"recent_{e.kind}"
        reason = f"{kind} from {e.at:%Y-%m-%d} ({max(age, 0)} days ago): {e.summary}"
        ack = acks.get(e.ref)
        if ack is None:
            reason += "; acknowledge it with a reason before treating"
            out.append(PlanFinding(code, "warning", reason, source, acknowledge="reason", ref=e.ref))
        else:
            reason += f"; acknowledged by {ack.clinician}: {ack.reason}"
            out.append(PlanFinding(code, "note", reason, source, acknowledge="reason", ref=e.ref))
    return out


def review_plan(
    plan: PlanView,
    face: Face,
    *,
    history: History | None,
    at: dt.datetime,
    screening_acknowledgements: Sequence[Acknowledgement] = (),
    treatments: Sequence[RecordedTreatment] = (),
    events: Sequence[RecordEvent] = (),
    acknowledgements: Sequence[ReviewAcknowledgement] = (),
    outcome: Mapping[str, Any] | None = None,
    today: dt.date | None = None,
) -> Review:
    """Review ``plan`` for treatment at ``at`` (naive UTC); see the module docstring.

    ``history`` is the latest intake (``None``: none on file), ``screening_acknowledgements`` the
    clinicians' acknowledgements of its precautions, ``treatments`` the clinic's own toxin
    treatments of this patient, ``events`` its aftercare alerts and adverse events,
    ``acknowledgements`` the acknowledgements with reasons given for them now, ``outcome`` the
    model's prediction for this plan, ``today`` the date that bounds intake dates (default: the
    date of ``at``). Raises :class:`ClinicError` for an acknowledgement without a reason or of a
    record the review does not name.
    """
    planned = at.date()
    findings: list[PlanFinding] = []
    decision: str | None = None
    if history is None:
        findings.append(
            PlanFinding(
                "no_history",
                "blocking",
                "no medical history on file: the patient must complete the intake (or a clinician "
                "enter it) and it must be screened before treatment",
                _NO_HISTORY_SOURCE,
            )
        )
    else:
        screening = _screening(
            history, screening_acknowledgements, plan.product, planned, max(today or planned, planned)
        )
        decision = screening.decision
        findings += _screening_findings(screening)
    findings += check_doses(plan, face) + placement_findings(plan, face)
    if outcome is not None:
        findings += spread_findings(plan, face, outcome)
    last = _last_treatment(history, treatments, at)
    if last is not None:
        findings += [
            replace(f, reason=f"{f.reason}; {last[1]}")
            for f in check_retreatment(plan.product, last[0], planned)
        ]
    findings += check_cumulative_dose(
        plan.product, _doses(history, treatments, at), planned, plan.total_units
    )
    acks: dict[str, ReviewAcknowledgement] = {}
    for a in acknowledgements:
        if not a.reason.strip() or not a.clinician.strip():
            raise ClinicError(f"acknowledge: {a.ref}: give the clinician and a reason for going ahead")
        acks[a.ref] = a
    event_findings = _event_findings(events, acks, at)
    unknown = sorted(set(acks) - {f.ref for f in event_findings})
    if unknown:
        raise ClinicError(f"acknowledge: {', '.join(unknown)} is not a finding of this review")
    findings += event_findings
    unique = list(dict.fromkeys(findings))
    unique.sort(key=lambda f: _ORDER[f.severity])
    return Review(plan.product, plan.total_units, tuple(unique), decision)
