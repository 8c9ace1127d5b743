"""Safety wired to the record, over real HTTP on SQLite and PostgreSQL (issue 10, items 1 and 2).

Reproduces what a clinic saw: a second 20 U glabellar treatment 9 minutes after the first, with
an open eyelid-droop alert, went through; a patient with no intake saw "No risks or rule
findings"; a plan at 100 U in 1 mL was recorded from a 2.5 mL vial with the plan's volumes; an
expired vial and one reconstituted 3 days ago went into the inventory without a word.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import CONSENTED, auth, sign_consent
from .test_api import ANSWERS, GLABELLAR
from .test_pages import _csrf, signed_in

DOC = auth("clinician")
CLEAN = {**ANSWERS, "medications": []}  # a complete history with nothing to acknowledge


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def doc(app_client: httpx.Client) -> Iterator[httpx.Client]:
    with signed_in(str(app_client.base_url), "clinician") as c:
        yield c


def _patient(
    c: httpx.Client,
    name: str,
    answers: dict[str, Any] | None = CLEAN,
    consents: tuple[str, ...] = (*CONSENTED, "filler_treatment"),
) -> int:
    """A new patient with ``answers`` as their intake, who signed ``consents`` at the clinic."""
    pid = _ok(
        c.post(
            "/api/patients",
            auth=DOC,
            json={"given_name": "Safe", "family_name": name, "birth_date": "1980-03-04", "sex": "female"},
        ),
        201,
    )["id"]
    if answers is not None:
        _ok(c.post(f"/api/patients/{pid}/histories", json={"answers": answers}, auth=DOC), 201)
    for kind in consents:
        sign_consent(c, int(pid), kind)
    return int(pid)


def _vial(c: httpx.Client, lot: str, *, hours_ago: float = 1, diluent_ml: float = 2.5, **kw: Any) -> Any:
    body = {
        "product": "onabotulinumtoxinA",
        "lot": lot,
        "expiry": "2099-01-01",
        "vial_units": 100,
        "diluent_ml": diluent_ml,
        "reconstituted_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)).isoformat(),
        **kw,
    }
    return c.post("/api/vials", auth=DOC, json=body)


def _treatments(c: httpx.Client, pid: int) -> list[dict[str, Any]]:
    return list(_ok(c.get(f"/api/patients/{pid}/treatments", auth=DOC)))


def _units_left(c: httpx.Client, vial_id: int) -> float:
    return float(next(v for v in _ok(c.get("/api/vials", auth=DOC)) if v["id"] == vial_id)["units_left"])


def _form_error(html: str) -> str:
    found = re.search(r'id="form-error" role="alert">([^<]*)<', html)
    assert found, html[:1500]
    return found.group(1)


# --- 1. rules read the record --------------------------------------------------------------------
def test_second_treatment_nine_minutes_later_with_an_open_alert_is_refused(
    app_client: httpx.Client, doc: httpx.Client
) -> None:
    c = app_client
    pid = _patient(c, "Twice")
    first, second = (_ok(c.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=DOC), 201) for _ in "12")
    vial = _ok(_vial(c, "TWICE-1"), 201)
    # recorded now, not back-dated: the consent signed a moment ago must precede the treatment;
    # the second attempt minutes later is the reported case all the same
    t1 = _ok(
        c.post(
            f"/api/patients/{pid}/treatments", auth=DOC, json={"plan_id": first["id"], "vial_id": vial["id"]}
        ),
        201,
    )
    alert = _ok(
        c.post(
            f"/api/patients/{pid}/aftercare",
            auth=DOC,
            json={
                "treatment_id": t1["id"],
                "report": {"days_since_treatment": 0, "symptoms": [{"code": "eyelid_droop"}]},
            },
        ),
        201,
    )
    assert alert["alert_open"] is True
    r = c.post(
        f"/api/patients/{pid}/treatments", auth=DOC, json={"plan_id": second["id"], "vial_id": vial["id"]}
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "review"
    assert "last treatment 0 days before" in body["detail"] and "recorded here" in body["detail"]
    codes = {f["code"]: f for f in body["review"]["findings"]}
    assert codes["retreatment_too_soon"]["severity"] == "blocking"
    assert "20 U onabotulinumtoxinA, glabellar" in codes["retreatment_too_soon"]["reason"]
    assert codes["open_alert"]["ref"] == f"aftercare_report:{alert['id']}"
    assert "eyelid droop" in codes["open_alert"]["reason"]
    assert body["review"]["acknowledge"] == [f"aftercare_report:{alert['id']}"]
    # an acknowledgement does not lift a blocking rule: still refused, nothing stored
    r = c.post(
        f"/api/patients/{pid}/treatments",
        auth=DOC,
        json={
            "plan_id": second["id"],
            "vial_id": vial["id"],
            "acknowledgements": [{"ref": f"aftercare_report:{alert['id']}", "reason": "reviewed"}],
        },
    )
    assert r.status_code == 422 and r.json()["review"]["blocking"] is True
    assert [t["id"] for t in _treatments(c, pid)] == [t1["id"]]
    assert _units_left(c, vial["id"]) == 80
    # a new plan now cannot be saved as ready; as a draft it can
    r = c.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=DOC)
    assert (r.status_code, r.json()["field"]) == (422, "status")
    assert "at least 90 days apart" in r.json()["detail"] and "draft" in r.json()["detail"]
    draft = _ok(c.post(f"/api/patients/{pid}/plans", json={**GLABELLAR, "status": "draft"}, auth=DOC), 201)
    assert draft["status"] == "draft" and draft["check"]["blocking"] is True
    # the treatment form says so before anything is typed, and refuses in words, input kept
    form = doc.get(f"/patients/{pid}/treatments/new", params={"plan_id": second["id"]})
    assert form.status_code == 200
    assert 'id="review-blocking"' in form.text and "at least 90 days apart" in form.text
    assert f'value="aftercare_report:{alert["id"]}"' in form.text
    assert re.search(r'<button type="submit" id="record"\s+disabled', form.text)
    r = doc.post(
        f"/patients/{pid}/treatments",
        data={
            "csrf_token": _csrf(form.text),
            "plan_id": str(second["id"]),
            "vial_id": str(vial["id"]),
            "notes": "second <round>",
            "ack_ref_1": f"aftercare_report:{alert['id']}",
            "ack_reason_1": "lid checked: 1 mm",
        },
    )
    assert r.status_code == 422, r.text[:500]
    message = _form_error(r.text)
    assert message.startswith("Not recorded: this treatment cannot be treated as planned")
    assert "plan_id" not in message and "last treatment 0 days before" in message
    assert "second &lt;round&gt;</textarea>" in r.text and "lid checked: 1 mm</textarea>" in r.text
    assert [t["id"] for t in _treatments(c, pid)] == [t1["id"]]


def test_an_open_alert_needs_an_acknowledgement_with_a_reason(
    app_client: httpx.Client, doc: httpx.Client
) -> None:
    c = app_client
    pid = _patient(c, "Alerted")
    report = _ok(
        c.post(
            f"/api/patients/{pid}/aftercare",
            auth=DOC,
            json={"report": {"days_since_treatment": 20, "symptoms": [{"code": "eyelid_droop"}]}},
        ),
        201,
    )
    ref = f"aftercare_report:{report['id']}"
    plan = _ok(c.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=DOC), 201)
    assert plan["status"] == "ready" and plan["check"]["acknowledge"] == [ref]  # ready, not yet cleared
    vial = _ok(_vial(c, "ACK-1"), 201)
    r = c.post(
        f"/api/patients/{pid}/treatments", auth=DOC, json={"plan_id": plan["id"], "vial_id": vial["id"]}
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("review: needs your acknowledgement first")
    empty = {"plan_id": plan["id"], "vial_id": vial["id"], "acknowledgements": [{"ref": ref, "reason": ""}]}
    r = c.post(f"/api/patients/{pid}/treatments", auth=DOC, json=empty)
    assert (r.status_code, r.json()["field"]) == (422, "acknowledgements.0.reason")
    wrong = {**empty, "acknowledgements": [{"ref": "adverse_event:999999", "reason": "x"}]}
    r = c.post(f"/api/patients/{pid}/treatments", auth=DOC, json=wrong)
    assert (r.status_code, r.json()["field"]) == (422, "acknowledge")
    assert _treatments(c, pid) == []
    # on the form: the reason box next to the alert; without a reason the form comes back, kept
    form = doc.get(f"/patients/{pid}/treatments/new", params={"plan_id": plan["id"]})
    assert 'id="review-pending"' in form.text and 'name="ack_reason_1"' in form.text
    fields = {"csrf_token": _csrf(form.text), "plan_id": str(plan["id"]), "vial_id": str(vial["id"])}
    r = doc.post(f"/patients/{pid}/treatments", data={**fields, "ack_ref_1": ref, "notes": "keep me"})
    assert r.status_code == 422
    assert _form_error(r.text).startswith("Not recorded: this treatment needs your acknowledgement first")
    assert 'id="ack-note-1">Required: open aftercare alert' in r.text and "keep me</textarea>" in r.text
    r = doc.post(
        f"/patients/{pid}/treatments",
        data={**fields, "ack_ref_1": ref, "ack_reason_1": "droop resolved at review on day 20"},
    )
    assert r.status_code == 303, r.text[:800]
    (t,) = _treatments(c, pid)
    assert [(a["ref"], a["reason"]) for a in t["acknowledgements"]] == [
        (ref, "droop resolved at review on day 20")
    ]
    assert t["acknowledgements"][0]["clinician"] == auth("clinician")[0]
    log = _ok(c.get("/api/audit", params={"patient_id": pid}, auth=auth("admin")))
    assert any(e["entity"] == "treatment" and ref in (e["detail"] or "") for e in log)


def test_no_intake_is_a_blocking_finding_never_no_findings(
    app_client: httpx.Client, doc: httpx.Client
) -> None:
    c = app_client
    pid = _patient(c, "Nointake", answers=None)
    preview = _ok(c.post(f"/api/patients/{pid}/preview", json=GLABELLAR, auth=DOC))
    first = preview["check"]["findings"][0]
    assert (first["code"], first["severity"]) == ("no_history", "blocking")
    assert "no medical history on file" in first["reason"] and preview["check"]["blocking"] is True
    r = c.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=DOC)
    assert (r.status_code, r.json()["field"]) == (422, "status")
    assert "no medical history on file" in r.json()["detail"]
    draft = _ok(c.post(f"/api/patients/{pid}/plans", json={**GLABELLAR, "status": "draft"}, auth=DOC), 201)
    form = doc.get(f"/patients/{pid}/treatments/new", params={"plan_id": draft["id"]})
    assert form.status_code == 200 and "no medical history on file" in form.text
    assert 'id="mark-ready"' in form.text and "No risks or rule findings" not in form.text
    fields = {"csrf_token": _csrf(form.text), "plan_id": str(draft["id"]), "vial_id": "1", "notes": "x"}
    r = doc.post(f"/patients/{pid}/treatments", data=fields)
    assert r.status_code == 422
    assert _form_error(r.text).startswith("Not recorded: this plan is a draft (it had blocking findings")
    # the intake arrives: the draft is reviewed again, becomes ready and can be recorded
    ready = doc.post(f"/patients/{pid}/plans/{draft['id']}/ready", data={"csrf_token": _csrf(form.text)})
    assert ready.status_code == 422 and "Still a draft" in _form_error(ready.text)
    _ok(c.post(f"/api/patients/{pid}/histories", json={"answers": CLEAN}, auth=DOC), 201)
    ready = doc.post(f"/patients/{pid}/plans/{draft['id']}/ready", data={"csrf_token": _csrf(form.text)})
    assert ready.status_code == 303
    assert _ok(c.get(f"/api/patients/{pid}/plans", auth=DOC))[0]["status"] == "ready"


# --- 2. plan and vial agree ----------------------------------------------------------------------
def test_the_vial_fixes_the_dilution_after_a_confirm_step(
    app_client: httpx.Client, doc: httpx.Client
) -> None:
    c = app_client
    pid = _patient(c, "Dilution")
    plan = _ok(c.post(f"/api/patients/{pid}/plans", json={**GLABELLAR, "diluent_ml": 1.0}, auth=DOC), 201)
    assert {round(i["volume_ml"], 3) for i in plan["injections"]} == {0.04}
    vial = _ok(_vial(c, "DIL-25", diluent_ml=2.5), 201)
    body = {"plan_id": plan["id"], "vial_id": vial["id"]}
    r = c.post(f"/api/patients/{pid}/treatments", auth=DOC, json=body)
    assert (r.status_code, r.json()["field"]) == (409, "confirm_units_per_ml")
    change = r.json()["dilution"]
    assert (change["plan_units_per_ml"], change["vial_units_per_ml"]) == (100, 40)
    assert {(v["plan_ml"], v["vial_ml"]) for v in change["volumes"]} == {(0.04, 0.1)}
    r = c.post(f"/api/patients/{pid}/treatments", auth=DOC, json={**body, "confirm_units_per_ml": 100})
    assert r.status_code == 409  # confirming the plan's own dilution is no confirmation
    assert _treatments(c, pid) == [] and _units_left(c, vial["id"]) == 100
    # the form shows the new volumes before anything is recorded, then records them
    form = doc.get(f"/patients/{pid}/treatments/new", params={"plan_id": plan["id"]})
    assert "differs from the plan: volumes change" in form.text
    fields = {
        "csrf_token": _csrf(form.text),
        "plan_id": str(plan["id"]),
        "vial_id": str(vial["id"]),
        "notes": "n1",
    }
    r = doc.post(f"/patients/{pid}/treatments", data=fields)
    assert r.status_code == 409
    assert _form_error(r.text).startswith("Not recorded yet: this vial is reconstituted at 40 U/mL")
    table = r.text[r.text.index('id="dilution-change"') :]
    assert (
        table.count('<td class="vial-ml">0.100</td>') == 5
        and 'name="confirm_units_per_ml" value="40.0"' in table
    )
    assert "n1</textarea>" in r.text
    r = doc.post(f"/patients/{pid}/treatments", data={**fields, "confirm_units_per_ml": "40.0"})
    assert r.status_code == 303, r.text[:800]
    (t,) = _treatments(c, pid)
    assert (t["vial_units"], t["diluent_ml"]) == (100, 2.5)
    assert [round(i["volume_ml"], 3) for i in t["injections"]] == [0.1] * 5
    assert _units_left(c, vial["id"]) == 80


def test_a_vial_of_the_plans_dilution_needs_no_confirmation(app_client: httpx.Client) -> None:
    c = app_client
    pid = _patient(c, "Same")
    plan = _ok(c.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=DOC), 201)
    vial = _ok(_vial(c, "SAME-1"), 201)
    t = _ok(
        c.post(
            f"/api/patients/{pid}/treatments", auth=DOC, json={"plan_id": plan["id"], "vial_id": vial["id"]}
        ),
        201,
    )
    assert [round(i["volume_ml"], 3) for i in t["injections"]] == [0.1] * 5


def test_inventory_refuses_an_expired_vial_and_flags_one_past_its_use_by(
    app_client: httpx.Client, doc: httpx.Client
) -> None:
    c = app_client
    before = len(_ok(c.get("/api/vials", auth=DOC)))
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    r = _vial(c, "EXPIRED-1", expiry=yesterday)
    assert (r.status_code, r.json()["field"]) == (422, "expiry")
    assert "EXPIRED-1 expired on" in r.json()["detail"]
    assert len(_ok(c.get("/api/vials", auth=DOC))) == before
    old = _ok(_vial(c, "THREE-DAYS", hours_ago=72), 201)
    assert len(old["flags"]) == 1 and old["flags"][0].startswith("past its use-by time")
    assert "must be used within 24 h" in old["flags"][0]
    fresh = _ok(_vial(c, "FRESH-1", hours_ago=2), 201)
    assert fresh["flags"] == []
    use_by = dt.datetime.fromisoformat(fresh["use_by"]) - dt.datetime.fromisoformat(fresh["reconstituted_at"])
    assert use_by == dt.timedelta(hours=24)
    page = doc.get("/vials")
    row = re.search(r'<tr class="flagged" data-lot="THREE-DAYS">.*?</tr>', page.text)
    assert row and "do not use:" in row.group(0)
    assert re.search(r'<tr class="usable" data-lot="FRESH-1">', page.text)
    # the form: the message next to the expiry field, the input kept, nothing stored
    r = doc.post(
        "/vials",
        data={
            "csrf_token": _csrf(page.text),
            "product": "onabotulinumtoxinA",
            "lot": "FORM-EXP",
            "expiry": yesterday,
            "vial_units": "100",
            "diluent_ml": "2.5",
            "reconstituted_at": dt.datetime.now().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert r.status_code == 422
    assert re.search(r'id="expiry-error">Expiry date: lot FORM-EXP expired on', r.text)
    assert 'value="FORM-EXP"' in r.text
    assert all(v["lot"] != "FORM-EXP" for v in _ok(c.get("/api/vials", auth=DOC)))


def test_lot_recall_lists_who_received_a_lot_and_is_audited(
    app_client: httpx.Client, doc: httpx.Client
) -> None:
    c = app_client
    vial = _ok(_vial(c, "RECALL-7"), 201)
    patients = [_patient(c, f"Recall{i}") for i in range(2)]
    for pid in patients:
        plan = _ok(c.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=DOC), 201)
        _ok(
            c.post(
                f"/api/patients/{pid}/treatments",
                auth=DOC,
                json={"plan_id": plan["id"], "vial_id": vial["id"]},
            ),
            201,
        )
    rows = _ok(c.get("/api/recall", params={"lot": "RECALL-7"}, auth=auth("admin")))
    assert sorted(r["patient_id"] for r in rows) == patients
    assert {(r["amount"], r["unit"], r["kind"], r["product"]) for r in rows} == {
        (20, "U", "toxin", "onabotulinumtoxinA")
    }
    assert _ok(c.get("/api/recall", params={"lot": "NO-SUCH-LOT"}, auth=DOC)) == []
    assert c.get("/api/recall", params={"lot": "RECALL-7"}, auth=auth("front_desk")).status_code == 403
    r = c.get("/api/recall", auth=DOC)
    assert (r.status_code, r.json()["field"]) == (422, "lot")
    for pid in patients:
        log = _ok(c.get("/api/audit", params={"patient_id": pid}, auth=auth("admin")))
        assert any(e["entity"] == "lot_recall" and e["detail"] == "lot RECALL-7" for e in log)
    page = doc.get("/recall", params={"lot": "RECALL-7"})
    assert page.status_code == 200 and "Lot RECALL-7: 2 administrations" in page.text
    assert page.text.count('<td class="amount">20 U</td>') == 2
