"""A bounded schemathesis run against the app's own OpenAPI document, over real HTTP.

Every operation of ``/api/openapi.json`` is exercised by schemathesis (its CLI, as an outside
tool would run it) through the examples, coverage and fuzzing phases with a fixed seed and a
bounded number of cases per operation: every operation as the demo clinician with a bearer
token, the sign-out and token operations with HTTP Basic (a bearer token would be revoked by the
fuzzed sign-out), and the admin's operations (tag ``users``) again as the admin. It must find no
server error (5xx) and no response that contradicts the document (status codes, content types,
response bodies and headers).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rhytid._cli_web import DEMO_PASSWORD, create_demo_data

from .conftest import EMAIL, make_app, serve

#: Cases per operation and phase: bounded so that the run takes about two minutes on two cores.
MAX_EXAMPLES = int(os.environ.get("RHYTID_SCHEMATHESIS_EXAMPLES", "6"))
SEED = 20261202
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


def _st() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if found is None:
        pytest.fail("schemathesis is not installed: install the dev dependencies (pip install -e '.[dev]')")
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{folder / 'fuzz.sqlite3'}"
    create_demo_data(url)
    app = make_app(url, folder)
    try:
        with serve(app) as base:
            yield base
    finally:
        app.state.engine.dispose()


def _token(base: str, role: str) -> str:
    r = httpx.post(f"{base}/api/auth/token", auth=(EMAIL[role], DEMO_PASSWORD), timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _config(base: str, folder: Path) -> Path:
    """A schemathesis.toml that draws most record ids from the demo data's (so that fuzzing
    reaches past the 404 of an unknown record) and the rest at random."""
    patients = httpx.get(f"{base}/api/patients", auth=(EMAIL["clinician"], DEMO_PASSWORD), timeout=30).json()
    users = httpx.get(f"{base}/api/users", auth=(EMAIL["admin"], DEMO_PASSWORD), timeout=30).json()
    lines = [
        f"[dictionaries.patients]\nvalues = {sorted(p['id'] for p in patients)}",
        f"[dictionaries.users]\nvalues = {sorted(u['id'] for u in users)}",
        "[parameters]",
        '"path.patient_id" = { dictionary = "patients", probability = 0.7 }',
        '"body.patient_id" = { dictionary = "patients", probability = 0.5 }',
        '"path.user_id" = { dictionary = "users", probability = 0.5 }',
        '"body.clinician_id" = { dictionary = "users", probability = 0.5 }',
    ]
    path = folder / "schemathesis.toml"
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(base: str, config: Path, *options: str) -> str:
    """``st run`` of the app's document with the bounded settings and ``options``; its output."""
    run = subprocess.run(
        [
            _st(),
            "--config-file",
            str(config),
            "run",
            f"{base}/api/openapi.json",
            "--url",
            base,
            "--phases",
            "examples,coverage,fuzzing",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",  # one thread: CPython 3.11's ast.parse is not thread-safe (hypothesis calls it, SystemError)
            "--request-timeout",
            "30",
            "--no-shrink",
            "--suppress-health-check",
            "all",
            "--continue-on-failure",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
        check=False,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-20000:]
    assert re.search(r"\d+ generated, (\d+) passed", out), out[-4000:]
    return out


#: The two operations that end or issue a credential, fuzzed with HTTP Basic (a bearer token would
#: be revoked by the sign-out, and cannot issue another).
AUTH_OPERATIONS = "^/api/auth/(signout|token)$"


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation(server: str, tmp_path: Path) -> None:
    config = _config(server, tmp_path)
    document = httpx.get(f"{server}/api/openapi.json", timeout=30).json()
    operations = sum(len(ops) for ops in document["paths"].values())
    tested = 0
    # the credential operations first: the admin's run may reset the clinician's password
    out = _run(
        server,
        config,
        "--auth",
        f"{EMAIL['clinician']}:{DEMO_PASSWORD}",
        "--include-path-regex",
        AUTH_OPERATIONS,
    )
    tested += int(re.search(r"Tested: (\d+)", out).group(1))  # type: ignore[union-attr]
    clinician = f"Authorization: Bearer {_token(server, 'clinician')}"
    out = _run(server, config, "--header", clinician, "--exclude-path-regex", AUTH_OPERATIONS)
    tested += int(re.search(r"Tested: (\d+)", out).group(1))  # type: ignore[union-attr]
    # the admin's operations (users, sessions, audit) as the admin
    _run(
        server,
        config,
        "--header",
        f"Authorization: Bearer {_token(server, 'admin')}",
        "--include-tag",
        "users",
    )
    assert tested == operations  # every operation of the document was exercised
