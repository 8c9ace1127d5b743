"""What the clinic's record says about a patient's safety, read for :func:`rhytid.clinic.review_plan`.

:func:`patient_safety` gathers, in one place, the latest medical history with its precaution
acknowledgements, the clinic's own toxin treatments, and the patient's aftercare alerts and
adverse events; :meth:`PatientSafety.review` hands them to the one review of a plan. The planner's
preview, the plan API and the treatment form all go through here, so the rules run on the same
facts everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Integer, bindparam, select
from sqlalchemy.orm import Session

from rhytid.anatomy import Face
from rhytid.clinic import (
    Acknowledgement,
    History,
    PlanView,
    RecordedTreatment,
    RecordEvent,
    Review,
    ReviewAcknowledgement,
    parse_history,
    review_plan,
    volume_per_point_ml,
)
from rhytid.clinic._rules import number
from rhytid.store import _models as m
from rhytid.store._errors import ConflictError, StoreError

__all__ = [
    "DilutionChange",
    "DilutionNotConfirmed",
    "PatientSafety",
    "ReviewRefused",
    "dilution_change",
    "patient_safety",
    "recent_filler",
]


@dataclass(frozen=True)
class PatientSafety:
    """The facts of one patient's record that a plan is reviewed against."""

    history: History | None
    history_id: int | None
    screening_acknowledgements: tuple[Acknowledgement, ...]
    treatments: tuple[RecordedTreatment, ...]
    events: tuple[RecordEvent, ...]

    def review(
        self,
        plan: PlanView,
        face: Face,
        *,
        at: dt.datetime,
        outcome: Mapping[str, Any] | None,
        acknowledgements: Sequence[ReviewAcknowledgement] = (),
    ) -> Review:
        return review_plan(
            plan,
            face,
            history=self.history,
            at=at,
            screening_acknowledgements=self.screening_acknowledgements,
            treatments=self.treatments,
            events=self.events,
            acknowledgements=acknowledgements,
            outcome=outcome,
            today=max(at.date(), dt.date.today()),
        )


def _alert_summary(row: m.AftercareReport) -> str:
    reasons = "; ".join(str(r) for r in row.reasons) or "no symptom listed"
    return f"{row.level.replace('_', ' ')} — {reasons}"


# The record's reads, built once (every planner tap runs them): bound to ``patient_id``.
_PATIENT: BindParameter[int] = bindparam("patient_id", type_=Integer)
_IN_FORCE = (
    select(m.MedicalHistory)
    .where(m.MedicalHistory.patient_id == _PATIENT, m.MedicalHistory.status == "accepted")
    .order_by(m.MedicalHistory.version.desc())
    .limit(1)
)
_TREATMENTS = select(m.Treatment).where(m.Treatment.patient_id == _PATIENT)
_ALERTS = select(m.AftercareReport).where(
    m.AftercareReport.patient_id == _PATIENT,
    m.AftercareReport.level.in_(("contact_clinic", "emergency")),
)
_ADVERSE_EVENTS = select(m.AdverseEvent).where(m.AdverseEvent.patient_id == _PATIENT)


def in_force_history(db: Session, patient_id: int) -> m.MedicalHistory | None:
    """The newest accepted history of a patient (proposals and rejected ones are not in force)."""
    return db.scalar(_IN_FORCE, {"patient_id": patient_id})


def patient_safety(db: Session, patient: m.Patient) -> PatientSafety:
    """Read the patient's history, treatments, alerts and adverse events (no audit: the caller's act is)."""
    latest = in_force_history(db, patient.id)
    acks = tuple(
        Acknowledgement(
            clinician=a["clinician"], at=dt.datetime.fromisoformat(a["at"]), codes=tuple(a["codes"])
        )
        for a in (latest.acknowledgements if latest else [])
    )
    treatments = tuple(
        RecordedTreatment(t.performed_at, t.product, t.total_units, tuple(t.areas))
        for t in db.scalars(_TREATMENTS, {"patient_id": patient.id})
    )
    alerts = db.scalars(_ALERTS, {"patient_id": patient.id})
    events = [
        RecordEvent(
            f"aftercare_report:{r.id}", "aftercare_alert", r.created_at, _alert_summary(r), r.alert_open
        )
        for r in alerts
    ]
    for ae in db.scalars(_ADVERSE_EVENTS, {"patient_id": patient.id}):
        outcome = f", outcome {ae.outcome}" if ae.outcome else ""
        events.append(
            RecordEvent(
                f"adverse_event:{ae.id}",
                "adverse_event",
                dt.datetime.combine(ae.onset_date, dt.time()),
                f"{ae.kind.replace('_', ' ')} ({ae.severity}){outcome}: {ae.description}",
            )
        )
    return PatientSafety(
        history=parse_history(latest.answers) if latest else None,
        history_id=latest.id if latest else None,
        screening_acknowledgements=acks,
        treatments=treatments,
        events=tuple(events),
    )


class ReviewRefused(StoreError):
    """A treatment refused by the review of its plan; ``review`` holds every finding."""

    def __init__(self, review: Review) -> None:
        super().__init__(f"review: {review.summary()}")
        self.review = review
        self.extra: dict[str, Any] = {"review": review.to_dict()}


@dataclass(frozen=True)
class DilutionChange:
    """The vial's reconstitution differs from the plan's: the volumes per point change."""

    plan_units_per_ml: float
    vial_units_per_ml: float
    vial_units: float
    diluent_ml: float
    volumes: tuple[tuple[str, float, float, float], ...]  # (where, units, plan mL, vial mL)

    def message(self) -> str:
        first = self.volumes[0]
        return (
            f"confirm_units_per_ml: this vial is reconstituted at {self.vial_units_per_ml:g} U/mL "
            f"({self.vial_units:g} U in {self.diluent_ml:g} mL), "
            f"the plan at {self.plan_units_per_ml:g} U/mL; "
            f"every point's volume changes (e.g. {first[1]:g} U: {first[2]:.3f} mL → {first[3]:.3f} mL). "
            "Check the new volumes and confirm them"
        )


class DilutionNotConfirmed(ConflictError):
    """The vial's dilution differs from the plan's and the new volumes were not confirmed."""

    def __init__(self, change: DilutionChange) -> None:
        super().__init__(change.message())
        self.change = change
        self.extra: dict[str, Any] = {
            "dilution": {
                "plan_units_per_ml": change.plan_units_per_ml,
                "vial_units_per_ml": change.vial_units_per_ml,
                "volumes": [
                    {"where": w, "units": u, "plan_ml": round(a, 4), "vial_ml": round(b, 4)}
                    for w, u, a, b in change.volumes
                ],
            }
        }


def dilution_change(plan: m.Plan, vial: m.Vial) -> DilutionChange | None:
    """How choosing ``vial`` changes the plan's volumes (None when its units per mL are the plan's).

    Volume per point ``V = u · d / N`` (``u`` units, ``N`` vial units, ``d`` diluent mL); a relative
    difference of the concentration within ``dosing_tolerances.label_concentration_rel``
    (clinic.yaml) counts as the same dilution.
    """
    planned = plan.vial_units / plan.diluent_ml
    actual = vial.vial_units / vial.diluent_ml
    if abs(actual - planned) <= number("dosing_tolerances", "label_concentration_rel") * planned:
        return None
    volumes = tuple(
        (
            str(i.get("site") or f"({i['x_mm']:g}, {i['y_mm']:g}) mm"),
            float(i["units"]),
            volume_per_point_ml(float(i["units"]), plan.vial_units, plan.diluent_ml),
            volume_per_point_ml(float(i["units"]), vial.vial_units, vial.diluent_ml),
        )
        for i in plan.injections
    )
    return DilutionChange(planned, actual, vial.vial_units, vial.diluent_ml, volumes)


def recent_filler(db: Session, patient_id: int, at: dt.datetime) -> bool:
    """Whether the patient had filler within ``fillers.aftercare_days`` before ``at`` (for triage)."""
    since = at - dt.timedelta(days=number("fillers", "aftercare_days"))
    found = db.scalar(
        select(m.FillerTreatment.id).where(
            m.FillerTreatment.patient_id == patient_id,
            m.FillerTreatment.performed_at >= since,
            m.FillerTreatment.performed_at <= at,
        )
    )
    return found is not None
