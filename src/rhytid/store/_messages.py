"""The clinic's outbox, contacts, alert notices and reminders (the delivery itself is in ``web``).

Every message is a row of ``outbox`` written in the transaction of the act that caused it (an
aftercare report, a link sent, a reminder due), so it exists exactly when the act does. A worker
claims due rows for ``claim_seconds`` (so a server that stops mid-send sends again later: at least
once, never lost), then marks them sent, or records the error and retries after
``min(retry_base * 2**(attempts-1), retry_max)`` seconds. Timings: ``data/consent.yaml``
(``messages``), each with its reasoning.

An emergency or contact-clinic report opens an :class:`~rhytid.store.models.AlertNotice`: an e-mail
to the on-call clinician at once (to every active clinician when none is on call, to the admins
when the clinic has no active clinician) and, when a
webhook is configured, a webhook call; unacknowledged after ``escalation_minutes``, the alert goes
to the clinic's admins (e-mail) and the webhook again, marked as an escalation.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rhytid._data import value
from rhytid.store import _models as m
from rhytid.store._errors import ConflictError, NotFoundError, StoreError
from rhytid.store._models import utcnow
from rhytid.store._time import to_local, zone

if TYPE_CHECKING:
    from rhytid.store._audit import Actor

__all__ = [
    "Delivery",
    "Outgoing",
    "acknowledge_alert",
    "claim_due",
    "clinic_contact",
    "due_now",
    "enqueue",
    "escalate_due",
    "mark_failed",
    "mark_sent",
    "outbox_summary",
    "raise_alert",
    "schedule_reminders",
    "timing",
    "update_contact",
]

_FILE = "consent.yaml"


def timing(name: str) -> float:
    """A message timing of ``data/consent.yaml`` (``messages.<name>``)."""
    return float(value(_FILE, "messages", name))


@dataclass(frozen=True)
class Delivery:
    """What the running app can deliver and how it links back to itself."""

    email: bool = False
    webhook: bool = False
    base_url: str = ""
    escalation_seconds: float | None = None  # None: messages.escalation_minutes

    @property
    def escalation(self) -> dt.timedelta:
        if self.escalation_seconds is not None:
            return dt.timedelta(seconds=self.escalation_seconds)
        return dt.timedelta(minutes=timing("escalation_minutes"))


@dataclass(frozen=True)
class Outgoing:
    """A claimed message, detached from the session (the worker sends it outside a transaction)."""

    id: int
    clinic_id: int
    channel: str
    kind: str
    recipient: str
    subject: str
    body: str
    attempts: int
    patient_id: int | None
    alert_id: int | None


# --- clinic contacts ---------------------------------------------------------------------------
def clinic_contact(db: Session, clinic_id: int) -> m.ClinicContact:
    """The clinic's contact row (created, with a fresh webhook secret, the first time it is asked)."""
    row = db.get(m.ClinicContact, clinic_id)
    if row is None:
        row = m.ClinicContact(clinic_id=clinic_id, webhook_secret=secrets.token_urlsafe(32))
        db.add(row)
        db.flush()
    return row


def _phone(raw: str, field: str, required: bool = False) -> str | None:
    text = " ".join(raw.split())
    if not text:
        if required:
            raise StoreError(f"{field}: give the number")
        return None
    allowed = set("0123456789+ -()/")
    if len(text) > 20 or not set(text) <= allowed or sum(c.isdigit() for c in text) < 2:
        raise StoreError(f"{field}: a telephone number of digits, spaces and + - ( ) only, got {text[:40]!r}")
    return text


def update_contact(
    *,
    db: Session,
    actor: Actor,
    name: str,
    phone: str,
    address: str,
    emergency_number: str,
    on_call_user_id: str,
    on_call_email: str,
) -> m.ClinicContact:
    """The admin's clinic settings (audited); StoreError naming the field, nothing changed."""
    if actor.role != "admin":
        raise StoreError("role: only an admin may change the clinic settings")
    clinic = db.get(m.Clinic, actor.clinic_id)
    if clinic is None:
        raise NotFoundError(f"clinic_id: no clinic {actor.clinic_id}")
    clean_name = " ".join(name.split())
    if not clean_name or len(clean_name) > 200:
        raise StoreError("name: give the clinic's name (at most 200 characters)")
    clinic_phone = _phone(phone, "phone", required=True)
    emergency = _phone(emergency_number, "emergency_number", required=True)
    if len(address) > 300:
        raise StoreError(f"address: at most 300 characters, got {len(address)}")
    on_call: int | None = None
    if on_call_user_id:
        user = db.get(m.User, int(on_call_user_id)) if on_call_user_id.isdigit() else None
        if user is None or user.clinic_id != actor.clinic_id or user.role != "clinician" or not user.active:
            raise StoreError(f"on_call_user_id: not an active clinician of this clinic: {on_call_user_id!r}")
        on_call = user.id
    email = on_call_email.strip().lower()
    if email and (
        len(email) > 254 or email.count("@") != 1 or "." not in email.split("@")[1] or " " in email
    ):
        raise StoreError(f"on_call_email: not an e-mail address: {email[:60]!r}")
    row = clinic_contact(db, actor.clinic_id)
    clinic.name = clean_name
    row.phone = clinic_phone
    row.address = " ".join(address.split()) or None
    row.emergency_number = emergency
    row.on_call_user_id = on_call
    row.on_call_email = email or None
    row.updated_at = utcnow()
    db.add(
        m.AuditEntry(
            actor=actor.label,
            user_id=actor.user_id,
            action="update",
            entity="clinic_contact",
            entity_id=clinic.id,
            detail=f"on_call_user_id={on_call} on_call_email={email or None}",
        )
    )
    return row


# --- the outbox --------------------------------------------------------------------------------
def enqueue(
    db: Session,
    *,
    clinic_id: int,
    channel: str,
    kind: str,
    recipient: str,
    subject: str,
    body: str,
    patient_id: int | None = None,
    alert_id: int | None = None,
    dedupe_key: str | None = None,
    at: dt.datetime | None = None,
) -> m.OutboxMessage | None:
    """Add a message to the outbox (None when ``dedupe_key`` was queued already)."""
    if dedupe_key is not None and db.scalar(
        select(m.OutboxMessage.id).where(m.OutboxMessage.dedupe_key == dedupe_key)
    ):
        return None
    row = m.OutboxMessage(
        clinic_id=clinic_id,
        channel=channel,
        kind=kind,
        recipient=recipient,
        subject=subject[:300],
        body=body,
        patient_id=patient_id,
        alert_id=alert_id,
        dedupe_key=dedupe_key,
        status="pending",
        attempts=0,
        next_attempt_at=at or utcnow(),
    )
    db.add(row)
    db.flush()
    return row


def claim_due(db: Session, *, channels: tuple[str, ...], now: dt.datetime, limit: int = 20) -> list[Outgoing]:
    """Reserve up to ``limit`` due messages of ``channels`` for ``claim_seconds`` (caller commits)."""
    if not channels:
        return []
    rows = list(
        db.scalars(
            select(m.OutboxMessage)
            .where(
                m.OutboxMessage.status == "pending",
                m.OutboxMessage.channel.in_(channels),
                m.OutboxMessage.next_attempt_at <= now,
            )
            .order_by(m.OutboxMessage.next_attempt_at, m.OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    lease = now + dt.timedelta(seconds=timing("claim_seconds"))
    out = []
    for r in rows:
        r.next_attempt_at = lease
        r.attempts += 1
        out.append(
            Outgoing(
                r.id,
                r.clinic_id,
                r.channel,
                r.kind,
                r.recipient,
                r.subject,
                r.body,
                r.attempts,
                r.patient_id,
                r.alert_id,
            )
        )
    return out


def due_now(db: Session, *, now: dt.datetime) -> int:
    """Make every waiting message due at once (at start-up: a restart often follows a fix, and a
    message claimed by the process that stopped must not wait out its claim). Returns how many."""
    result = db.execute(
        update(m.OutboxMessage)
        .where(m.OutboxMessage.status == "pending", m.OutboxMessage.next_attempt_at > now)
        .values(next_attempt_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def mark_sent(db: Session, message_id: int) -> None:
    db.execute(
        update(m.OutboxMessage)
        .where(m.OutboxMessage.id == message_id)
        .values(status="sent", sent_at=utcnow(), last_error=None)
    )


def mark_failed(db: Session, message_id: int, attempts: int, error: str) -> dt.datetime:
    """Record a failed attempt; the message is due again after the backoff. Returns that time."""
    wait = min(timing("retry_base_seconds") * 2 ** max(attempts - 1, 0), timing("retry_max_seconds"))
    again = utcnow() + dt.timedelta(seconds=wait)
    db.execute(
        update(m.OutboxMessage)
        .where(m.OutboxMessage.id == message_id)
        .values(next_attempt_at=again, last_error=error[:2000])
    )
    return again


def outbox_summary(db: Session, clinic_id: int) -> dict[str, Any]:
    """Waiting and failing messages of a clinic, for the Today and Messages pages."""
    base = (
        select(func.count())
        .select_from(m.OutboxMessage)
        .where(m.OutboxMessage.clinic_id == clinic_id, m.OutboxMessage.status == "pending")
    )
    waiting = db.scalar(base) or 0
    failing = db.scalar(base.where(m.OutboxMessage.last_error.is_not(None))) or 0
    oldest = db.scalar(
        select(func.min(m.OutboxMessage.created_at)).where(
            m.OutboxMessage.clinic_id == clinic_id, m.OutboxMessage.status == "pending"
        )
    )
    return {"waiting": waiting, "failing": failing, "oldest": oldest}


def list_outbox(db: Session, clinic_id: int, limit: int = 200) -> list[m.OutboxMessage]:
    return list(
        db.scalars(
            select(m.OutboxMessage)
            .where(m.OutboxMessage.clinic_id == clinic_id)
            .order_by(m.OutboxMessage.status, m.OutboxMessage.id.desc())
            .limit(limit)
        )
    )


# --- alerts ------------------------------------------------------------------------------------
def _alert_text(
    report: m.AftercareReport, patient: m.Patient, base_url: str, escalated: bool
) -> tuple[str, str]:
    level = report.level.replace("_", " ").upper()
    head = "ESCALATED, NOT ACKNOWLEDGED: " if escalated else ""
    subject = f"{head}{level}: aftercare report from {patient.given_name} {patient.family_name}"
    lines = [
        f"{patient.given_name} {patient.family_name} (born {patient.birth_date}) sent an aftercare report "
        f"at {report.created_at:%Y-%m-%d %H:%M} UTC, triaged as {level}.",
        "",
        "Reasons: " + "; ".join(str(r) for r in report.reasons),
        "Advice shown to the patient: " + report.advice,
        "",
        f"Patient phone: {patient.phone or 'not recorded'}",
        f"Acknowledge and close the alert: {base_url.rstrip('/')}/alerts/{report.id}",
    ]
    if escalated:
        lines.insert(0, "Nobody has acknowledged this alert yet. Please act on it or acknowledge it.\n")
    return subject, "\n".join(lines)


def _webhook_body(report: m.AftercareReport, patient: m.Patient, base_url: str, escalated: bool) -> str:
    import json

    return json.dumps(
        {
            "event": "aftercare_alert.escalated" if escalated else "aftercare_alert",
            "level": report.level,
            "report_id": report.id,
            "patient": f"{patient.given_name} {patient.family_name}",
            "patient_phone": patient.phone,
            "reasons": list(report.reasons),
            "url": f"{base_url.rstrip('/')}/alerts/{report.id}",
        },
        sort_keys=True,
    )


def raise_alert(
    db: Session, *, report: m.AftercareReport, patient: m.Patient, delivery: Delivery
) -> m.AlertNotice:
    """Notify the on-call clinician of an open alert (in the report's transaction)."""
    contact = clinic_contact(db, patient.clinic_id)
    names: list[tuple[str, str]] = []
    if contact.on_call_user_id is not None:
        user = db.get(m.User, contact.on_call_user_id)
        if user is not None and user.active:
            names.append((user.name, contact.on_call_email or user.email))
    elif contact.on_call_email:
        names.append(("the on-call clinician", contact.on_call_email))
    for role in ("clinician", "admin"):  # nobody on call: every active clinician (else every admin)
        if names:
            break
        names = [
            (u.name, u.email)
            for u in db.scalars(
                select(m.User).where(
                    m.User.clinic_id == patient.clinic_id, m.User.role == role, m.User.active.is_(True)
                )
            )
        ]
    notice = m.AlertNotice(
        report_id=report.id,
        clinic_id=patient.clinic_id,
        on_call_name=", ".join(n for n, _ in names) or None,
        on_call_email=", ".join(e for _, e in names) or None,
        escalate_at=utcnow() + delivery.escalation,
    )
    db.add(notice)
    db.flush()
    _send_alert(db, notice, report, patient, delivery, [e for _, e in names], escalated=False)
    return notice


def _send_alert(
    db: Session,
    notice: m.AlertNotice,
    report: m.AftercareReport,
    patient: m.Patient,
    delivery: Delivery,
    emails: list[str],
    *,
    escalated: bool,
) -> None:
    """Queue an alert (or its escalation) by e-mail to ``emails`` and, when configured, by webhook."""
    kind = "escalation" if escalated else "alert"
    subject, body = _alert_text(report, patient, delivery.base_url, escalated=escalated)
    sends = [("email", email, body) for email in emails]
    if delivery.webhook:
        sends.append(("webhook", "webhook", _webhook_body(report, patient, delivery.base_url, escalated)))
    for channel, recipient, text in sends:
        enqueue(
            db,
            clinic_id=notice.clinic_id,
            channel=channel,
            kind=kind,
            recipient=recipient,
            subject=subject,
            body=text,
            patient_id=patient.id,
            alert_id=notice.id,
        )


def escalate_due(db: Session, *, now: dt.datetime, delivery: Delivery) -> list[m.AlertNotice]:
    """Escalate every open alert not acknowledged by its ``escalate_at`` (caller commits)."""
    rows = db.execute(
        select(m.AlertNotice, m.AftercareReport, m.Patient)
        .join(m.AftercareReport, m.AftercareReport.id == m.AlertNotice.report_id)
        .join(m.Patient, m.Patient.id == m.AftercareReport.patient_id)
        .where(
            m.AlertNotice.acknowledged_at.is_(None),
            m.AlertNotice.escalated_at.is_(None),
            m.AlertNotice.escalate_at <= now,
            m.AftercareReport.alert_open.is_(True),
        )
        .with_for_update(skip_locked=True, of=m.AlertNotice)
    ).all()
    done = []
    for notice, report, patient in rows:
        admins = db.scalars(
            select(m.User).where(
                m.User.clinic_id == notice.clinic_id, m.User.role == "admin", m.User.active.is_(True)
            )
        )
        _send_alert(db, notice, report, patient, delivery, [u.email for u in admins], escalated=True)
        notice.escalated_at = now
        db.add(
            m.AuditEntry(
                actor="outbox",
                action="update",
                entity="alert_notice",
                entity_id=notice.id,
                patient_id=patient.id,
                detail="escalated: not acknowledged",
            )
        )
        done.append(notice)
    return done


def notice_of(db: Session, report_id: int) -> m.AlertNotice | None:
    return db.scalar(select(m.AlertNotice).where(m.AlertNotice.report_id == report_id))


def acknowledge_alert(*, db: Session, report_id: int, actor: Actor) -> m.AlertNotice:
    """A clinician (or admin) acknowledges an open alert: it no longer escalates."""
    report = db.get(m.AftercareReport, report_id)
    patient = db.get(m.Patient, report.patient_id) if report is not None else None
    if report is None or patient is None or patient.clinic_id != actor.clinic_id:
        raise NotFoundError(f"report_id: no aftercare report {report_id}")
    if not report.alert_open:
        raise ConflictError("alert_open: the alert is closed already")
    notice = notice_of(db, report.id)
    if notice is None:  # an alert from before notices existed
        notice = m.AlertNotice(report_id=report.id, clinic_id=patient.clinic_id, escalate_at=utcnow())
        db.add(notice)
    if notice.acknowledged_at is None:
        notice.acknowledged_at = utcnow()
        notice.acknowledged_by = actor.user_id
    db.flush()
    db.add(
        m.AuditEntry(
            actor=actor.label,
            user_id=actor.user_id,
            action="update",
            entity="aftercare_report",
            entity_id=report.id,
            patient_id=patient.id,
            detail="alert acknowledged",
        )
    )
    return notice


def check_close_note(note: str) -> str:
    text = note.strip()
    if len(text) < 5:
        raise StoreError("note: say what was done (e.g. 'called the patient, advised 112, seen at A&E')")
    if len(text) > 2000:
        raise StoreError(f"note: at most 2000 characters, got {len(text)}")
    return text


# --- reminders ---------------------------------------------------------------------------------
def _clinic_name(db: Session, clinic_id: int) -> str:
    return db.scalar(select(m.Clinic.name).where(m.Clinic.id == clinic_id)) or "the clinic"


def _remind(
    db: Session,
    *,
    clinic_id: int,
    patient: m.Patient,
    subject: str,
    body: str,
    key: str,
    delivery: Delivery,
) -> int:
    """Queue one reminder by e-mail (address on record) and by webhook (an SMS gateway: phone on
    record, webhook configured); each channel once per ``key``. Returns how many were queued."""
    queued = 0
    if patient.email and enqueue(
        db,
        clinic_id=clinic_id,
        channel="email",
        kind="reminder",
        recipient=patient.email,
        subject=subject,
        body=body,
        patient_id=patient.id,
        dedupe_key=key,
    ):
        queued += 1
    if delivery.webhook and patient.phone:
        import json

        sms = json.dumps({"event": "reminder", "to": patient.phone, "text": body}, sort_keys=True)
        if enqueue(
            db,
            clinic_id=clinic_id,
            channel="webhook",
            kind="reminder",
            recipient=patient.phone,
            subject=subject,
            body=sms,
            patient_id=patient.id,
            dedupe_key=f"{key}:sms",
        ):
            queued += 1
    return queued


def schedule_reminders(db: Session, *, now: dt.datetime, delivery: Delivery) -> int:
    """Queue appointment reminders the day before, and review/recall reminders when nothing is booked.

    Each reminder has a dedupe key, so a scan that runs again queues nothing twice. Returns how many
    were queued.
    """
    from rhytid.clinic import follow_up

    queued = 0
    days_before = int(timing("reminder_days_before"))
    notice_days = int(timing("follow_up_notice_days"))
    for clinic in db.scalars(select(m.Clinic)):
        tz = zone(clinic.time_zone)
        today = to_local(now, tz).date()
        contact = clinic_contact(db, clinic.id)
        phone = f" or call {contact.phone}" if contact.phone else ""
        target = today + dt.timedelta(days=days_before)
        appts = db.execute(
            select(m.Appointment, m.Patient)
            .join(m.Patient, m.Patient.id == m.Appointment.patient_id)
            .where(
                m.Appointment.clinic_id == clinic.id,
                m.Appointment.status == "booked",
                m.Appointment.starts_at >= now - dt.timedelta(days=1),
                m.Appointment.starts_at < now + dt.timedelta(days=days_before + 1),
            )
        ).all()
        for appt, patient in appts:
            local = to_local(appt.starts_at, tz)
            if local.date() != target:
                continue
            body = (
                f"Dear {patient.given_name},\n\nThis is a reminder of your {appt.kind} appointment at "
                f"{clinic.name} on {local:%A %d %B %Y at %H:%M}.\n\nIf you cannot come, please let us "
                f"know{phone}.\n"
            )
            queued += _remind(
                db,
                clinic_id=clinic.id,
                patient=patient,
                body=body,
                delivery=delivery,
                subject=f"Your appointment at {clinic.name} tomorrow, {local:%H:%M}",
                key=f"appointment-reminder:{appt.id}",
            )
        treated = db.execute(
            select(m.Treatment, m.Patient)
            .join(m.Patient, m.Patient.id == m.Treatment.patient_id)
            .where(m.Patient.clinic_id == clinic.id, m.Treatment.performed_at >= now - dt.timedelta(days=365))
        ).all()
        for treatment, patient in treated:
            plan = follow_up(treatment.performed_at.date(), treatment.product, treatment.total_units)
            for kind, due in (("review", plan.review_date), ("recall", plan.recall_date)):
                if not (today <= due <= today + dt.timedelta(days=notice_days)):
                    continue
                booked = db.scalar(
                    select(m.Appointment.id).where(
                        m.Appointment.patient_id == patient.id,
                        m.Appointment.kind == kind,
                        m.Appointment.status != "cancelled",
                        m.Appointment.starts_at >= treatment.performed_at,
                    )
                )
                if booked is not None:
                    continue
                what = "2-week review" if kind == "review" else "next treatment (recall)"
                body = (
                    f"Dear {patient.given_name},\n\nYour {what} after your treatment on "
                    f"{treatment.performed_at:%d %B %Y} is due on {due:%A %d %B %Y}. Please book an "
                    f"appointment with {clinic.name}{phone}.\n"
                )
                queued += _remind(
                    db,
                    clinic_id=clinic.id,
                    patient=patient,
                    body=body,
                    delivery=delivery,
                    subject=f"Your {what} at {clinic.name} is due",
                    key=f"{kind}-reminder:{treatment.id}",
                )
    return queued


def link_message(
    db: Session, *, patient: m.Patient, what: str, url: str, expires_days: float
) -> m.OutboxMessage:
    """An e-mail to the patient with their form link (StoreError when no address is on record)."""
    if not patient.email:
        raise StoreError("email: the patient has no e-mail address on record; add one, or show the link")
    clinic = _clinic_name(db, patient.clinic_id)
    body = (
        f"Dear {patient.given_name},\n\n{clinic} asks you to fill in your {what}:\n\n{url}\n\n"
        f"The link is for you only and works for {expires_days:g} days.\n"
    )
    row = enqueue(
        db,
        clinic_id=patient.clinic_id,
        channel="email",
        kind="link",
        recipient=patient.email,
        subject=f"{clinic}: your {what}",
        body=body,
        patient_id=patient.id,
    )
    assert row is not None
    return row
