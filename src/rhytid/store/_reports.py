"""Clinic reports over a period: units per area and product, lot usage, appointment outcomes
(no-shows), and completion of the 2-week reviews and the recalls that follow each treatment.

Periods are half-open UTC intervals ``[start, end)`` (the pages turn clinic-local days into them).
Each report is a list of flat rows (dicts with the same keys), so the page and the CSV show the
same numbers. Every report run is audited (``read`` on the page, ``export`` for a CSV).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from rhytid.anatomy import reference_face
from rhytid.clinic import PlannedInjection, follow_up, injection_area
from rhytid.store import _models as m
from rhytid.store._audit import Actor, audit
from rhytid.store._errors import StoreError

__all__ = ["COLUMNS", "REPORTS", "run_report"]

REPORTS = {
    "units": "Units per area and product",
    "lots": "Lot usage",
    "appointments": "Appointments by status (no-shows)",
    "follow_ups": "Review and recall completion",
}

#: The columns of each report, in order (the CSV header, also when a report has no rows).
COLUMNS = {
    "units": ("area", "product", "treatments", "patients", "injections", "units", "units_per_treatment"),
    "lots": ("product", "lot", "expiry", "treatments", "units", "first_used", "last_used"),
    "appointments": ("clinician", *m.APPOINTMENT_STATUSES, "no_show_rate"),
    "follow_ups": ("follow_up", "due", "completed", "booked", "missing", "completion_rate"),
}


def _treatments(
    db: Session, actor: Actor, start: dt.datetime, end: dt.datetime
) -> list[tuple[m.Treatment, m.Patient]]:
    rows = db.execute(
        select(m.Treatment, m.Patient)
        .join(m.Patient, m.Patient.id == m.Treatment.patient_id)
        .where(
            m.Patient.clinic_id == actor.clinic_id,
            m.Treatment.performed_at >= start,
            m.Treatment.performed_at < end,
        )
        .options(selectinload(m.Treatment.injections))
        .order_by(m.Treatment.performed_at)
    ).all()
    return [(t, p) for t, p in rows]


def _area(sex: str, inj: m.TreatmentInjection) -> str:
    face = reference_face("male" if sex == "male" else "female")
    planned = PlannedInjection(
        x_mm=inj.x_mm, y_mm=inj.y_mm, units=inj.units, volume_ml=0.1, depth=inj.depth, site=inj.site
    )
    area = injection_area(face, planned)
    if area is None:
        return "outside the treatment areas"
    return "lateral canthal" if area.startswith("lateral_canthal") else area.replace("_", " ")


def _units(db: Session, actor: Actor, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    total: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    patients: dict[tuple[str, str], set[int]] = defaultdict(set)
    for t, p in _treatments(db, actor, start, end):
        seen: set[tuple[str, str]] = set()
        for inj in t.injections:
            key = (_area(p.sex, inj), t.product)
            total[key][0] += inj.units
            total[key][1] += 1
            if key not in seen:
                total[key][2] += 1
                seen.add(key)
            patients[key].add(p.id)
    return [
        {
            "area": area,
            "product": product,
            "treatments": int(v[2]),
            "patients": len(patients[(area, product)]),
            "injections": int(v[1]),
            "units": round(v[0], 1),
            "units_per_treatment": round(v[0] / v[2], 1),
        }
        for (area, product), v in sorted(total.items())
    ]


def _lots(db: Session, actor: Actor, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for t, _ in _treatments(db, actor, start, end):
        row = out.setdefault(
            (t.product, t.lot),
            {
                "product": t.product,
                "lot": t.lot,
                "expiry": t.expiry.isoformat(),
                "treatments": 0,
                "units": 0.0,
                "first_used": t.performed_at.date().isoformat(),
                "last_used": t.performed_at.date().isoformat(),
            },
        )
        row["treatments"] += 1
        row["units"] = round(row["units"] + t.total_units, 1)
        row["last_used"] = t.performed_at.date().isoformat()
    return [out[k] for k in sorted(out)]


def _appointments(db: Session, actor: Actor, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    rows = db.execute(
        select(m.Appointment, m.User)
        .join(m.User, m.User.id == m.Appointment.clinician_id)
        .where(
            m.Appointment.clinic_id == actor.clinic_id,
            m.Appointment.starts_at >= start,
            m.Appointment.starts_at < end,
        )
    ).all()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(m.APPOINTMENT_STATUSES, 0))
    for a, u in rows:
        counts[u.name][a.status] += 1
        counts["all clinicians"][a.status] += 1
    out = []
    for name in sorted(counts, key=lambda n: (n == "all clinicians", n)):
        c = counts[name]
        due = c["arrived"] + c["done"] + c["no_show"]  # appointments the patient should have come to
        out.append(
            {
                "clinician": name,
                **c,
                "no_show_rate": round(c["no_show"] / due, 3) if due else None,
            }
        )
    return out


def _follow_ups(
    db: Session, actor: Actor, start: dt.datetime, end: dt.datetime, today: dt.date
) -> list[dict[str, Any]]:
    """Per kind (review, recall): of the treatments in the period whose follow-up is due by today,
    how many had it (an appointment of that kind marked done after the treatment, or for a recall
    a later treatment), how many have one booked, and how many have none."""
    treated = _treatments(db, actor, start, end)
    ids = {p.id for _, p in treated}
    appts = list(db.scalars(select(m.Appointment).where(m.Appointment.patient_id.in_(ids)))) if ids else []
    later = list(db.scalars(select(m.Treatment).where(m.Treatment.patient_id.in_(ids)))) if ids else []
    out = []
    for kind in ("review", "recall"):
        due = done = booked = 0
        for t, p in treated:
            plan = follow_up(t.performed_at.date(), t.product, t.total_units)
            when = plan.review_date if kind == "review" else plan.recall_date
            if when > today:
                continue
            due += 1
            mine = [
                a for a in appts if a.patient_id == p.id and a.kind == kind and a.starts_at >= t.performed_at
            ]
            retreated = kind == "recall" and any(
                x.patient_id == p.id and x.performed_at > t.performed_at for x in later
            )
            if retreated or any(a.status == "done" for a in mine):
                done += 1
            elif any(a.status in ("booked", "arrived") for a in mine):
                booked += 1
        out.append(
            {
                "follow_up": kind,
                "due": due,
                "completed": done,
                "booked": booked,
                "missing": due - done - booked,
                "completion_rate": round(done / due, 3) if due else None,
            }
        )
    return out


def run_report(
    *,
    db: Session,
    actor: Actor,
    report: str,
    start: dt.datetime,
    end: dt.datetime,
    today: dt.date,
    export: bool = False,
) -> list[dict[str, Any]]:
    """The rows of ``report`` (a key of REPORTS) for ``[start, end)``; audited."""
    if actor.role not in ("admin", "clinician"):
        raise StoreError("role: reports are for admins and clinicians")
    if report not in REPORTS:
        raise StoreError(f"report: {report!r} is not a report; allowed: {', '.join(REPORTS)}")
    if end <= start:
        raise StoreError("until: the period must end after it starts")
    if report == "units":
        rows = _units(db, actor, start, end)
    elif report == "lots":
        rows = _lots(db, actor, start, end)
    elif report == "appointments":
        rows = _appointments(db, actor, start, end)
    else:
        rows = _follow_ups(db, actor, start, end, today)
    audit(
        db,
        actor,
        "export" if export else "read",
        "report",
        None,
        None,
        f"{report} {start:%Y-%m-%d %H:%M}..{end:%Y-%m-%d %H:%M} UTC, {len(rows)} rows"
        + (" (csv)" if export else ""),
    )
    return rows
