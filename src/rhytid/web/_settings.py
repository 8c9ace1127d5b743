"""Settings of the web app (from arguments, then the environment, then defaults)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import platformdirs

__all__ = ["Settings", "default_data_dir", "load_settings", "photo_dir"]


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    secret_key: str
    data_dir: Path
    cookie_secure: bool | None  # None: secure when the request came over https
    session_hours: float = 12.0
    #: a signed-in page session lapses after this many minutes without a request (HIPAA 164.312(a)(2)(iii)
    #: asks for an automatic logoff; 30 min is the OWASP Session Management Cheat Sheet's upper range)
    idle_minutes: float = 30.0
    #: sign-in attempts (form or HTTP Basic) per client address per minute
    signin_per_minute: int = 20
    intake_link_days: float = 7.0
    aftercare_link_days: float = 30.0
    #: Clinic messages (CONTRACTS.md "Clinic messages"): e-mail through SMTP, webhooks; None: not set up.
    smtp_url: str | None = None
    mail_from: str | None = None
    webhook_url: str | None = None
    #: The delivery worker: seconds between passes, between reminder scans; the escalation time of
    #: an unacknowledged alert (None: ``messages.escalation_minutes`` of data/consent.yaml).
    outbox_poll_seconds: float = 2.0
    reminder_scan_seconds: float = 300.0
    escalation_seconds: float | None = None

    @property
    def photo_dir(self) -> Path:
        return photo_dir(self.data_dir)


def default_data_dir() -> Path:
    """The app's data folder (photos, secret key): ``RHYTID_DATA_DIR``, else the user data folder."""
    return Path(os.environ.get("RHYTID_DATA_DIR") or platformdirs.user_data_dir("rhytid", appauthor=False))


def photo_dir(data_dir: Path) -> Path:
    """The folder of assessment photos in a data folder: one file per photo, named by its SHA-256."""
    return data_dir / "photos"


def _secret(data_dir: Path) -> str:
    env = os.environ.get("RHYTID_SECRET_KEY")
    if env:
        return env
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def load_settings(
    database_url: str | None = None,
    *,
    secret_key: str | None = None,
    data_dir: Path | None = None,
    cookie_secure: bool | None = None,
) -> Settings:
    folder = data_dir or default_data_dir()
    env_secure = os.environ.get("RHYTID_COOKIE_SECURE")
    if cookie_secure is None and env_secure:
        cookie_secure = env_secure.lower() in ("1", "true", "yes")
    return Settings(
        database_url=database_url,
        secret_key=secret_key or _secret(folder),
        data_dir=folder,
        cookie_secure=cookie_secure,
        smtp_url=os.environ.get("RHYTID_SMTP_URL") or None,
        mail_from=os.environ.get("RHYTID_MAIL_FROM") or None,
        webhook_url=os.environ.get("RHYTID_WEBHOOK_URL") or None,
    )
