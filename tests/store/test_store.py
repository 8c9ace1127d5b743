"""Repositories on SQLite and PostgreSQL: audit, rules enforced, nothing changed on failure."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rhytid.errors import RhytidError
from rhytid.store import ConflictError, is_migrated, migrate, repo, transaction
from rhytid.store import models as m
from rhytid.store import schemas as s
from rhytid.store._vials import vial_flags

from .conftest import GLABELLAR, World, new_patient


def _count(factory: sessionmaker[Session], model: type[m.Base]) -> int:
    with factory() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _vial(
    factory: sessionmaker[Session],
    world: World,
    *,
    hours_ago: float = 1.0,
    product: str = "onabotulinumtoxinA",
    expiry: dt.date = dt.date(2099, 1, 1),
    units: float = 100,
) -> int:
    with transaction(factory) as db:
        v = repo.create_vial(
            db=db,
            data=s.VialCreate(
                product=product,
                lot="L-1",
                expiry=max(expiry, dt.date.today()),
                vial_units=units,
                diluent_ml=2.5,
                reconstituted_at=m.utcnow() - dt.timedelta(hours=hours_ago),
            ),
            actor=world.clinician,
        )
        v.expiry = expiry  # a lot that has expired since it was put in the fridge
        return v.id


def _plan(
    factory: sessionmaker[Session],
    world: World,
    pid: int,
    product: str = "onabotulinumtoxinA",
    status: str = "ready",
) -> int:
    with transaction(factory) as db:
        return repo.create_plan(
            db=db,
            patient_id=pid,
            data=s.PlanCreate(product=product, injections=GLABELLAR, status=status),  # type: ignore[arg-type]
            actor=world.clinician,
        ).id


def _treat(db: Session, world: World, pid: int, plan_id: int, vial_id: int) -> m.Treatment:
    """Record the treatment of plan ``plan_id`` from vial ``vial_id`` (the clinician of ``world``)."""
    return repo.create_treatment(
        db=db, patient_id=pid, data=s.TreatmentCreate(plan_id=plan_id, vial_id=vial_id), actor=world.clinician
    )


def test_migrations_are_idempotent(engine) -> None:
    migrate(engine)
    assert is_migrated(engine)


def test_create_and_read_patient_are_audited(factory, world: World) -> None:
    pid = new_patient(factory, world.front_desk, consents=())
    with transaction(factory) as db:
        repo.get_patient(db=db, patient_id=pid, actor=world.clinician)
    with factory() as db:
        rows = db.scalars(
            select(m.AuditEntry).where(m.AuditEntry.patient_id == pid).order_by(m.AuditEntry.id)
        ).all()
    assert [(r.action, r.entity, r.actor) for r in rows] == [
        ("create", "patient", world.front_desk.label),
        ("create", "medical_history", world.front_desk.label),
        ("read", "patient", world.clinician.label),
    ]


def test_failed_request_changes_nothing(factory, world: World) -> None:
    before = (_count(factory, m.Patient), _count(factory, m.AuditEntry))
    with pytest.raises(RhytidError, match="medications"), transaction(factory) as db:
        p = repo.create_patient(
            db=db,
            data=s.PatientCreate(given_name="B", family_name="C", birth_date=dt.date(1970, 1, 1), sex="male"),
            actor=world.clinician,
        )
        repo.submit_history(
            db=db,
            patient_id=p.id,
            answers={"schema_version": 1, "medications": ["snake_oil"]},
            actor=world.clinician,
        )
    assert (_count(factory, m.Patient), _count(factory, m.AuditEntry)) == before


def test_screening_acknowledgement_and_treatment(factory, world: World) -> None:
    pid = new_patient(factory, world.clinician, medications=["warfarin"])
    plan_id, vial_id = _plan(factory, world, pid), _vial(factory, world)
    with (
        pytest.raises(
            RhytidError, match=r"review: needs your acknowledgement .*screening page: takes warfarin"
        ),
        transaction(factory) as db,
    ):
        _treat(db, world, pid, plan_id, vial_id)
    with pytest.raises(RhytidError, match="role"), transaction(factory) as db:
        repo.acknowledge_precautions(db=db, patient_id=pid, codes=["antithrombotic"], actor=world.front_desk)
    with pytest.raises(RhytidError, match="codes"), transaction(factory) as db:
        repo.acknowledge_precautions(db=db, patient_id=pid, codes=["pregnant"], actor=world.clinician)
    with transaction(factory) as db:
        h = repo.acknowledge_precautions(
            db=db, patient_id=pid, codes=["antithrombotic"], actor=world.clinician
        )
        assert h.acknowledgements[0]["codes"] == ["antithrombotic"]
    with transaction(factory) as db:
        t = _treat(db, world, pid, plan_id, vial_id)
        assert (t.lot, t.total_units, t.areas, len(t.injections)) == ("L-1", 20.0, ["glabellar"], 5)
        assert repo.treatment_follow_up(t).review_date == t.performed_at.date() + dt.timedelta(days=14)
    with factory() as db:
        vial = db.get(m.Vial, vial_id)
        assert vial is not None and vial.units_left == 80


@pytest.mark.parametrize(
    ("vial_kw", "message"),
    [
        ({"hours_ago": 30}, "must be used within 24 h"),
        ({"expiry": dt.date.today() - dt.timedelta(days=1)}, "expired"),
        ({"units": 10}, "10 U left"),
        ({"units": 19.9}, "19.9 U left"),
        ({"product": "incobotulinumtoxinA"}, "the vial holds incobotulinumtoxinA"),
    ],
    ids=["over-24h", "expired-lot", "short-of-units", "short-by-a-tenth", "other-product"],
)
def test_unusable_vials_are_refused(factory, world: World, vial_kw: dict[str, object], message: str) -> None:
    pid = new_patient(factory, world.clinician)
    plan_id, vial_id = _plan(factory, world, pid), _vial(factory, world, **vial_kw)  # type: ignore[arg-type]
    treatments = _count(factory, m.Treatment)
    with pytest.raises(RhytidError, match=rf"vial_id: .*{message}"), transaction(factory) as db:
        _treat(db, world, pid, plan_id, vial_id)
    assert _count(factory, m.Treatment) == treatments


def test_a_vial_is_used_to_its_last_unit_then_flagged_empty_and_a_discarded_one_is_refused(
    factory, world: World
) -> None:
    pid = new_patient(factory, world.clinician)
    vial_id = _vial(factory, world)
    with transaction(factory) as db:
        left = db.get(m.Vial, vial_id)
        assert left is not None
        left.units_left = 20  # used before; the label glabellar plan needs exactly 20 U
    with transaction(factory) as db:
        _treat(db, world, pid, _plan(factory, world, pid), vial_id)
    with factory() as db:
        vial = db.get(m.Vial, vial_id)
        assert vial is not None and vial.units_left == 0
        assert "empty" in vial_flags(vial, m.utcnow())
    other, second = _vial(factory, world), new_patient(factory, world.clinician)
    with transaction(factory) as db:
        row = db.get(m.Vial, other)
        assert row is not None
        row.discarded = True
    with pytest.raises(RhytidError, match=r"vial_id: .*discarded"), transaction(factory) as db:
        _treat(db, world, second, _plan(factory, world, second), other)


def test_inventory_refuses_an_expired_vial_and_flags_one_past_its_use_by(factory, world: World) -> None:
    vials = _count(factory, m.Vial)
    data = {
        "product": "onabotulinumtoxinA",
        "lot": "OLD",
        "vial_units": 100,
        "diluent_ml": 2.5,
        "reconstituted_at": m.utcnow() - dt.timedelta(days=3),
    }
    with pytest.raises(RhytidError, match="expiry: lot OLD expired on"), transaction(factory) as db:
        repo.create_vial(
            db=db,
            data=s.VialCreate(**data, expiry=dt.date.today() - dt.timedelta(days=1)),  # type: ignore[arg-type]
            actor=world.clinician,
        )
    assert _count(factory, m.Vial) == vials
    with transaction(factory) as db:
        stale = repo.create_vial(
            db=db,
            data=s.VialCreate(**data, expiry=dt.date(2099, 1, 1)),  # type: ignore[arg-type]
            actor=world.clinician,
        )
        flags = repo.vial_flags(stale, m.utcnow())
        assert len(flags) == 1 and flags[0].startswith("past its use-by time"), flags
        assert "must be used within 24 h" in flags[0]
    fresh_id = _vial(factory, world, hours_ago=23)
    dax_id = _vial(factory, world, hours_ago=48, product="daxibotulinumtoxinA")
    with factory() as db:
        fresh, dax = db.get(m.Vial, fresh_id), db.get(m.Vial, dax_id)
        assert fresh is not None and repo.vial_flags(fresh, m.utcnow()) == []
        assert dax is not None and repo.vial_flags(dax, m.utcnow()) == []  # 72 h for daxibotulinumtoxinA


def test_daxibotulinumtoxin_vial_keeps_72_hours(factory, world: World) -> None:
    pid = new_patient(factory, world.clinician)
    plan_id = _plan(factory, world, pid, product="daxibotulinumtoxinA")
    vial_id = _vial(factory, world, hours_ago=48, product="daxibotulinumtoxinA")
    with transaction(factory) as db:
        _treat(db, world, pid, plan_id, vial_id)


def test_contraindication_blocks_treatment(factory, world: World) -> None:
    """A blocked plan is not saved as ready, only as a draft, and a draft is not recorded."""
    pid = new_patient(factory, world.clinician, conditions=["myasthenia_gravis"])
    with pytest.raises(RhytidError, match=r"status: .*contraindication: myasthenia.*draft"):
        _plan(factory, world, pid)
    plan_id, vial_id = _plan(factory, world, pid, status="draft"), _vial(factory, world)
    with pytest.raises(RhytidError, match=r"plan_id: .* is a draft"), transaction(factory) as db:
        _treat(db, world, pid, plan_id, vial_id)
    with pytest.raises(RhytidError, match=r"status: .*contraindication"), transaction(factory) as db:
        repo.mark_plan_ready(db=db, patient_id=pid, plan_id=plan_id, actor=world.clinician)
    with factory() as db:
        plan = db.get(m.Plan, plan_id)
        assert plan is not None and plan.status == "draft"


def _book(factory: sessionmaker[Session], world: World, pid: int, at: dt.datetime, minutes: int = 15) -> int:
    with transaction(factory) as db:
        return repo.book_appointment(
            db=db,
            data=s.AppointmentCreate(
                patient_id=pid, clinician_id=world.clinician_id, kind="review", starts_at=at, minutes=minutes
            ),
            actor=world.front_desk,
        ).id


def test_no_double_booking_and_cancel_frees_the_slot(factory, world: World) -> None:
    pid = new_patient(factory, world.front_desk, consents=())
    at = dt.datetime(2031, 3, 3, 10, 0)
    first = _book(factory, world, pid, at, minutes=30)
    with pytest.raises(ConflictError, match=r"starts_at: .*already booked"):
        _book(factory, world, pid, at + dt.timedelta(minutes=15))
    _book(factory, world, pid, at + dt.timedelta(minutes=30))
    with pytest.raises(RhytidError, match="starts_at: must fall on a 15-minute boundary"):
        _book(factory, world, pid, at + dt.timedelta(hours=2, minutes=7))
    with transaction(factory) as db:
        repo.cancel_appointment(db=db, appointment_id=first, actor=world.front_desk)
    _book(factory, world, pid, at + dt.timedelta(minutes=15))


def test_fifty_concurrent_bookings_give_exactly_one(factory, world: World) -> None:
    pid = new_patient(factory, world.front_desk, consents=())
    at = dt.datetime(2032, 4, 5, 11, 0)
    results: list[str] = []
    barrier = threading.Barrier(50)

    def attempt() -> None:
        barrier.wait()
        try:
            _book(factory, world, pid, at)
            results.append("booked")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["booked"] + ["conflict"] * 49
    with factory() as db:
        n = db.scalar(select(func.count()).select_from(m.Appointment).where(m.Appointment.starts_at == at))
    assert n == 1


@pytest.mark.parametrize(
    ("symptoms", "level", "alert"),
    [
        ([{"code": "bruising"}], "expected", False),
        ([{"code": "eyelid_droop"}], "contact_clinic", True),
        (
            [{"code": "facial_droop", "onset": "sudden", "location": "outside_treated_area"}],
            "emergency",
            True,
        ),
    ],
    ids=["expected", "contact-clinic", "emergency"],
)
def test_aftercare_triage_opens_alerts(
    factory, world: World, symptoms: list[dict[str, str]], level: str, alert: bool
) -> None:
    pid = new_patient(factory, world.clinician)
    with transaction(factory) as db:
        r = repo.submit_aftercare(
            db=db,
            patient_id=pid,
            treatment_id=None,
            report={"days_since_treatment": 3, "symptoms": symptoms},
            actor=world.clinician,
        )
        assert (r.level, r.alert_open) == (level, alert)
    with transaction(factory) as db:
        ids = [a.id for a, _ in repo.open_alerts(db=db, actor=world.clinician)]
    assert (r.id in ids) == alert


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _assessment(factory: sessionmaker[Session], world: World) -> int:
    pid = new_patient(factory, world.clinician)
    with transaction(factory) as db:
        return repo.create_assessment(
            db=db,
            patient_id=pid,
            data=s.AssessmentCreate(assessed_on=dt.date.today(), grades={"glabellar": {"rest": 1, "max": 3}}),
            actor=world.clinician,
        ).id


def _add_photo(
    db: Session,
    world: World,
    assessment_id: int,
    folder: Path,
    content: bytes = PNG,
    filename: str = "../../etc/x.png",
    content_type: str = "image/png",
) -> m.Photo:
    return repo.add_photo(
        db=db,
        assessment_id=assessment_id,
        filename=filename,
        content_type=content_type,
        content=content,
        folder=folder,
        actor=world.clinician,
    )


def _files(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder``, hidden (staged) ones included."""
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


def test_photo_is_stored_with_its_checksum_and_its_file_appears_on_commit(
    factory: sessionmaker[Session], world: World, tmp_path: Path
) -> None:
    a = _assessment(factory, world)
    with transaction(factory) as db:
        photo = _add_photo(db, world, a, tmp_path)
        assert photo.sha256 == hashlib.sha256(PNG).hexdigest() and photo.filename == "x.png"
        assert photo.stored_as == f"{photo.sha256}.png"
        staged = _files(tmp_path)  # written before the commit, under a hidden temporary name
        assert [(n.startswith(f".{photo.stored_as}."), c) for n, c in staged.items()] == [(True, PNG)]
    assert _files(tmp_path) == {photo.stored_as: PNG}
    with (
        pytest.raises(RhytidError, match=r"file: 'x\.jpg' is not a image/jpeg image"),
        transaction(factory) as db,
    ):
        _add_photo(db, world, a, tmp_path, PNG, "x.jpg", "image/jpeg")
    assert _files(tmp_path) == {photo.stored_as: PNG}


def test_a_failed_transaction_leaves_no_photo_file_and_keeps_a_shared_one(
    factory: sessionmaker[Session], world: World, tmp_path: Path
) -> None:
    a = _assessment(factory, world)
    other = PNG + b"other"
    # the file was written, then the transaction failed: no file stays behind, no row either
    with pytest.raises(ConflictError), transaction(factory) as db:
        _add_photo(db, world, a, tmp_path, other)
        raise ConflictError("test: the transaction fails after the file was written")
    assert _files(tmp_path) == {}
    # a file that a stored row references survives a failure of another row with the same bytes
    with transaction(factory) as db:
        kept = _add_photo(db, world, a, tmp_path).stored_as
    for content in (PNG, other):
        with factory() as db:
            _add_photo(db, world, a, tmp_path, content)
            db.rollback()
    assert _files(tmp_path) == {kept: PNG}
    # a photo added in a savepoint that is rolled back is not published by the outer commit
    with transaction(factory) as db:
        nested = db.begin_nested()
        _add_photo(db, world, a, tmp_path, other)
        nested.rollback()
    assert _files(tmp_path) == {kept: PNG}
    with factory() as db:  # closed without commit
        _add_photo(db, world, a, tmp_path, other)
    assert _files(tmp_path) == {kept: PNG}
    with factory() as db:
        assert db.scalars(select(m.Photo.stored_as).where(m.Photo.assessment_id == a)).all() == [kept]
