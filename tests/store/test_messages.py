"""The outbox's rules in the store (SQLite and PostgreSQL): reminders are queued once, the day before
an appointment and a few days before a review or recall that nothing is booked for; a failed
delivery waits longer each time up to the cap; a claimed message is not handed out twice until its
claim runs out, and is due at once after a restart; only an open, unacknowledged alert escalates."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rhytid.clinic import follow_up
from rhytid.store import _messages as msg
from rhytid.store import models as m
from rhytid.store import repo, transaction
from rhytid.store import schemas as s
from rhytid.store._models import utcnow

from .conftest import World, new_patient

NOW = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
DELIVERY = msg.Delivery(email=True, webhook=False, base_url="http://clinic.example")


def _with_email(factory: sessionmaker[Session], world: World, email: str | None) -> int:
    pid = new_patient(factory, world.clinician)
    with transaction(factory) as db:
        repo.update_patient(db=db, patient_id=pid, data=s.PatientUpdate(email=email), actor=world.clinician)
    return pid


def _outbox(factory: sessionmaker[Session], pid: int) -> list[m.OutboxMessage]:
    with factory() as db:
        return list(
            db.scalars(
                select(m.OutboxMessage).where(m.OutboxMessage.patient_id == pid).order_by(m.OutboxMessage.id)
            )
        )


def _book(db: Session, world: World, pid: int, at: dt.datetime, kind: str = "consultation") -> m.Appointment:
    return repo.book_appointment(
        db=db,
        data=s.AppointmentCreate(
            patient_id=pid, clinician_id=world.clinician_id, kind=kind, starts_at=at, minutes=15
        ),
        actor=world.clinician,
    )


def _scan(factory: sessionmaker[Session], now: dt.datetime = NOW) -> int:
    with transaction(factory) as db:
        return msg.schedule_reminders(db, now=now, delivery=DELIVERY)


def test_appointment_reminder_the_day_before_once(factory: sessionmaker[Session], world: World) -> None:
    pid = _with_email(factory, world, "ann@example.org")
    without = _with_email(factory, world, None)
    with transaction(factory) as db:
        tomorrow = _book(db, world, pid, NOW + dt.timedelta(days=1, hours=-2))
        _book(db, world, pid, NOW + dt.timedelta(days=3))  # not yet
        cancelled = _book(db, world, pid, NOW + dt.timedelta(days=1, hours=2), "review")
        repo.cancel_appointment(db=db, appointment_id=cancelled.id, actor=world.clinician)
        _book(db, world, without, NOW + dt.timedelta(days=1, hours=1))
    _scan(factory)
    _scan(factory)  # a second scan queues nothing twice
    [row] = _outbox(factory, pid)
    assert (row.kind, row.recipient, row.dedupe_key) == (
        "reminder",
        "ann@example.org",
        f"appointment-reminder:{tomorrow.id}",
    )
    assert "consultation appointment" in row.body and f"{tomorrow.starts_at:%H:%M}" in row.body
    assert _outbox(factory, without) == []  # no address: nothing to send


def test_review_and_recall_reminders_only_when_nothing_is_booked(
    factory: sessionmaker[Session], world: World
) -> None:
    pid = _with_email(factory, world, "rev@example.org")
    booked = _with_email(factory, world, "booked@example.org")
    performed = NOW - dt.timedelta(days=12)  # the 2-week review is due in 2 days
    with transaction(factory) as db:
        vial = repo.create_vial(
            db=db,
            data=s.VialCreate(
                product="onabotulinumtoxinA",
                lot="R-1",
                expiry=dt.date(2099, 1, 1),
                vial_units=100,
                diluent_ml=2.5,
                reconstituted_at=performed - dt.timedelta(hours=1),
            ),
            actor=world.clinician,
        )
        for p in (pid, booked):
            db.add(
                m.Treatment(
                    patient_id=p,
                    vial_id=vial.id,
                    clinician_id=world.clinician_id,
                    performed_at=performed,
                    product="onabotulinumtoxinA",
                    lot="R-1",
                    expiry=dt.date(2099, 1, 1),
                    total_units=20.0,
                    areas=["glabellar"],
                )
            )
        db.flush()
        _book(db, world, booked, NOW + dt.timedelta(days=2), "review")
    review = follow_up(performed.date(), "onabotulinumtoxinA", 20.0).review_date
    assert NOW.date() <= review <= NOW.date() + dt.timedelta(days=3)
    assert _scan(factory) >= 1
    rows = _outbox(factory, pid)
    assert [r.dedupe_key.split(":")[0] for r in rows if r.dedupe_key] == ["review-reminder"]
    assert f"{review:%A %d %B %Y}" in rows[0].body
    assert _outbox(factory, booked) == []  # its review is booked (in 2 days: no reminder yet either)
    _scan(factory)
    assert len(_outbox(factory, pid)) == 1  # queued once


def test_failed_delivery_backs_off_doubling_to_the_cap(factory: sessionmaker[Session], world: World) -> None:
    pid = _with_email(factory, world, "x@example.org")
    with transaction(factory) as db:
        row = msg.enqueue(
            db,
            clinic_id=world.clinic_id,
            channel="email",
            kind="link",
            recipient="x@example.org",
            subject="s",
            body="b",
            patient_id=pid,
        )
        assert row is not None
        mid = row.id
    base, cap = msg.timing("retry_base_seconds"), msg.timing("retry_max_seconds")
    waits = []
    for attempt in range(1, 10):
        with transaction(factory) as db:
            before = utcnow()
            again = msg.mark_failed(db, mid, attempt, f"refused {attempt}")
        waits.append((again - before).total_seconds())
    expected = [min(base * 2 ** (a - 1), cap) for a in range(1, 10)]
    assert all(abs(w - e) < 2 for w, e in zip(waits, expected, strict=True)), (waits, expected)
    assert all(b >= a - 1 for a, b in itertools.pairwise(waits)) and abs(waits[-1] - cap) < 2
    [stored] = _outbox(factory, pid)
    assert stored.status == "pending" and stored.last_error == "refused 9"


def test_a_claim_is_exclusive_until_it_runs_out_and_a_restart_makes_it_due(
    factory: sessionmaker[Session], world: World
) -> None:
    pid = _with_email(factory, world, "c@example.org")
    now = utcnow()  # not NOW (noon today): before noon that lies ahead and nothing would be due
    with transaction(factory) as db:
        msg.enqueue(
            db,
            clinic_id=world.clinic_id,
            channel="email",
            kind="link",
            recipient="c@example.org",
            subject="s",
            body="b",
            patient_id=pid,
            at=now,
        )
    with transaction(factory) as db:
        first = [
            o for o in msg.claim_due(db, channels=("email",), now=now, limit=1000) if o.patient_id == pid
        ]
    with transaction(factory) as db:
        again = [
            o for o in msg.claim_due(db, channels=("email",), now=now, limit=1000) if o.patient_id == pid
        ]
        webhook_only = msg.claim_due(db, channels=("webhook",), now=now + dt.timedelta(hours=1))
    assert len(first) == 1 and first[0].attempts == 1 and again == []
    assert all(o.channel == "webhook" for o in webhook_only)
    with transaction(factory) as db:
        msg.due_now(db, now=now)  # the server restarted: the claim of the stopped process is void
    with transaction(factory) as db:
        retried = [
            o for o in msg.claim_due(db, channels=("email",), now=now, limit=1000) if o.patient_id == pid
        ]
        assert [o.attempts for o in retried] == [2]
        msg.mark_sent(db, retried[0].id)
    with transaction(factory) as db:
        msg.due_now(db, now=now)
        assert [
            o for o in msg.claim_due(db, channels=("email",), now=now, limit=1000) if o.patient_id == pid
        ] == []
    assert [r.status for r in _outbox(factory, pid)] == ["sent"]


def _breathing_trouble(db: Session, world: World, pid: int) -> m.AftercareReport:
    """An emergency aftercare report (an open alert that escalates after 60 s unacknowledged)."""
    return repo.submit_aftercare(
        db=db,
        patient_id=pid,
        treatment_id=None,
        actor=world.clinician,
        report={"days_since_treatment": 2, "symptoms": [{"code": "trouble_breathing"}]},
        delivery=msg.Delivery(email=True, escalation_seconds=60),
    )


def test_only_open_unacknowledged_alerts_escalate(factory: sessionmaker[Session], world: World) -> None:
    with transaction(factory) as db:
        admin = repo.create_user(
            db=db,
            clinic_id=world.clinic_id,
            data=s.UserCreate(
                email=f"admin-{world.clinic_id}@example.org",
                name="Ad Min",
                role="admin",
                password="a-long-password",
            ),
        )
    ids = []
    for _ in range(3):
        pid = new_patient(factory, world.clinician)
        with transaction(factory) as db:
            ids.append(_breathing_trouble(db, world, pid).id)
    with transaction(factory) as db:
        msg.acknowledge_alert(db=db, report_id=ids[1], actor=world.clinician)
        repo.close_alert(db=db, report_id=ids[2], note="called 112 with the patient", actor=world.clinician)
    with transaction(factory) as db:
        assert msg.escalate_due(db, now=utcnow(), delivery=DELIVERY) == []  # not yet due
    with transaction(factory) as db:
        done = msg.escalate_due(db, now=utcnow() + dt.timedelta(minutes=2), delivery=DELIVERY)
        assert [n.report_id for n in done] == [ids[0]]
    with factory() as db:
        to_admin = db.scalars(
            select(m.OutboxMessage).where(
                m.OutboxMessage.recipient == admin.email, m.OutboxMessage.kind == "escalation"
            )
        ).all()
        first = db.scalars(
            select(m.OutboxMessage).where(
                m.OutboxMessage.alert_id == done[0].id, m.OutboxMessage.kind == "alert"
            )
        ).all()
    assert len(to_admin) == 1 and "ESCALATED" in to_admin[0].subject
    assert [r.recipient for r in first] == [world.clinician.label]  # nobody on call: every clinician
    with transaction(factory) as db:  # escalates once
        assert msg.escalate_due(db, now=utcnow() + dt.timedelta(minutes=5), delivery=DELIVERY) == []


def test_an_alert_escalates_at_its_time_to_the_active_admins_only(
    factory: sessionmaker[Session], world: World
) -> None:
    """Unacknowledged at ``escalate_at`` (not a moment later): the clinic's active admins get the
    escalation; a deactivated admin's account no longer receives patient alerts."""
    emails = {}
    with transaction(factory) as db:
        for who, active in (("on", True), ("off", False)):
            user = repo.create_user(
                db=db,
                clinic_id=world.clinic_id,
                data=s.UserCreate(
                    email=f"admin-{who}-{world.clinic_id}@example.org",
                    name=f"Admin {who}",
                    role="admin",
                    password="a-long-password",
                ),
            )
            user.active = active
            emails[who] = user.email
    pid = new_patient(factory, world.clinician)
    with transaction(factory) as db:
        report = _breathing_trouble(db, world, pid)
        notice = msg.notice_of(db, report.id)
        assert notice is not None
        due = notice.escalate_at
    with transaction(factory) as db:
        assert msg.escalate_due(db, now=due - dt.timedelta(microseconds=1), delivery=DELIVERY) == []
    with transaction(factory) as db:
        assert [n.report_id for n in msg.escalate_due(db, now=due, delivery=DELIVERY)] == [report.id]
    with factory() as db:
        to = {
            r.recipient
            for r in db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.kind == "escalation")).all()
        }
    assert emails["on"] in to and emails["off"] not in to
