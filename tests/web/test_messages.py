"""Clinic messages over real HTTP (SQLite and PostgreSQL) with a real local SMTP server (aiosmtpd)
and a real webhook receiver: an emergency report e-mails the on-call clinician within seconds and
the patient is told exactly that, with tap-to-call links; the webhook is signed with the clinic's
secret; an unacknowledged alert escalates to the admins, an acknowledged one does not; closing an
alert needs a note; a message queued while delivery fails survives a restart and goes out after
it; without SMTP the Today page says messages wait and the patient is not told anyone was alerted;
links and reminders are e-mailed; bad settings re-render with the message next to the field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import http.server
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from aiosmtpd.controller import Controller

from rhytid._cli_web import create_demo_data
from rhytid.store.testing import temporary_database
from rhytid.web import create_app, load_settings
from rhytid.web._words import field_label

from .conftest import DOC, EMAIL, KINDS, POSTGRES_URL, auth, serve
from .test_consent import _csrf, signed_in

WAIT_S = 20.0  # generous upper bound for "within seconds" on a loaded 2-core machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"

    @staticmethod
    def text(mail: Message) -> str:
        """The decoded text of a message (long lines come quoted-printable)."""
        payload = mail.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode(mail.get_content_charset() or "utf-8")

    def to(self, address: str, subject: str = "") -> list[Message]:
        return [m for rcpt, m in self.messages if address in rcpt and subject in str(m["Subject"])]


@contextmanager
def smtp_server() -> Iterator[tuple[str, Mailbox]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", box
    finally:
        controller.stop()


class Hooks(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Receiver", (Hooks,), {"received": received})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def clinic_app(url: str, folder: Path, **settings: Any) -> Iterator[httpx.Client]:
    base = load_settings(url, secret_key="test-secret-key", data_dir=folder, cookie_secure=False)
    app = create_app(url, settings=dataclasses.replace(base, outbox_poll_seconds=0.2, **settings))
    try:
        with serve(app) as address, httpx.Client(base_url=address, timeout=60) as client:
            yield client
    finally:
        app.state.engine.dispose()


def until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {WAIT_S} s: {what}")


def _settings(client: httpx.Client, **values: str) -> httpx.Response:
    with signed_in(client, "admin") as admin:
        page = admin.get("/admin/clinic")
        assert page.status_code == 200, page.text[:300]
        current = {
            k: (re.search(rf'name="{k}"[^>]* value="([^"]*)"', page.text) or [None, ""])[1]
            for k in ("name", "phone", "address", "emergency_number", "on_call_email")
        }
        data = {"csrf_token": _csrf(page.text), **current, **values}
        return admin.post("/admin/clinic/contact", data=data)


def _user_id(client: httpx.Client, role: str) -> int:
    users = {u["email"]: u["id"] for u in client.get("/api/users", auth=auth("admin")).json()}
    return int(users[EMAIL[role]])


def _patient(client: httpx.Client, family: str, email: str | None = None, phone: str | None = None) -> int:
    body = {"given_name": "Eva", "family_name": family, "birth_date": "1975-07-08", "sex": "female"}
    if email:
        body["email"] = email
    if phone:
        body["phone"] = phone
    r = client.post("/api/patients", auth=DOC, json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _aftercare_path(client: httpx.Client, pid: int) -> str:
    r = client.post(f"/api/patients/{pid}/links", json={"form": "aftercare"}, auth=DOC)
    assert r.status_code == 201, r.text
    return httpx.URL(r.json()["url"]).path


def _report(
    client: httpx.Client, pid: int, symptoms: tuple[str, ...] = ("arm_weakness", "speech_difficulty")
) -> httpx.Response:
    """The patient sends an aftercare report from their phone (no account)."""
    path = _aftercare_path(client, pid)
    with httpx.Client(base_url=str(client.base_url), timeout=60) as phone:
        page = phone.get(path)
        data = {"csrf_token": _csrf(page.text), "symptom": list(symptoms), "days_since_treatment": "3"}
        return phone.post(path, data=data)


def _report_id(client: httpx.Client, pid: int) -> int:
    return int(client.get(f"/api/patients/{pid}/aftercare", auth=DOC).json()[0]["id"])


@pytest.fixture(scope="module", params=KINDS)
def mail_clinic(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, Mailbox, list[tuple[dict[str, str], bytes]]]]:
    """A clinic with SMTP and a webhook, escalating after 4 s, scanning for reminders every 0.5 s."""
    folder = tmp_path_factory.mktemp("mail")
    with (
        temporary_database(request.param, folder, POSTGRES_URL) as url,
        smtp_server() as (smtp, box),
        webhook_receiver() as (hook, received),
    ):
        create_demo_data(url)
        with clinic_app(
            url,
            folder,
            smtp_url=smtp,
            mail_from="clinic@demo.rhytid.example",
            webhook_url=hook,
            escalation_seconds=4.0,
            reminder_scan_seconds=0.5,
        ) as client:
            r = _settings(
                client,
                name="Demo clinic",
                phone="+49 30 1234567",
                emergency_number="112",
                on_call_user_id=str(_user_id(client, "clinician")),
            )
            assert r.status_code == 303, r.text[:500]
            yield client, box, received


def test_emergency_report_emails_the_on_call_clinician_and_the_patient_is_told(mail_clinic: Any) -> None:
    client, box, received = mail_clinic
    pid = _patient(client, "Emergency")
    r = _report(client, pid)
    assert r.status_code == 200, r.text[:500]
    assert "Call the emergency number now" in r.text
    told = re.search(r'<p id="who-was-told">(.*?)</p>', r.text, re.S)
    assert told, r.text
    assert "We have e-mailed Dr Clara Injector" in told.group(1), told.group(1)
    assert 'href="tel:+49301234567"' in told.group(1)  # tap to call the clinic
    assert 'id="call-emergency" href="tel:112"' in r.text
    assert "The clinic has been alerted" not in r.text
    mail = until(lambda: box.to(EMAIL["clinician"], "EMERGENCY"), "the on-call clinician's e-mail")
    body = Mailbox.text(mail[0])
    rid = _report_id(client, pid)
    assert "Eva Emergency" in body and f"/alerts/{rid}" in body and "arm" in body.lower()
    # the webhook (pager/SMS gateway) got it too, signed with the clinic's secret
    with signed_in(client, "admin") as admin:
        secret = re.search(r'id="webhook-secret">([^<]+)<', admin.get("/admin/clinic").text)
    assert secret
    hook = until(lambda: [h for h in received if f'"report_id": {rid}'.encode() in h[1]], "the webhook call")
    headers, payload = hook[0]
    expected = hmac.new(
        secret.group(1).encode(), headers["x-rhytid-timestamp"].encode() + b"." + payload, hashlib.sha256
    )
    assert headers["x-rhytid-signature"] == "sha256=" + expected.hexdigest()
    assert (
        headers["x-rhytid-signature"] != "sha256=" + hmac.new(b"other", payload, hashlib.sha256).hexdigest()
    )


def test_unacknowledged_alert_escalates_and_an_acknowledged_one_does_not(mail_clinic: Any) -> None:
    client, box, _ = mail_clinic
    ignored, handled = _patient(client, "Ignored"), _patient(client, "Handled")
    for pid in (ignored, handled):
        r = client.post(
            f"/api/patients/{pid}/aftercare",
            auth=DOC,
            json={"report": {"days_since_treatment": 2, "symptoms": [{"code": "eyelid_droop"}]}},
        )
        assert r.status_code == 201, r.text
    handled_id = _report_id(client, handled)
    ack = client.post(f"/api/alerts/{handled_id}/acknowledge", auth=DOC)
    assert ack.status_code == 200, ack.text
    escalated = until(
        lambda: [m for m in box.to(EMAIL["admin"], "ESCALATED") if "Eva Ignored" in str(m["Subject"])],
        "the escalation e-mail to the admin",
    )
    assert "Nobody has acknowledged this alert" in Mailbox.text(escalated[0])
    with signed_in(client, "clinician") as doc:
        page = doc.get(f"/alerts/{_report_id(client, ignored)}")
        assert 'id="escalated"' in page.text
        time.sleep(1.0)  # the handled alert was made with the ignored one: past its escalation time too
        assert 'id="acknowledged"' in doc.get(f"/alerts/{handled_id}").text
    assert not [m for m in box.to(EMAIL["admin"], "ESCALATED") if "Eva Handled" in str(m["Subject"])]


def test_closing_an_alert_needs_a_note(mail_clinic: Any) -> None:
    client, _, _ = mail_clinic
    pid = _patient(client, "Closing")
    assert _report(client, pid, ("eyelid_droop",)).status_code == 200
    rid = _report_id(client, pid)
    with signed_in(client, "clinician") as doc:
        page = doc.get(f"/alerts/{rid}")
        r = doc.post(f"/alerts/{rid}/close", data={"csrf_token": _csrf(page.text), "note": "ok"})
        assert r.status_code == 422
        start = r.text.index('id="q-note" class="invalid" aria-describedby="error-note"')
        shown = re.search(r'id="error-note" role="alert">([^<]*)<', r.text)
        assert shown and shown.start() > start and shown.group(1).startswith("Note: say what was done")
        assert any(a["id"] == rid for a in client.get("/api/alerts", auth=DOC).json())  # still open
        note = "Called Eva: left lid 1 mm lower, no other signs; review tomorrow"
        r = doc.post(f"/alerts/{rid}/close", data={"csrf_token": _csrf(page.text), "note": note})
        assert r.status_code == 303, r.text[:300]
        assert all(a["id"] != rid for a in client.get("/api/alerts", auth=DOC).json())
        assert f'id="closed-note">Closed: {note}' in doc.get(f"/alerts/{rid}").text


def test_links_are_emailed_from_the_record(mail_clinic: Any) -> None:
    client, box, _ = mail_clinic
    email = "eva.links@example.org"
    pid = _patient(client, "Links", email)
    with signed_in(client, "front_desk") as desk:
        page = desk.get(f"/patients/{pid}")
        r = desk.post(f"/patients/{pid}/links/email", data={"csrf_token": _csrf(page.text), "form": "intake"})
        assert r.status_code == 200 and "is being e-mailed to eva.links@example.org" in r.text, r.text[:500]
    with signed_in(client, "clinician") as doc:
        page = doc.get(f"/patients/{pid}/consents")
        form = {"csrf_token": _csrf(page.text), "form": "consent:toxin_treatment"}
        assert doc.post(f"/patients/{pid}/links/email", data=form).status_code == 200
    intake = until(lambda: box.to(email, "medical history"), "the intake link e-mail")
    consent = until(lambda: box.to(email, "botulinum toxin"), "the consent link e-mail")
    for mail, title in ((intake, "Before your visit"), (consent, "Consent to botulinum toxin treatment")):
        link = re.search(r"http://\S+/p/\S+", Mailbox.text(mail[0]))
        assert link, Mailbox.text(mail[0])
        with httpx.Client(timeout=30) as phone:
            opened = phone.get(link.group(0))
        assert opened.status_code == 200 and title in opened.text
    # a patient without an e-mail address: refused, naming the field, nothing queued
    other = _patient(client, "NoMail")
    with signed_in(client, "front_desk") as desk:
        page = desk.get(f"/patients/{other}")
        r = desk.post(
            f"/patients/{other}/links/email", data={"csrf_token": _csrf(page.text), "form": "intake"}
        )
    assert r.status_code == 422 and "email: the patient has no e-mail address" in r.text
    assert not [m for m in client.get("/api/messages", auth=DOC).json() if m["patient_id"] == other]


def test_appointment_reminder_goes_out_the_day_before_once(mail_clinic: Any) -> None:
    """By e-mail, and through the webhook to an SMS gateway for the phone on record."""
    client, box, received = mail_clinic
    email, phone = "eva.reminder@example.org", "+49 170 5550101"
    pid = _patient(client, "Reminder", email, phone)
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    r = client.post(
        "/api/appointments",
        auth=DOC,
        json={
            "patient_id": pid,
            "clinician_id": _user_id(client, "clinician"),
            "kind": "consultation",
            "starts_at": f"{tomorrow.isoformat()}T10:15",
            "minutes": 15,
        },
    )
    assert r.status_code == 201, r.text
    mail = until(lambda: box.to(email, "tomorrow"), "the appointment reminder")
    assert "consultation appointment at Demo clinic" in Mailbox.text(mail[0])
    assert "+49 30 1234567" in Mailbox.text(mail[0])
    sms = until(lambda: [h for h in received if phone.encode() in h[1]], "the SMS-gateway webhook")
    payload = json.loads(sms[0][1])
    assert payload["event"] == "reminder" and payload["to"] == phone and "Demo clinic" in payload["text"]
    time.sleep(1.5)  # several more reminder scans
    assert len(box.to(email)) == 1 and len([h for h in received if phone.encode() in h[1]]) == 1


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"phone": "call us"}, "phone", "a telephone number"),
        ({"phone": ""}, "phone", "give the number"),
        ({"emergency_number": ""}, "emergency_number", "give the number"),
        ({"emergency_number": "1-1-2-<b>"}, "emergency_number", "a telephone number"),
        ({"on_call_user_id": "999999"}, "on_call_user_id", "not an active clinician"),
        ({"on_call_email": "not-an-address"}, "on_call_email", "not an e-mail address"),
        ({"name": ""}, "name", "give the clinic's name"),
        ({"address": "x" * 301}, "address", "at most 300"),
    ],
    ids=[
        "phone-words",
        "phone-empty",
        "emergency-empty",
        "emergency-markup",
        "on-call-unknown",
        "email",
        "name",
        "address",
    ],
)
def test_bad_clinic_settings_are_shown_next_to_the_field_and_nothing_is_stored(
    mail_clinic: Any, change: dict[str, str], field: str, words: str
) -> None:
    client, _, _ = mail_clinic
    doc = str(_user_id(client, "clinician"))
    r = _settings(client, **{"on_call_user_id": doc, **change})
    assert r.status_code == 422, r.text[:300]
    start = r.text.index(f'id="q-{field}" class="invalid" aria-describedby="error-{field}"')
    shown = re.search(rf'id="error-{field}" role="alert">([^<]*)<', r.text)
    label = field_label(field)  # the field in words, e.g. "Emergency number:"
    assert shown and shown.start() > start and shown.group(1).startswith(f"{label}:"), r.text[:2000]
    assert words in shown.group(1).replace("&#39;", "'")
    assert r.text.count('role="alert"') == 1
    with signed_in(client, "admin") as admin:
        page = admin.get("/admin/clinic").text
    assert (
        'value="+49 30 1234567"' in page
        and 'name="emergency_number" type="tel" maxlength="20" value="112"' in page
    )
    assert f'<option value="{doc}" selected>' in page


def test_a_message_queued_while_delivery_fails_survives_a_restart(kind: str, tmp_path: Path) -> None:
    """Delivery fails (mail server down): the failure is shown and retried; after a restart with the
    mail server up, the e-mail goes out. Before that, without SMTP, nobody is said to be alerted."""
    with temporary_database(kind, tmp_path, POSTGRES_URL) as url:
        create_demo_data(url)
        # 1. no messaging configured: the Today page and the patient say so
        with clinic_app(url, tmp_path) as client:
            pid = _patient(client, "Restart")
            r = _report(client, pid)
            assert r.status_code == 200
            told = re.search(r'<p id="who-was-told">(.*?)</p>', r.text, re.S)
            assert told and "nobody has been notified yet" in told.group(1), r.text
            assert "e-mailed" not in told.group(1) and "alerted" not in r.text
            assert "Call your local emergency number" in r.text  # no number set by the admin yet
            with signed_in(client, "clinician") as doc:
                today = doc.get("/").text
            assert 'id="messages-not-configured"' in today and "1 message waits in the outbox" in today
        # 2. SMTP configured but the mail server is down: the failure is visible and retried
        dead = f"smtp://127.0.0.1:{_free_port()}"
        with clinic_app(url, tmp_path, smtp_url=dead, mail_from="clinic@demo.rhytid.example") as client:

            def failing() -> list[dict[str, Any]]:
                rows = client.get("/api/messages", auth=DOC).json()
                return [m for m in rows if m["patient_id"] == pid and m["last_error"] and m["attempts"] >= 1]

            [message] = until(failing, "the failed delivery attempt")
            assert message["status"] == "pending" and "ConnectionRefused" in message["last_error"]
            with signed_in(client, "clinician") as doc:
                assert 'id="messages-failing"' in doc.get("/").text
                assert 'class="pending failing"' in doc.get("/messages").text
        # 3. restarted with a working mail server: the same message goes out
        with (
            smtp_server() as (smtp, box),
            clinic_app(url, tmp_path, smtp_url=smtp, mail_from="c@x.example") as client,
        ):
            mail = until(lambda: box.to(EMAIL["clinician"], "EMERGENCY"), "the e-mail after the restart")
            assert "Eva Restart" in str(mail[0]["Subject"])
            rows = [m for m in client.get("/api/messages", auth=DOC).json() if m["patient_id"] == pid]
            assert [(m["status"], m["id"]) for m in rows] == [("sent", message["id"])]
