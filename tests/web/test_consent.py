"""Consent over real HTTP (SQLite and PostgreSQL): without a current signed consent a treatment or a
photo is refused with a message a clinician understands; the patient signs through a signed link
(typed name, drawn signature) and the record keeps the template version, the time, the IP address
and a SHA-256 content hash that verifies; a consent altered in the database no longer counts; bad
input re-renders the form with the message next to the field and stores nothing."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from rhytid._cli_web import create_demo_data
from rhytid.store.testing import temporary_database
from rhytid.web._words import field_label

from .conftest import DOC, EMAIL, KINDS, POSTGRES_URL, SIGNATURE, auth, png, served
from .test_api import ANSWERS, GLABELLAR

VERSION = "2026.1"


class Clinic:
    def __init__(self, url: str, api: httpx.Client) -> None:
        self.url, self.api = url, api


@pytest.fixture(scope="module", params=KINDS)
def clinic(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    """A served clinic whose database URL the test can reach (to tamper with a stored row)."""
    folder = tmp_path_factory.mktemp("consent")
    with temporary_database(request.param, folder, POSTGRES_URL) as url:
        create_demo_data(url)
        with served(url, folder) as api:
            yield Clinic(url, api)


def _patient(api: httpx.Client, family: str) -> int:
    r = api.post(
        "/api/patients",
        auth=DOC,
        json={"given_name": "Cora", "family_name": family, "birth_date": "1984-03-02", "sex": "female"},
    )
    assert r.status_code == 201, r.text
    pid = int(r.json()["id"])
    assert api.post(f"/api/patients/{pid}/histories", json={"answers": ANSWERS}, auth=DOC).status_code == 201
    ack = api.post(f"/api/patients/{pid}/screening/acknowledge", json={"codes": ["antithrombotic"]}, auth=DOC)
    assert ack.status_code == 200, ack.text
    return pid


def _plan_and_vial(api: httpx.Client, pid: int) -> tuple[int, int]:
    plan = api.post(f"/api/patients/{pid}/plans", json=GLABELLAR, auth=DOC)
    assert plan.status_code == 201, plan.text
    vial = api.post(
        "/api/vials",
        auth=DOC,
        json={
            "product": "onabotulinumtoxinA",
            "lot": "CONSENT-LOT",
            "expiry": "2099-01-01",
            "vial_units": 100,
            "diluent_ml": 2.5,
            "reconstituted_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)).isoformat(),
        },
    )
    assert vial.status_code == 201, vial.text
    return int(plan.json()["id"]), int(vial.json()["id"])


def _treat(api: httpx.Client, pid: int, plan: int, vial: int) -> httpx.Response:
    return api.post(f"/api/patients/{pid}/treatments", json={"plan_id": plan, "vial_id": vial}, auth=DOC)


def _consents(api: httpx.Client, pid: int) -> list[dict[str, Any]]:
    r = api.get(f"/api/patients/{pid}/consents", auth=DOC)
    assert r.status_code == 200, r.text
    return list(r.json())


def _link(api: httpx.Client, pid: int, kind: str) -> str:
    """The path of the patient's consent link (as the clinic's 'Sign on this device' gives it)."""
    with signed_in(api, "front_desk") as desk:
        page = desk.get(f"/patients/{pid}")
        r = desk.post(
            f"/patients/{pid}/consents/sign-here", data={"csrf_token": _csrf(page.text), "kind": kind}
        )
    assert r.status_code == 303, r.text[:300]
    return httpx.URL(r.headers["location"]).path


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


class signed_in:
    def __init__(self, api: httpx.Client, role: str) -> None:
        self.client = httpx.Client(base_url=str(api.base_url), timeout=30)
        self.role = role

    def __enter__(self) -> httpx.Client:
        page = self.client.get("/signin")
        pre = re.search(r'name="pre" value="([^"]+)"', page.text)
        assert pre
        r = self.client.post(
            "/signin",
            data={
                "email": EMAIL[self.role],
                "password": auth(self.role)[1],
                "pre": pre.group(1),
                "next": "/",
            },
        )
        assert r.status_code == 303, r.text[:300]
        return self.client

    def __exit__(self, *_: object) -> None:
        self.client.close()


def _sign(path: str, fields: dict[str, str]) -> httpx.Response:
    """The patient opens the link on their own phone (no account, no cookies) and signs."""
    with httpx.Client(base_url=_base, timeout=30) as phone:
        page = phone.get(path, headers={"user-agent": "PhoneBrowser/1.0"})
        assert page.status_code == 200, page.text[:300]
        version = re.search(r'name="template_version" value="([^"]+)"', page.text)
        assert version
        data = {"csrf_token": _csrf(page.text), "template_version": version.group(1), **fields}
        return phone.post(path, data=data, headers={"user-agent": "PhoneBrowser/1.0"})


_base = ""


@pytest.fixture(autouse=True)
def _base_url(clinic: Clinic) -> None:
    global _base
    _base = str(clinic.api.base_url)


GOOD = {"signed_name": "Cora Consent", "signature": SIGNATURE, "agree": "yes"}


def test_treatment_is_refused_without_consent_and_recorded_once_signed(clinic: Clinic) -> None:
    api = clinic.api
    pid = _patient(api, "Consent")
    plan, vial = _plan_and_vial(api, pid)
    r = _treat(api, pid, plan, vial)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "consent"
    assert "Cora Consent has no current signed consent to botulinum toxin treatment" in r.json()["detail"]
    assert api.get(f"/api/patients/{pid}/treatments", auth=DOC).json() == []
    assert api.get("/api/vials", auth=DOC).json()[0]["units_left"] == 100  # nothing taken from the vial
    # the treatment form says the same, next to the form, and records nothing
    with signed_in(api, "clinician") as doc:
        form = doc.get(f"/patients/{pid}/treatments/new", params={"plan_id": plan})
        page = doc.post(
            f"/patients/{pid}/treatments",
            data={"csrf_token": _csrf(form.text), "plan_id": str(plan), "vial_id": str(vial)},
        )
    assert page.status_code == 422
    assert re.search(r'id="form-error" role="alert">Consent: Cora Consent has no current signed', page.text)

    # the patient signs on their phone through the link
    done = _sign(_link(api, pid, "toxin_treatment"), GOOD)
    assert done.status_code == 200, done.text[:500]
    shown_hash = re.search(r'id="consent-hash">([0-9a-f]{64})<', done.text)
    assert shown_hash
    [row] = _consents(api, pid)
    assert (row["kind"], row["template_version"], row["signed_name"]) == (
        "toxin_treatment",
        VERSION,
        "Cora Consent",
    )
    assert row["verified"] and row["current"] and row["content_hash"] == shown_hash.group(1)
    assert row["ip_address"] == "127.0.0.1"
    assert row["via"] == "link" and row["witness_id"] is None  # the phone had no staff session
    t = _treat(api, pid, plan, vial)
    assert t.status_code == 201, t.text
    # FHIR: a Consent resource with the hash, the template version and the signed text
    bundle = api.get(f"/api/patients/{pid}/fhir", auth=DOC).json()
    [c] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"]
    assert c["decision"] == "permit" and c["status"] == "active"
    assert c["identifier"][0]["value"] == row["content_hash"]
    assert f"version {VERSION}" in c["sourceAttachment"][0]["title"]
    text_signed = base64.b64decode(c["sourceAttachment"][0]["data"]).decode()
    assert text_signed.startswith("I ask to be treated with botulinum toxin type A injections")


def test_content_hash_is_recomputable_and_a_tampered_consent_no_longer_counts(clinic: Clinic) -> None:
    api = clinic.api
    pid = _patient(api, "Tamper")
    assert _sign(_link(api, pid, "toxin_treatment"), GOOD).status_code == 200
    [row] = _consents(api, pid)
    engine = create_engine(clinic.url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            stored = dict(
                conn.execute(text("SELECT * FROM consents WHERE id = :i"), {"i": row["id"]}).one()._mapping
            )
        fields = {
            k: stored[k]
            for k in (
                "patient_id",
                "kind",
                "template_version",
                "title",
                "text",
                "signed_name",
                "signature",
                "ip_address",
                "user_agent",
                "via",
                "witness_id",
            )
        }
        signed_at = stored["signed_at"]
        if isinstance(signed_at, str):
            signed_at = dt.datetime.fromisoformat(signed_at)
        fields["signed_at"] = signed_at.isoformat(timespec="seconds")
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == row["content_hash"]  # independent check
        assert fields["user_agent"] == "PhoneBrowser/1.0"
        with engine.begin() as conn:  # someone edits the stored text behind the app's back
            conn.execute(
                text("UPDATE consents SET text = :t WHERE id = :i"),
                {"t": "I agree to anything.", "i": row["id"]},
            )
    finally:
        engine.dispose()
    [after] = _consents(api, pid)
    assert not after["verified"] and not after["current"]
    plan, vial = _plan_and_vial(api, pid)
    r = _treat(api, pid, plan, vial)
    assert r.status_code == 422 and r.json()["field"] == "consent", r.text
    with signed_in(api, "clinician") as doc:
        page = doc.get(f"/patients/{pid}/consents")
    assert "HASH MISMATCH" in page.text


def test_photo_needs_photo_consent_and_clinic_tablet_signing_names_the_witness(clinic: Clinic) -> None:
    api = clinic.api
    pid = _patient(api, "Photo")
    a = api.post(
        f"/api/patients/{pid}/assessments",
        auth=DOC,
        json={"assessed_on": "2025-01-01", "grades": {"glabellar": {"rest": 1, "max": 2}}},
    ).json()["id"]
    up = api.post(f"/api/assessments/{a}/photos", files={"file": ("f.png", png(7), "image/png")}, auth=DOC)
    assert up.status_code == 422 and up.json()["field"] == "consent", up.text
    assert "consent to clinical photography" in up.json()["detail"]
    # a toxin consent is not a photo consent
    assert _sign(_link(api, pid, "toxin_treatment"), GOOD).status_code == 200
    up = api.post(f"/api/assessments/{a}/photos", files={"file": ("f.png", png(7), "image/png")}, auth=DOC)
    assert up.status_code == 422, up.text
    # signed on the clinic's tablet, where the front desk is signed in: stored as witnessed
    with signed_in(api, "front_desk") as tablet:
        page = tablet.get(f"/patients/{pid}")
        r = tablet.post(
            f"/patients/{pid}/consents/sign-here",
            data={"csrf_token": _csrf(page.text), "kind": "photography"},
        )
        form = tablet.get(r.headers["location"])
        assert "witnessed by Frank Desk" in form.text
        version = re.search(r'name="template_version" value="([^"]+)"', form.text)
        assert version
        done = tablet.post(
            r.headers["location"],
            data={"csrf_token": _csrf(form.text), "template_version": version.group(1), **GOOD},
        )
    assert done.status_code == 200, done.text[:300]
    photo = next(c for c in _consents(api, pid) if c["kind"] == "photography")
    users = {u["email"]: u["id"] for u in api.get("/api/users", auth=auth("admin")).json()}
    assert photo["via"] == "clinic" and photo["witness_id"] == users[EMAIL["front_desk"]]
    up = api.post(f"/api/assessments/{a}/photos", files={"file": ("f.png", png(7), "image/png")}, auth=DOC)
    assert up.status_code == 201, up.text


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"signed_name": ""}, "signed_name", "type your full name"),
        ({"signed_name": "x" * 201}, "signed_name", "at most 200"),
        ({"signature": ""}, "signature", "sign in the box"),
        ({"signature": "M1 1 L2 2"}, "signature", "too short"),
        ({"signature": "<script>alert(1)</script>"}, "signature", "not a drawn signature"),
        ({"agree": ""}, "agree", "tick the box"),
        ({"template_version": "1999.1"}, "template_version", "the consent text changed"),
    ],
    ids=["no-name", "long-name", "no-signature", "a-dot", "not-a-path", "not-agreed", "stale-version"],
)
def test_bad_signing_input_is_shown_next_to_its_field_and_nothing_is_stored(
    clinic: Clinic, change: dict[str, str], field: str, words: str
) -> None:
    api = clinic.api
    pid = _patient(api, "Form")
    path = _link(api, pid, "toxin_treatment")
    with httpx.Client(base_url=_base, timeout=30) as phone:
        page = phone.get(path)
        data = {"csrf_token": _csrf(page.text), "template_version": VERSION, **GOOD, **change}
        r = phone.post(path, data=data)
    assert r.status_code == 422, r.text[:300]
    assert r.text.count('role="alert"') == 1
    if field == "template_version":
        shown = re.search(r'id="form-error" role="alert">([^<]*)<', r.text)
    else:
        start = r.text.index(f'id="q-{field}" class="invalid" aria-describedby="error-{field}"')
        shown = re.search(rf'id="error-{field}" role="alert">([^<]*)<', r.text)
        assert shown and start < shown.start() < r.text.index('id="consent-submit"')
    assert shown and shown.group(1).startswith(f"{field_label(field)}:") and words in shown.group(1), shown
    if field != "signed_name":
        assert 'value="Cora Consent"' in r.text  # the typed name is kept
    assert _consents(api, pid) == []


def test_a_link_opens_only_its_own_consent(clinic: Clinic) -> None:
    api = clinic.api
    pid = _patient(api, "Other")
    path = _link(api, pid, "photography")
    forged = path.replace("/photography/", "/toxin_treatment/")
    with httpx.Client(base_url=_base, timeout=30) as phone:
        assert phone.get(forged).status_code == 404
        assert phone.get(path.rsplit("/", 1)[0] + "/not-a-token").status_code == 404
    assert _consents(api, pid) == []


def test_signed_consent_cannot_be_changed_through_the_store(clinic: Clinic) -> None:
    from rhytid.store import StoreError, make_engine, session_factory
    from rhytid.store import models as m

    api = clinic.api
    pid = _patient(api, "Immutable")
    assert _sign(_link(api, pid, "photography"), GOOD).status_code == 200
    engine = make_engine(clinic.url)
    try:
        with session_factory(engine)() as db:
            row = db.query(m.Consent).filter_by(patient_id=pid).one()
            row.signed_name = "Someone Else"
            with pytest.raises(StoreError, match="cannot be changed"):
                db.flush()
            db.rollback()
            db.delete(db.query(m.Consent).filter_by(patient_id=pid).one())
            with pytest.raises(StoreError, match="cannot be deleted"):
                db.flush()
            db.rollback()
    finally:
        engine.dispose()
    assert _consents(api, pid)[0]["signed_name"] == "Cora Consent"


def test_treatment_form_shows_the_consent_status_before_record(clinic: Clinic) -> None:
    api = clinic.api
    pid = _patient(api, "Status")
    plan, _ = _plan_and_vial(api, pid)
    with signed_in(api, "clinician") as doc:
        before = doc.get(f"/patients/{pid}/treatments/new", params={"plan_id": plan})
        assert before.status_code == 200, before.text[:300]
        missing = re.search(r'id="consent-missing" role="alert">(.*?)</p>', before.text, re.S)
        assert missing, before.text
        assert f"No current consent to botulinum toxin treatment (version {VERSION})" in missing.group(1)
        assert "have the patient sign it" in missing.group(1)
        assert f'href="/patients/{pid}/consents#kind-toxin_treatment"' in missing.group(1)
        assert before.text.index('id="consent-missing"') < before.text.index('id="record"')
        assert 'id="consent-current"' not in before.text

        assert _sign(_link(api, pid, "toxin_treatment"), GOOD).status_code == 200
        [row] = _consents(api, pid)
        after = doc.get(f"/patients/{pid}/treatments/new", params={"plan_id": plan})
    current = re.search(r'id="consent-current">(.*?)</p>', after.text, re.S)
    assert current, after.text
    signed = re.search(
        r"signed by Cora Consent on (\w{3} \d{1,2} \w{3} \d{4} \d{2}:\d{2}) (\S+)\.", current.group(1)
    )
    assert f"Current consent to botulinum toxin treatment: version {VERSION}" in current.group(1)
    assert signed, current.group(1)
    # the time shown is the signing time on the clinic's wall clock
    from zoneinfo import ZoneInfo

    at = dt.datetime.fromisoformat(row["signed_at"].replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    assert signed.group(1) == at.astimezone(ZoneInfo(signed.group(2))).strftime("%a %-d %b %Y %H:%M")
    assert after.text.index('id="consent-current"') < after.text.index('id="record"')
    assert 'id="consent-missing"' not in after.text


def test_withdrawn_consent_no_longer_counts_and_the_signed_row_is_kept(clinic: Clinic) -> None:
    api = clinic.api
    pid = _patient(api, "Withdrawn")
    plan, vial = _plan_and_vial(api, pid)
    assert _sign(_link(api, pid, "toxin_treatment"), GOOD).status_code == 200
    [signed] = _consents(api, pid)
    assert signed["current"] and signed["withdrawn_at"] is None
    with signed_in(api, "clinician") as doc:
        page = doc.get(f"/patients/{pid}/consents")
        assert f'id="withdraw-{signed["id"]}"' in page.text
        # no reason: the page comes back with the message next to that consent's reason, nothing stored
        bad = doc.post(
            f"/patients/{pid}/consents/{signed['id']}/withdraw",
            data={"csrf_token": _csrf(page.text), "reason": "  "},
        )
        assert bad.status_code == 422, bad.text[:300]
        assert bad.text.count('role="alert"') == 1
        shown = re.search(rf'id="error-reason-{signed["id"]}" role="alert">([^<]*)<', bad.text)
        assert shown and shown.group(1).startswith("Reason: say how the patient withdrew it"), shown
        assert bad.text.index(f'id="q-reason-{signed["id"]}"') < shown.start()
        assert _consents(api, pid)[0]["withdrawn_at"] is None
        # the patient phoned to withdraw it: recorded with the reason
        r = doc.post(
            f"/patients/{pid}/consents/{signed['id']}/withdraw",
            data={"csrf_token": _csrf(page.text), "reason": "Patient phoned: no longer wants the treatment"},
        )
        assert r.status_code == 303, r.text[:300]
        shown_page = doc.get(f"/patients/{pid}/consents")
        form = doc.get(f"/patients/{pid}/treatments/new", params={"plan_id": plan})
    withdrawal = re.search(rf'id="withdrawal-{signed["id"]}">(.*?)</p>', shown_page.text, re.S)
    assert withdrawal and "Patient phoned: no longer wants the treatment" in withdrawal.group(1)
    assert re.search(r'id="kind-toxin_treatment">.*?class="withdrawn">withdrawn ', shown_page.text, re.S)
    assert f'id="withdraw-{signed["id"]}"' not in shown_page.text
    assert 'id="consent-missing"' in form.text and 'id="consent-current"' not in form.text

    [after] = _consents(api, pid)
    assert (
        after["withdrawn_at"]
        and after["withdrawal_reason"] == "Patient phoned: no longer wants the treatment"
    )
    assert not after["current"]
    # the signed row itself is unchanged: same hash, still verifies
    assert after["verified"] and after["content_hash"] == signed["content_hash"]
    # treatment is refused again, saying why
    t = _treat(api, pid, plan, vial)
    assert t.status_code == 422 and t.json()["field"] == "consent", t.text
    assert "the patient withdrew the last one on" in t.json()["detail"]
    assert "no longer wants the treatment" in t.json()["detail"]
    # a second withdrawal of the same consent is refused (API), naming the field
    again = api.post(
        f"/api/patients/{pid}/consents/{signed['id']}/withdraw", json={"reason": "again"}, auth=DOC
    )
    assert again.status_code == 422 and again.json()["field"] == "consent_id", again.text
    assert "already withdrawn" in again.json()["detail"]
    # audited, in the transaction of the act
    engine = create_engine(clinic.url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            audit = conn.execute(
                text("SELECT actor, detail FROM audit_log WHERE action = 'withdraw' AND entity_id = :i"),
                {"i": signed["id"]},
            ).all()
            rows = conn.execute(
                text("SELECT count(*) FROM consent_withdrawals WHERE consent_id = :i"), {"i": signed["id"]}
            ).scalar()
    finally:
        engine.dispose()
    assert [a.actor for a in audit] == [EMAIL["clinician"]]
    assert "no longer wants the treatment" in audit[0].detail
    assert rows == 1
    # FHIR: the Consent is inactive, its period ending at the withdrawal
    bundle = api.get(f"/api/patients/{pid}/fhir", auth=DOC).json()
    [c] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"]
    assert c["status"] == "inactive" and "end" in c["period"]
    assert c["period"]["end"] >= c["period"]["start"]
    # signing again makes a new current consent, and the treatment goes through
    assert _sign(_link(api, pid, "toxin_treatment"), GOOD).status_code == 200
    new, old = _consents(api, pid)
    assert new["current"] and new["withdrawn_at"] is None and not old["current"]
    assert _treat(api, pid, plan, vial).status_code == 201
    bundle = api.get(f"/api/patients/{pid}/fhir", auth=DOC).json()
    statuses = sorted(
        e["resource"]["status"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"
    )
    assert statuses == ["active", "inactive"]
