"""Follow-ups due (``repo.due_follow_ups``): a review 14 days after a treatment and a recall at the
typical duration, listed from ``horizon_days`` before they fall due until an appointment of that
kind is booked after the treatment; a review is dropped 14 days after its date, a recall never."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from rhytid.store import models as m
from rhytid.store import repo, transaction
from rhytid.store import schemas as s

from .conftest import World, new_patient
from .test_store import _plan, _treat, _vial


def _treated(factory: sessionmaker[Session], world: World) -> tuple[int, m.Treatment]:
    pid = new_patient(factory, world.clinician)
    plan_id, vial_id = _plan(factory, world, pid), _vial(factory, world)
    with transaction(factory) as db:
        t = _treat(db, world, pid, plan_id, vial_id)
        db.expunge(t)
    return pid, t


def _due(factory: sessionmaker[Session], world: World, pid: int, today: dt.date) -> set[tuple[str, dt.date]]:
    with transaction(factory) as db:
        rows = repo.due_follow_ups(db=db, actor=world.front_desk, today=today)
        return {(d["kind"], d["due"]) for d in rows if d["patient"].id == pid}


def test_a_follow_up_is_listed_from_its_horizon_and_a_review_until_14_days_after(
    factory: sessionmaker[Session], world: World
) -> None:
    pid, t = _treated(factory, world)
    plan = repo.treatment_follow_up(t)
    day = t.performed_at.date()
    review, recall = ("review", plan.review_date), ("recall", plan.recall_date)
    assert plan.review_date == day + dt.timedelta(days=14)
    assert _due(factory, world, pid, plan.review_date - dt.timedelta(days=8)) == set()
    assert _due(factory, world, pid, plan.review_date - dt.timedelta(days=7)) == {review}  # due == horizon
    assert review in _due(factory, world, pid, plan.review_date + dt.timedelta(days=14))
    late = plan.recall_date + dt.timedelta(days=200)
    assert _due(factory, world, pid, plan.review_date + dt.timedelta(days=15)) == set()
    assert _due(factory, world, pid, late) == {recall}  # a recall stays until it is booked


def test_a_booked_review_after_the_treatment_clears_it_and_cancelling_brings_it_back(
    factory: sessionmaker[Session], world: World
) -> None:
    pid, t = _treated(factory, world)
    plan = repo.treatment_follow_up(t)
    today = plan.review_date
    with transaction(factory) as db:  # an old review, from before this treatment, does not count
        db.add(
            m.Appointment(
                clinic_id=world.clinic_id,
                patient_id=pid,
                clinician_id=world.clinician_id,
                kind="review",
                status="done",
                starts_at=t.performed_at - dt.timedelta(days=30),
                minutes=15,
            )
        )
    assert ("review", plan.review_date) in _due(factory, world, pid, today)
    at = dt.datetime.combine(plan.review_date + dt.timedelta(days=400), dt.time(10, 0))
    with transaction(factory) as db:
        booked = repo.book_appointment(
            db=db,
            data=s.AppointmentCreate(
                patient_id=pid, clinician_id=world.clinician_id, kind="review", starts_at=at, minutes=15
            ),
            actor=world.front_desk,
        ).id
    assert ("review", plan.review_date) not in _due(factory, world, pid, today)
    with transaction(factory) as db:
        repo.cancel_appointment(db=db, appointment_id=booked, actor=world.front_desk)
    assert ("review", plan.review_date) in _due(factory, world, pid, today)
