"""Web fixtures: the app on SQLite and PostgreSQL (TestClient), and a real uvicorn server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from rhytid._cli_web import DEMO_PASSWORD, DEMO_USERS, create_demo_data
from rhytid.store.testing import temporary_database
from rhytid.web import create_app, load_settings

POSTGRES_URL = os.environ.get("RHYTID_TEST_POSTGRES_URL")
EMAIL = {role: email for email, _, role in DEMO_USERS}


def make_app(url: str, folder: Path):  # type: ignore[no-untyped-def]
    settings = load_settings(url, secret_key="test-secret-key", data_dir=folder, cookie_secure=False)
    return create_app(url, settings=settings)


@pytest.fixture(
    scope="session",
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not POSTGRES_URL, reason="RHYTID_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped"
            ),
        ),
    ],
)
def app_client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """An HTTP client of a real uvicorn server on SQLite or PostgreSQL, with demo data."""
    folder = tmp_path_factory.mktemp("web")
    with temporary_database(request.param, folder, POSTGRES_URL) as url:
        create_demo_data(url)
        app = make_app(url, folder)
        with serve(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            yield client
        app.state.engine.dispose()


def auth(role: str) -> tuple[str, str]:
    return (EMAIL[role], DEMO_PASSWORD)


@contextmanager
def serve(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Run ``app`` in uvicorn on a free port of 127.0.0.1; yield its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 with demo data on SQLite."""
    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'live.sqlite3'}"
    create_demo_data(url)
    with serve(make_app(url, folder)) as base:
        yield base
