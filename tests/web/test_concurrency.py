"""No server-wide freeze (SQLite and PostgreSQL, real HTTP).

Reported: two simultaneous anonymous sign-ins froze the whole server for 30 s and ended in 503
(sign-in ran its database and password work on the event loop while another request held SQLite's
write lock until a teardown that needed the same loop). Here two sign-ins, a photo upload and a
read start together, several rounds; each must be answered normally, long before a 30 s freeze
(the bound, 2 s, is the issue's acceptance criterion, far above the ~0.1 s each request takes).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from rhytid._cli_web import DEMO_PASSWORD, create_demo_data
from rhytid.store.testing import temporary_database

from .conftest import DOC, EMAIL, KINDS, POSTGRES_URL, new_assessment, new_patient, png, served

FREEZE_BOUND_S = 2.0


@pytest.fixture(scope="module", params=KINDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    folder = tmp_path_factory.mktemp("concurrency")
    with temporary_database(str(request.param), folder, POSTGRES_URL) as url:
        create_demo_data(url)
        with served(url, folder) as c:
            yield c


def _sign_in_form(base: str, role: str) -> tuple[httpx.Client, dict[str, str]]:
    c = httpx.Client(base_url=base, timeout=60)
    pre = re.search(r'name="pre" value="([^"]+)"', c.get("/signin").text)
    assert pre
    return c, {"email": EMAIL[role], "password": DEMO_PASSWORD, "pre": pre.group(1), "next": "/"}


def _together(calls: list[Callable[[], httpx.Response]]) -> list[tuple[int, float]]:
    """Run ``calls`` at the same moment; each one's (status, seconds)."""
    barrier = threading.Barrier(len(calls))
    out: list[tuple[int, float]] = [(0, 0.0)] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        t0 = time.perf_counter()
        try:
            status = calls[i]().status_code
        except httpx.HTTPError:
            status = -1
        out[i] = (status, time.perf_counter() - t0)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _round(
    client: httpx.Client, bearer: dict[str, str], assessment: int, pid: int, i: int
) -> list[tuple[int, float]]:
    base = str(client.base_url)
    a, form_a = _sign_in_form(base, "clinician")
    b, form_b = _sign_in_form(base, "front_desk")
    try:
        return _together(
            [
                lambda: a.post("/signin", data=form_a),
                lambda: b.post("/signin", data=form_b),
                lambda: client.post(
                    f"/api/assessments/{assessment}/photos",
                    headers=bearer,
                    files={"file": (f"r{i}.png", png(i), "image/png")},
                ),
                lambda: client.get(f"/api/patients/{pid}", headers=bearer),
                lambda: client.get("/healthz"),
            ]
        )
    finally:
        a.close()
        b.close()


def test_two_sign_ins_an_upload_and_a_read_are_all_answered_promptly(client: httpx.Client) -> None:
    assessment = new_assessment(client)
    pid = new_patient(client)
    token = client.post("/api/auth/token", auth=DOC).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}  # signed in already: only the sign-ins hash passwords
    for i in range(3):
        results = _round(client, bearer, assessment, pid, i)
        assert [s for s, _ in results] == [303, 303, 201, 200, 200], results
        assert max(t for _, t in results) < FREEZE_BOUND_S, results
