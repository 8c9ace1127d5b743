"""The outbox worker while its database is away: it keeps trying, says so once (then at most once a
minute, with the count), and says when delivery works again; CI's log showed one warning per
0.2 s poll for a database that was gone."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rhytid._cli_web import create_demo_data
from rhytid.store._db import make_engine, session_factory
from rhytid.web import _delivery, load_settings
from rhytid.web._delivery import Worker


class Outage:
    """The clinic's database, reachable unless ``away`` (then as a server that refuses connections)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.away = False
        self.calls = 0

    def __call__(self) -> Session:
        self.calls += 1
        if self.away:
            raise OperationalError("connect", {}, ConnectionRefusedError("connection refused"))
        return self.sessions()


def _until(check: Any, what: str, wait_s: float = 20.0) -> None:
    deadline = time.monotonic() + wait_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {wait_s} s: {what}")
        time.sleep(0.02)


def test_an_outage_is_logged_once_and_its_end_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
    create_demo_data(url)
    engine = make_engine(url)
    db = Outage(session_factory(engine))
    settings = load_settings(url, secret_key="test", data_dir=tmp_path, cookie_secure=False)
    worker = Worker(db, dataclasses.replace(settings, outbox_poll_seconds=0.01))  # type: ignore[arg-type]
    caplog.set_level(logging.INFO, logger="rhytid.outbox")
    worker.start()
    try:
        db.away = True
        start = db.calls
        _until(lambda: db.calls - start >= 50, "50 passes while the database is away")
        failed = [r for r in caplog.records if "outbox" in r.getMessage() and r.levelno == logging.WARNING]
        assert len(failed) == 1, [r.getMessage() for r in failed]
        assert "connection refused" in failed[0].getMessage()

        monkeypatch.setattr(_delivery, "_OUTAGE_LOG_S", 0.0)  # a minute on: the count is told again
        start = db.calls
        _until(lambda: db.calls - start >= 5, "5 more passes")
        again = [r.getMessage() for r in caplog.records if "outbox" in r.getMessage()][1:]
        assert again and all("in a row" in m for m in again), again

        db.away = False
        _until(
            lambda: any("works again" in r.getMessage() for r in caplog.records),
            "a line saying that delivery works again",
        )
        [back] = [r for r in caplog.records if "works again" in r.getMessage()]
        assert back.levelno == logging.INFO
        count = len(caplog.records)
        start = db.calls
        _until(lambda: db.calls - start >= 20, "20 passes with the database back")
        assert len(caplog.records) == count  # working passes say nothing
    finally:
        worker.stop()
        engine.dispose()
