"""No orphaned photo files (SQLite and PostgreSQL, real HTTP): when storing an assessment or a
photo fails after its file was written, the file does not stay behind; a file that another stored
photo references is kept, unchanged and viewable.

The failure after the write comes from the database itself: a trigger (installed by the test) that
refuses the audit entry of a photo named ``refused-by-db.png``. That entry is written at the
commit, after every file of the request was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from rhytid._cli_web import create_demo_data
from rhytid.store import make_engine
from rhytid.store.testing import temporary_database

from .conftest import KINDS, POSTGRES_URL, auth, files, new_assessment, new_patient, png, served
from .test_pages import _sign_in, _submit

REFUSED = "refused-by-db.png"
_GUARD = "NEW.entity = 'photo' AND (SELECT filename FROM photos WHERE id = NEW.entity_id) = '" + REFUSED + "'"
TRIGGERS = {
    "sqlite": [
        f"CREATE TRIGGER refuse_photo BEFORE INSERT ON audit_log WHEN {_GUARD} "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_photo() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF {_GUARD} THEN RAISE EXCEPTION 'refused by the test trigger' USING ERRCODE = 'check_violation';"
        " END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse_photo BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_photo()",
    ],
}


@dataclass
class Clinic:
    api: httpx.Client
    doc: httpx.Client  # signed in through the sign-in page, like a browser
    photos: Path


@pytest.fixture(scope="module", params=KINDS)
def clinic(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    kind, folder = str(request.param), tmp_path_factory.mktemp("orphans")
    with temporary_database(kind, folder, POSTGRES_URL) as url:
        create_demo_data(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            for statement in TRIGGERS[kind]:
                conn.execute(text(statement))
        engine.dispose()
        with (
            served(url, folder) as api,
            httpx.Client(base_url=str(api.base_url), timeout=30) as browser,
        ):
            yield Clinic(api, _sign_in(browser, "clinician"), folder / "photos")


def _assessments(clinic: Clinic, pid: int) -> list[dict[str, Any]]:
    return list(clinic.api.get(f"/api/patients/{pid}/assessments", auth=auth("clinician")).json())


GRADES = {"assessed_on": "2025-04-01", "glabellar_rest": "1", "glabellar_max": "2", "notes": "kept"}


def test_a_refused_assessment_leaves_no_photo_file(clinic: Clinic) -> None:
    pid = new_patient(clinic.api, "Orphan")
    before = files(clinic.photos)
    r = _submit(
        clinic.doc,
        pid,
        GRADES,
        [("front.png", png(1001), "image/png"), (REFUSED, png(1002), "image/png")],
    )
    assert r.status_code == 409, r.text[:300]
    error = re.search(r'id="form-error" role="alert">([^<]*)<', r.text)
    assert error and error.group(1).startswith("Assessment: the database refused it"), r.text[:800]
    assert ">kept</textarea>" in r.text
    assert files(clinic.photos) == before  # neither file: no new name, no staged temporary file
    assert _assessments(clinic, pid) == []


def test_a_refused_upload_leaves_no_photo_file(clinic: Clinic) -> None:
    assessment = new_assessment(clinic.api)
    before = files(clinic.photos)
    r = clinic.api.post(
        f"/api/assessments/{assessment}/photos",
        files={"file": (REFUSED, png(2001), "image/png")},
        auth=auth("clinician"),
    )
    assert r.status_code == 409, r.text
    assert files(clinic.photos) == before


def test_a_bad_grade_writes_no_photo_file(clinic: Clinic) -> None:
    pid = new_patient(clinic.api, "Orphan")
    before = files(clinic.photos)
    r = _submit(clinic.doc, pid, {**GRADES, "glabellar_max": "9"}, [("front.png", png(3001), "image/png")])
    assert r.status_code == 422, r.text[:300]
    assert files(clinic.photos) == before
    assert _assessments(clinic, pid) == []


def test_a_shared_photo_survives_a_failure_of_another_row(clinic: Clinic) -> None:
    pid = new_patient(clinic.api, "Orphan")
    shared = png(4001)
    assert _submit(clinic.doc, pid, GRADES, [("front.png", shared, "image/png")]).status_code == 303
    (stored,) = _assessments(clinic, pid)
    photo = stored["photos"][0]
    before = files(clinic.photos)
    assert before[f"{photo['sha256']}.png"] == shared
    # the same bytes again, on the form and through the API, both refused by the database
    r = _submit(clinic.doc, pid, {**GRADES, "assessed_on": "2025-04-02"}, [(REFUSED, shared, "image/png")])
    assert r.status_code == 409, r.text[:300]
    r = clinic.api.post(
        f"/api/assessments/{stored['id']}/photos",
        files={"file": (REFUSED, shared, "image/png")},
        auth=auth("clinician"),
    )
    assert r.status_code == 409, r.text
    assert files(clinic.photos) == before
    assert _assessments(clinic, pid) == [stored]
    got = clinic.doc.get(f"/photos/{photo['id']}")
    assert (got.status_code, got.content) == (200, shared)


def test_the_app_sweeps_photo_files_a_dead_process_left_staged(tmp_path: Path) -> None:
    """Staged files older than a day (a process died before its transaction ended) are deleted when
    the app starts; fresh staged files, stored photos and other files are kept."""
    import os
    import time

    from rhytid.store._photos import STALE_AFTER_S, write_staged

    photos = tmp_path / "photos"
    digest = "ab" * 32
    old = write_staged(photos, f"{digest}.png", png(1)).temporary
    fresh = write_staged(photos, f"{digest}.png", png(1)).temporary
    stored = photos / f"{'cd' * 32}.png"
    stored.write_bytes(png(2))
    other = photos / "notes.part"
    other.write_bytes(b"kept")
    past = time.time() - STALE_AFTER_S - 60
    for path in (old, stored, other):
        os.utime(path, (past, past))
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    create_demo_data(url)
    with served(url, tmp_path) as client:
        assert client.get("/healthz").status_code == 200
    assert not old.exists()
    assert fresh.exists() and stored.exists() and other.exists()
