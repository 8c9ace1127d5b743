"""SQLAlchemy 2 table models of the clinic (one clinic database; every row names its clinic)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ROLES",
    "AdverseEvent",
    "AftercareReport",
    "AlertNotice",
    "Appointment",
    "AppointmentSlot",
    "Assessment",
    "AuditEntry",
    "AuthSession",
    "Base",
    "Clinic",
    "ClinicContact",
    "ClinicProfile",
    "Consent",
    "FillerSite",
    "FillerSyringe",
    "FillerTreatment",
    "MedicalHistory",
    "OutboxMessage",
    "Patient",
    "PatientLink",
    "Photo",
    "Plan",
    "Treatment",
    "TreatmentInjection",
    "User",
    "UserTotp",
    "Vial",
    "WorkingHours",
]

ROLES = ("admin", "clinician", "front_desk")
APPOINTMENT_KINDS = ("consultation", "treatment", "review", "recall")
APPOINTMENT_STATUSES = ("booked", "arrived", "done", "no_show", "cancelled")


def utcnow() -> dt.datetime:
    """The current UTC time as a naive datetime (the database stores UTC without zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Clinic(Base):
    __tablename__ = "clinics"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slot_minutes: Mapped[int] = mapped_column(Integer, default=15)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin','clinician','front_desk')", name="ck_users_role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("sex IN ('female','male')", name="ck_patients_sex"),
        Index("ix_patients_clinic_name", "clinic_id", "family_name", "given_name"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100), index=True)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    clinical_notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MedicalHistory(Base):
    """One version of a patient's questionnaire answers, its screening and acknowledgements."""

    __tablename__ = "medical_histories"
    __table_args__ = (UniqueConstraint("patient_id", "version", name="uq_history_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    screening: Mapped[dict[str, Any]] = mapped_column(JSON)
    decision: Mapped[str] = mapped_column(String(30))
    acknowledgements: Mapped[list[Any]] = mapped_column(JSON, default=list)
    submitted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: accepted (in force) | proposed (awaits a clinician: it would clear a recorded finding) | rejected
    status: Mapped[str] = mapped_column(String(20), default="accepted", server_default="accepted")
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Assessment(Base):
    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    grades: Mapped[dict[str, Any]] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    photos: Mapped[list[Photo]] = relationship(back_populates="assessment", order_by="Photo.id")


class Photo(Base):
    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    stored_as: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    view: Mapped[str | None] = mapped_column(String(30))
    assessment: Mapped[Assessment] = relationship(back_populates="photos")


class Plan(Base):
    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    product: Mapped[str] = mapped_column(String(40))
    vial_units: Mapped[float] = mapped_column(Float)
    diluent_ml: Mapped[float] = mapped_column(Float)
    injections: Mapped[list[Any]] = mapped_column(JSON)
    total_units: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), default="ready", server_default="ready")
    preview: Mapped[dict[str, Any]] = mapped_column(JSON)
    check: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Vial(Base):
    __tablename__ = "vials"
    __table_args__ = (CheckConstraint("units_left >= 0", name="ck_vials_units_left"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    product: Mapped[str] = mapped_column(String(40))
    lot: Mapped[str] = mapped_column(String(60))
    expiry: Mapped[dt.date] = mapped_column(Date)
    vial_units: Mapped[float] = mapped_column(Float)
    diluent_ml: Mapped[float] = mapped_column(Float)
    reconstituted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    units_left: Mapped[float] = mapped_column(Float)
    discarded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Treatment(Base):
    __tablename__ = "treatments"
    __table_args__ = (Index("ix_treatments_lot", "lot"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    vial_id: Mapped[int] = mapped_column(ForeignKey("vials.id"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    performed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    product: Mapped[str] = mapped_column(String(40))
    lot: Mapped[str] = mapped_column(String(60))
    expiry: Mapped[dt.date] = mapped_column(Date)
    total_units: Mapped[float] = mapped_column(Float)
    # the vial's reconstitution the injections' volumes were drawn at (NULL only before 0003)
    vial_units: Mapped[float | None] = mapped_column(Float)
    diluent_ml: Mapped[float | None] = mapped_column(Float)
    areas: Mapped[list[Any]] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    # acknowledgements with reasons of the review's findings about the record (alerts, events)
    acknowledgements: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    injections: Mapped[list[TreatmentInjection]] = relationship(
        back_populates="treatment", order_by="TreatmentInjection.id"
    )


class TreatmentInjection(Base):
    __tablename__ = "treatment_injections"
    __table_args__ = (CheckConstraint("units > 0", name="ck_injection_units"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("treatments.id"), index=True)
    site: Mapped[str | None] = mapped_column(String(60))
    x_mm: Mapped[float] = mapped_column(Float)
    y_mm: Mapped[float] = mapped_column(Float)
    units: Mapped[float] = mapped_column(Float)
    volume_ml: Mapped[float | None] = mapped_column(Float)
    depth: Mapped[str] = mapped_column(String(20))
    treatment: Mapped[Treatment] = relationship(back_populates="injections")


class FillerSyringe(Base):
    """A hyaluronic-acid filler syringe in the inventory: product, lot, expiry, volume."""

    __tablename__ = "filler_syringes"
    __table_args__ = (CheckConstraint("ml_left >= 0", name="ck_filler_syringes_ml_left"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    product: Mapped[str] = mapped_column(String(100))
    lot: Mapped[str] = mapped_column(String(60))
    expiry: Mapped[dt.date] = mapped_column(Date)
    syringe_ml: Mapped[float] = mapped_column(Float)
    ml_left: Mapped[float] = mapped_column(Float)
    discarded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class FillerTreatment(Base):
    """A hyaluronic-acid filler treatment from one syringe of the inventory."""

    __tablename__ = "filler_treatments"
    __table_args__ = (
        CheckConstraint("technique IN ('needle','cannula')", name="ck_filler_technique"),
        Index("ix_filler_treatments_lot", "lot"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    syringe_id: Mapped[int] = mapped_column(ForeignKey("filler_syringes.id"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    performed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    product: Mapped[str] = mapped_column(String(100))
    lot: Mapped[str] = mapped_column(String(60))
    expiry: Mapped[dt.date] = mapped_column(Date)
    syringe_ml: Mapped[float] = mapped_column(Float)
    volume_ml: Mapped[float] = mapped_column(Float)
    technique: Mapped[str] = mapped_column(String(10))
    hyaluronidase_on_hand: Mapped[bool] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sites: Mapped[list[FillerSite]] = relationship(back_populates="treatment", order_by="FillerSite.id")


class FillerSite(Base):
    """One site of a filler treatment: area, depth (plane) and volume (mL)."""

    __tablename__ = "filler_sites"
    __table_args__ = (CheckConstraint("volume_ml > 0", name="ck_filler_site_volume"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("filler_treatments.id"), index=True)
    area: Mapped[str] = mapped_column(String(40))
    plane: Mapped[str] = mapped_column(String(30))
    volume_ml: Mapped[float] = mapped_column(Float)
    treatment: Mapped[FillerTreatment] = relationship(back_populates="sites")


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("kind IN ('consultation','treatment','review','recall')", name="ck_appt_kind"),
        CheckConstraint("minutes > 0", name="ck_appt_minutes"),
        CheckConstraint("status IN ('booked','arrived','done','no_show','cancelled')", name="ck_appt_status"),
        Index("ix_appointments_starts_at", "starts_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime)
    minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="booked")
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatments.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class WorkingHours(Base):
    """A clinician's working hours on one weekday (0 Monday), clinic-local minutes from midnight."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="ck_hours_weekday"),
        CheckConstraint(
            "starts_min >= 0 AND ends_min <= 1440 AND starts_min < ends_min", name="ck_hours_span"
        ),
        UniqueConstraint("clinician_id", "weekday", name="uq_hours_day"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    starts_min: Mapped[int] = mapped_column(Integer)
    ends_min: Mapped[int] = mapped_column(Integer)


class AppointmentSlot(Base):
    """One occupied slot of a clinician's book: the primary key forbids double booking."""

    __tablename__ = "appointment_slots"
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    slot_start: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)


class AftercareReport(Base):
    __tablename__ = "aftercare_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatments.id"))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    level: Mapped[str] = mapped_column(String(20))
    advice: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    alert_open: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AdverseEvent(Base):
    __tablename__ = "adverse_events"
    __table_args__ = (CheckConstraint("severity IN ('mild','moderate','severe')", name="ck_ae_severity"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatments.id"))
    onset_date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(60))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(Base):
    """Who read or changed what, when; written in the transaction of the act itself."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str | None] = mapped_column(Text)


class Consent(Base):
    """A signed consent: the template text as read, the signature and the metadata, never changed.

    ``content_hash`` is the SHA-256 of the canonical JSON of everything signed (see
    :func:`rhytid.store._consent.consent_digest`); a row whose content no longer matches it fails
    verification.
    """

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('toxin_treatment','filler_treatment','photography')", name="ck_consents_kind"
        ),
        Index("ix_consents_patient_kind", "patient_id", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(30))
    template_version: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    signed_name: Mapped[str] = mapped_column(String(200))
    signature: Mapped[str] = mapped_column(Text)  # SVG path data of the drawn signature
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ip_address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(300))
    via: Mapped[str] = mapped_column(String(20))  # link | clinic
    witness_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    withdrawal: Mapped[ConsentWithdrawal | None] = relationship(viewonly=True, lazy="selectin")


class ConsentWithdrawal(Base):
    """The patient's withdrawal of a signed consent, as recorded by staff: the signed row is kept
    unchanged; from ``withdrawn_at`` on the consent no longer counts. Never changed either."""

    __tablename__ = "consent_withdrawals"
    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    withdrawn_at: Mapped[dt.datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ClinicContact(Base):
    """How the clinic is reached and whom it alerts: shown to patients, used by the outbox."""

    __tablename__ = "clinic_contacts"
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    emergency_number: Mapped[str | None] = mapped_column(String(20))
    on_call_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_call_email: Mapped[str | None] = mapped_column(String(254))
    webhook_secret: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class OutboxMessage(Base):
    """A message waiting to be delivered (or delivered): the row stays until it has gone out."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("channel IN ('email','webhook')", name="ck_outbox_channel"),
        CheckConstraint("status IN ('pending','sent')", name="ck_outbox_status"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert_notices.id"), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AlertNotice(Base):
    """Who was told of an aftercare alert, who acknowledged it, when it escalated, how it closed."""

    __tablename__ = "alert_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("aftercare_reports.id"), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    on_call_name: Mapped[str | None] = mapped_column(String(200))
    on_call_email: Mapped[str | None] = mapped_column(String(254))
    escalate_at: Mapped[dt.datetime] = mapped_column(DateTime)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PatientLink(Base):
    """A link that opens one patient's form once: the URL's signed token names this row and must
    match its hash; spent by the first accepted submission, revocable, expiring."""

    __tablename__ = "patient_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    form: Mapped[str] = mapped_column(String(40))
    treatment_id: Mapped[int | None] = mapped_column(Integer)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class AuthSession(Base):
    """A sign-in session (``cookie``) or an API token (``bearer``): the credential names this row and
    must match its hash; revoked by sign-out, an admin or a password change; idle ones lapse."""

    __tablename__ = "auth_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class PlanDraft(Base):
    """The planner's working copy of a plan, one per patient and clinician, kept as it is edited
    (so that leaving the page or reloading it loses nothing); ``state`` is the planner's JSON."""

    __tablename__ = "plan_drafts"
    __table_args__ = (UniqueConstraint("patient_id", "user_id", name="uq_plan_drafts_patient_user"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class UserTotp(Base):
    """A user's TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps).

    ``secret`` is the shared key (base32); the factor counts once ``confirmed_at`` is set (the user
    typed a code from the authenticator). ``last_step`` is the time step of the last accepted code,
    so that no code is accepted twice. ``recovery_hashes`` are the SHA-256 of the unused one-time
    recovery codes, shown to the user once at enrolment.
    """

    __tablename__ = "user_totp"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    recovery_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)


class ClinicProfile(Base):
    """What the clinic shows of itself: its opening hours (weekday -> [opens, closes], clinic-local
    ``HH:MM``) and its logo (a PNG or JPEG, base64 so that every backup format carries it)."""

    __tablename__ = "clinic_profiles"
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), primary_key=True)
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    logo_type: Mapped[str | None] = mapped_column(String(20))
    logo_b64: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
