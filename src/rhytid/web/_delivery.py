"""Delivery of the outbox: e-mail over SMTP, signed webhooks, and the worker thread that runs them.

Configuration (CONTRACTS.md, "Clinic messages"): ``RHYTID_SMTP_URL`` (``smtp://host:port``, plain
or upgraded with STARTTLS when the server offers it; ``smtps://user:pass@host:465``, TLS from the
start) and ``RHYTID_MAIL_FROM``; ``RHYTID_WEBHOOK_URL``. A webhook is a JSON ``POST`` with the headers
``X-Rhytid-Timestamp`` (Unix seconds) and ``X-Rhytid-Signature: sha256=<hex>``, the HMAC-SHA256 of
``"<timestamp>.<body>"`` under the clinic's webhook secret (shown to the admin on the clinic
settings page); a receiver recomputes it and rejects old timestamps.

The worker is one daemon thread started with the app: each pass escalates overdue alerts, queues
due reminders (every ``reminder_scan_seconds``) and sends due messages, each in its own short
transaction, never holding a database lock while it talks to a mail server. It never runs on the
event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from rhytid.store import _messages as msg
from rhytid.store import models as m
from rhytid.store._models import utcnow
from rhytid.web._settings import Settings

__all__ = ["DeliveryError", "Worker", "delivery_of", "send_email", "send_webhook", "sign_webhook"]

log = logging.getLogger("rhytid.outbox")
#: while the database stays away, a pass's failure is logged at most this often (s), with the count
_OUTAGE_LOG_S = 60.0
_TIMEOUT_S = 15.0


class DeliveryError(Exception):
    """A message could not be delivered this time (it stays in the outbox and is retried)."""


def delivery_of(settings: Settings, base_url: str = "") -> msg.Delivery:
    return msg.Delivery(
        email=bool(settings.smtp_url and settings.mail_from),
        webhook=bool(settings.webhook_url),
        base_url=base_url,
        escalation_seconds=settings.escalation_seconds,
    )


def send_email(smtp_url: str, mail_from: str, to: str, subject: str, body: str) -> None:
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise DeliveryError(
            f"RHYTID_SMTP_URL: use smtp://host:port or smtps://user:pass@host:port, got {smtp_url!r}"
        )
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                parts.hostname, parts.port or 465, timeout=_TIMEOUT_S, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=_TIMEOUT_S)
        with client:
            client.ehlo()
            if parts.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"e-mail to {to}: {type(exc).__name__}: {exc}") from None


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``timestamp + "." + body`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def send_webhook(url: str, secret: str, payload: str) -> None:
    body = payload.encode("utf-8")
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Rhytid-Timestamp": stamp,
            "X-Rhytid-Signature": sign_webhook(secret, stamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook: the receiver answered {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook: the receiver answered {status}")


class Worker:
    """The outbox's delivery thread (``start`` with the app, ``stop`` when it shuts down)."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, base_url: str = "") -> None:
        self._sessions = sessions
        self._settings = settings
        self._delivery = delivery_of(settings, base_url)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_scan = 0.0

    def start(self) -> None:
        """Start the thread; messages left waiting by the last run are due at once."""
        with self._sessions() as db, db.begin():
            msg.due_now(db, now=utcnow())
        self._thread = threading.Thread(target=self._run, name="rhytid-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=_TIMEOUT_S + 5)

    def wake(self) -> None:
        """Run a pass now (a message was just queued)."""
        self._wake.set()

    def set_base_url(self, base_url: str) -> None:
        if base_url and not self._delivery.base_url:
            self._delivery = delivery_of(self._settings, base_url)

    def _run(self) -> None:
        failed, told = 0, 0.0  # passes failed in a row; when that was last logged (monotonic s)
        while not self._stop.is_set():
            try:
                self.run_once()
            except SQLAlchemyError as exc:  # database busy or away: try again next pass
                failed += 1
                if failed == 1:
                    log.warning("outbox pass failed: %s", exc)
                    told = time.monotonic()
                elif time.monotonic() - told >= _OUTAGE_LOG_S:
                    log.warning("outbox pass failed, %d in a row: %s", failed, exc)
                    told = time.monotonic()
            else:
                if failed:
                    log.info("outbox delivery works again after %d failed passes", failed)
                failed = 0
            self._wake.wait(self._settings.outbox_poll_seconds)
            self._wake.clear()

    def run_once(self) -> int:
        """One pass: escalations, reminders when due, then the due messages. Returns how many went out."""
        now = utcnow()
        with self._sessions() as db, db.begin():
            msg.escalate_due(db, now=now, delivery=self._delivery)
        if time.monotonic() >= self._next_scan:
            with self._sessions() as db, db.begin():
                msg.schedule_reminders(db, now=now, delivery=self._delivery)
            self._next_scan = time.monotonic() + self._settings.reminder_scan_seconds
        channels = tuple(
            c for c, on in (("email", self._delivery.email), ("webhook", self._delivery.webhook)) if on
        )
        sent = 0
        while not self._stop.is_set():
            with self._sessions() as db, db.begin():
                batch = msg.claim_due(db, channels=channels, now=utcnow())
            if not batch:
                break
            for item in batch:
                sent += self._deliver(item)
        return sent

    def _deliver(self, item: msg.Outgoing) -> int:
        s = self._settings
        try:
            if item.channel == "email":
                assert s.smtp_url and s.mail_from
                send_email(s.smtp_url, s.mail_from, item.recipient, item.subject, item.body)
            else:
                assert s.webhook_url
                with self._sessions() as db:
                    secret = msg.clinic_contact(db, item.clinic_id).webhook_secret
                    db.commit()
                send_webhook(s.webhook_url, secret, _webhook_payload(item))
        except DeliveryError as exc:
            with self._sessions() as db, db.begin():
                again = msg.mark_failed(db, item.id, item.attempts, str(exc))
            log.warning(
                "message %s not delivered (attempt %s, again at %s): %s", item.id, item.attempts, again, exc
            )
            return 0
        with self._sessions() as db, db.begin():
            msg.mark_sent(db, item.id)
        return 1


def _webhook_payload(item: msg.Outgoing) -> str:
    try:
        data = json.loads(item.body)
    except ValueError:
        data = {"text": item.body}
    if not isinstance(data, dict):
        data = {"data": data}
    data.setdefault("subject", item.subject)
    data["message_id"] = item.id
    data["kind"] = item.kind
    return json.dumps(data, sort_keys=True)


def message_states(db: Session, alert_id: int) -> list[m.OutboxMessage]:
    """The messages of one alert notice, oldest first."""
    from sqlalchemy import select

    return list(
        db.scalars(
            select(m.OutboxMessage).where(m.OutboxMessage.alert_id == alert_id).order_by(m.OutboxMessage.id)
        )
    )
