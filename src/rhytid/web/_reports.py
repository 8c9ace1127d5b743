"""The clinic's reports page and their CSV downloads (admins and clinicians; every run audited)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from rhytid.store import StoreError
from rhytid.store._reports import COLUMNS, REPORTS, run_report
from rhytid.web._auth import ClinicalUser, DbSession, actor_of
from rhytid.web._render import local_day_bounds, local_today, render
from rhytid.web._routing import page_router

__all__ = ["router"]

router = page_router()
_DEFAULT_DAYS = 90


def _period(request: Request, since: dt.date | None, until: dt.date | None) -> tuple[dt.date, dt.date]:
    """Inclusive clinic-local days; by default the last 90 days up to today."""
    until = until or local_today(request)
    since = since or until - dt.timedelta(days=_DEFAULT_DAYS - 1)
    if until < since:
        raise StoreError(f"until: {until.isoformat()} is before since ({since.isoformat()})")
    return since, until


def _bounds(request: Request, since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return local_day_bounds(request, since)[0], local_day_bounds(request, until)[1]


@router.get("/reports", response_class=HTMLResponse)
def reports(
    request: Request,
    db: DbSession,
    user: ClinicalUser,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> HTMLResponse:
    first, last = _period(request, since, until)
    start, end = _bounds(request, first, last)
    today = local_today(request)
    tables = {
        key: run_report(db=db, actor=actor_of(user), report=key, start=start, end=end, today=today)
        for key in REPORTS
    }
    db.commit()
    return render(request, "reports.html", since=first, until=last, tables=tables, titles=REPORTS)


@router.get("/reports.csv")
def reports_csv(
    request: Request,
    db: DbSession,
    user: ClinicalUser,
    report: str,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Response:
    first, last = _period(request, since, until)
    start, end = _bounds(request, first, last)
    rows = run_report(
        db=db,
        actor=actor_of(user),
        report=report,
        start=start,
        end=end,
        today=local_today(request),
        export=True,
    )
    db.commit()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS[report]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    name = f"rhytid-{report}-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
