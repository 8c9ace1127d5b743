"""Patient links (SQLite and PostgreSQL, real HTTP): what comes through a link is a proposal that
cannot clear a recorded contraindication without a clinician; links are single-use, revocable
and expiring; staff cannot submit them; their tokens never reach the access log.

Reported: the front desk created an intake link, submitted an all-"no" history through it, and
the next treatment of a patient screened ``do_not_treat`` (myasthenia gravis) was accepted.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from rhytid._cli_web import create_demo_data

from .conftest import auth, make_app, new_patient
from .test_api import ANSWERS, GLABELLAR, _ok
from .test_intake import BOOLS
from .test_pages import signed_in

DOC = auth("clinician")
DESK = auth("front_desk")
ALL_NO = {
    "has_allergies": "no",
    "has_conditions": "no",
    "has_medications": "no",
    "has_previous_toxin": "no",
    **dict.fromkeys(BOOLS, "no"),
}


def _link(c: httpx.Client, pid: int, who: tuple[str, str] = DESK) -> dict[str, Any]:
    return dict(_ok(c.post(f"/api/patients/{pid}/links", json={"form": "intake"}, auth=who), 201))


def _submit(c: httpx.Client, url: str, answers: dict[str, Any], **client: Any) -> httpx.Response:
    path = httpx.URL(url).path
    with httpx.Client(base_url=str(c.base_url), timeout=30, **client) as patient:
        page = patient.get(path)
        if page.status_code != 200:
            return page
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        return patient.post(path, data={"csrf_token": csrf.group(1), **answers})


def _vial(c: httpx.Client) -> int:
    body = {
        "product": "onabotulinumtoxinA",
        "lot": "LINK-LOT",
        "expiry": "2099-01-01",
        "vial_units": 100,
        "diluent_ml": 2.5,
        "reconstituted_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
    }
    return int(_ok(c.post("/api/vials", auth=DOC, json=body), 201)["id"])


def _treat(c: httpx.Client, pid: int, plan: int) -> httpx.Response:
    return c.post(f"/api/patients/{pid}/treatments", json={"plan_id": plan, "vial_id": _vial(c)}, auth=DOC)


def _histories(c: httpx.Client, pid: int) -> list[dict[str, Any]]:
    return list(_ok(c.get(f"/api/patients/{pid}/histories", auth=DOC)))


def test_a_link_cannot_clear_a_contraindication_without_a_clinician(app_client: httpx.Client) -> None:
    c = app_client
    pid = new_patient(c, "Myasthenia")
    answers = {**ANSWERS, "conditions": ["myasthenia_gravis"], "medications": []}
    screened = _ok(c.post(f"/api/patients/{pid}/histories", json={"answers": answers}, auth=DOC), 201)
    assert screened["decision"] == "do_not_treat" and screened["status"] == "accepted"
    # the contraindication blocks: the plan is saved only as a draft, and cannot be made ready
    refused = c.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=DOC)
    assert refused.status_code == 422 and "myasthenia" in refused.text, refused.text
    plan = _ok(c.post(f"/api/patients/{pid}/plans", json={**GLABELLAR, "status": "draft"}, auth=DOC), 201)[
        "id"
    ]
    ready = f"/api/patients/{pid}/plans/{plan}/ready"
    assert c.post(ready, auth=DOC).status_code == 422

    # the front desk makes a link and answers "no" to everything through it
    r = _submit(c, _link(c, pid)["url"], ALL_NO)
    assert r.status_code == 200 and 'id="thanks"' in r.text, r.text[:300]
    newest = _histories(c, pid)[0]
    assert newest["status"] == "proposed" and newest["decision"] == "ok"
    assert newest["submitted_by"] == f"patient-link:{pid}"
    again = c.post(ready, auth=DOC)  # the proposal clears nothing
    assert again.status_code == 422 and "myasthenia" in again.text, again.text
    assert _treat(c, pid, plan).status_code == 422
    audit = _ok(c.get("/api/audit", params={"patient_id": pid}, auth=auth("admin")))
    assert any("proposed" in (e["detail"] or "") for e in audit)

    # only a clinician may confirm it; then it is in force
    assert c.post(f"/api/patients/{pid}/histories/{newest['id']}/confirm", auth=DESK).status_code == 403
    confirmed = _ok(c.post(f"/api/patients/{pid}/histories/{newest['id']}/confirm", auth=DOC))
    assert confirmed["status"] == "accepted" and confirmed["reviewed_by"] == DOC[0]
    _ok(c.post(ready, auth=DOC))
    assert _treat(c, pid, plan).status_code == 201
    # a confirmed history is no longer a proposal
    assert c.post(f"/api/patients/{pid}/histories/{newest['id']}/reject", auth=DOC).status_code == 409


def test_a_link_can_add_a_finding_at_once_and_a_rejected_proposal_stays_out_of_force(
    app_client: httpx.Client,
) -> None:
    c = app_client
    pid = new_patient(c, "Adds")
    clean = {**ANSWERS, "medications": []}
    _ok(c.post(f"/api/patients/{pid}/histories", json={"answers": clean}, auth=DOC), 201)
    plan = _ok(c.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=DOC), 201)["id"]
    # the patient reports myasthenia gravis: in force at once (it clears nothing)
    reported = {**ALL_NO, "has_conditions": "yes", "condition": ["myasthenia_gravis"]}
    assert _submit(c, _link(c, pid)["url"], reported).status_code == 200
    newest = _histories(c, pid)[0]
    assert newest["status"] == "accepted" and newest["decision"] == "do_not_treat"
    assert _treat(c, pid, plan).status_code == 422
    # a later link says "no" again: a proposal; the clinician rejects it
    assert _submit(c, _link(c, pid)["url"], ALL_NO).status_code == 200
    proposal = _histories(c, pid)[0]
    assert proposal["status"] == "proposed"
    rejected = _ok(c.post(f"/api/patients/{pid}/histories/{proposal['id']}/reject", auth=DOC))
    assert rejected["status"] == "rejected"
    assert _treat(c, pid, plan).status_code == 422
    assert c.post(f"/api/patients/{pid}/histories/{proposal['id']}/confirm", auth=DOC).status_code == 409


def test_a_link_is_single_use_and_revocable(app_client: httpx.Client) -> None:
    c = app_client
    pid = new_patient(c, "Once")
    link = _link(c, pid)
    assert _submit(c, link["url"], ALL_NO).status_code == 200
    count = len(_histories(c, pid))
    path = httpx.URL(link["url"]).path
    assert c.get(path).status_code == 410
    used = _submit(c, link["url"], ALL_NO)
    assert used.status_code == 410 and "used already" in used.text
    assert len(_histories(c, pid)) == count

    other = _link(c, pid)
    states = {r["id"]: r["state"] for r in _ok(c.get(f"/api/patients/{pid}/links", auth=DESK))}
    assert states == {link["id"]: "used", other["id"]: "open"}
    assert "url" not in _ok(c.get(f"/api/patients/{pid}/links", auth=DESK))[0]
    assert _ok(c.post(f"/api/links/{other['id']}/revoke", auth=DESK))["state"] == "revoked"
    gone = c.get(httpx.URL(other["url"]).path)
    assert gone.status_code == 410 and "withdrawn" in gone.text
    assert _submit(c, other["url"], ALL_NO).status_code == 410
    assert len(_histories(c, pid)) == count
    assert c.post("/api/links/999999/revoke", auth=DESK).status_code == 404


def test_a_failed_submission_does_not_spend_the_link(app_client: httpx.Client) -> None:
    c = app_client
    pid = new_patient(c, "Retry")
    link = _link(c, pid)
    assert _submit(c, link["url"], {**ALL_NO, "has_medications": "yes"}).status_code == 422
    assert _submit(c, link["url"], ALL_NO).status_code == 200


def test_staff_cannot_submit_a_patient_form(app_client: httpx.Client) -> None:
    c = app_client
    pid = new_patient(c, "Staff")
    link = _link(c, pid)
    path = httpx.URL(link["url"]).path
    with signed_in(str(c.base_url), "front_desk") as desk:
        page = desk.get(path)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        r = desk.post(path, data={"csrf_token": csrf.group(1), **ALL_NO})
        assert r.status_code == 403 and "staff" in r.text
    with_basic = _submit(c, link["url"], ALL_NO, auth=DESK)
    assert with_basic.status_code == 403
    assert _histories(c, pid) == []
    assert _submit(c, link["url"], ALL_NO).status_code == 200  # still usable by the patient


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged(tmp_path: Any) -> Iterator[tuple[httpx.Client, _Records]]:
    """A server that writes uvicorn's access log (info level), and the lines it wrote."""
    url = f"sqlite:///{tmp_path / 'logs.sqlite3'}"
    create_demo_data(url)
    app = make_app(url, tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info"))
    handler = _Records()
    logging.getLogger("uvicorn.access").addHandler(handler)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            for _ in range(100):
                try:
                    if c.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield c, handler
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        logging.getLogger("uvicorn.access").removeHandler(handler)
        app.state.engine.dispose()


def test_link_tokens_never_reach_the_access_log(logged: Any) -> None:
    c, handler = logged
    pid = new_patient(c, "Logs")
    link = _link(c, pid)
    token = httpx.URL(link["url"]).path.rsplit("/", 1)[1]
    assert _submit(c, link["url"], ALL_NO).status_code == 200
    assert c.get(httpx.URL(link["url"]).path + "?x=1").status_code == 410
    lines = [line for line in handler.lines if "/p/intake/" in line]
    assert len(lines) >= 3, handler.lines
    assert all("/p/intake/[redacted]" in line for line in lines), lines
    assert not any(token in line or token[:20] in line for line in handler.lines)


def test_the_screening_page_shows_a_proposal_and_a_clinician_confirms_it(app_client: httpx.Client) -> None:
    c = app_client
    pid = new_patient(c, "Page")
    answers = {**ANSWERS, "conditions": ["lambert_eaton"], "medications": []}
    _ok(c.post(f"/api/patients/{pid}/histories", json={"answers": answers}, auth=DOC), 201)
    assert _submit(c, _link(c, pid)["url"], ALL_NO).status_code == 200
    proposal = _histories(c, pid)[0]
    with signed_in(str(c.base_url), "clinician") as doc:
        page = doc.get(f"/patients/{pid}/screening")
        assert f'id="proposal-{proposal["id"]}"' in page.text and "clear: neuromuscular disease" in page.text
        assert 'class="decision-do_not_treat"' in page.text  # the version in force
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        r = doc.post(
            f"/patients/{pid}/histories/{proposal['id']}/confirm", data={"csrf_token": csrf.group(1)}
        )
        assert r.status_code == 303
        assert 'class="decision-ok"' in doc.get(f"/patients/{pid}/screening").text
    assert _histories(c, pid)[0]["status"] == "accepted"
