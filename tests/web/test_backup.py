"""`rhytid backup` / `rhytid restore` on SQLite and PostgreSQL: a consistent copy while the server
runs and writes, an identical round trip, and one clear line with exit status 2 on bad input."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import Engine, select

from rhytid._cli_web import create_demo_data
from rhytid.cli import main
from rhytid.store import make_engine, migrate
from rhytid.store import models as m
from rhytid.store.testing import temporary_database

from .conftest import KINDS, POSTGRES_URL, auth, make_app, serve, served

_T = TypeVar("_T")


def dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, ordered by primary key."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in m.Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module", params=KINDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A demo database that the tests of bad input share (they must leave it as it was)."""
    kind = str(request.param)
    with temporary_database(kind, tmp_path_factory.mktemp("seeded"), POSTGRES_URL) as url:
        create_demo_data(url)
        yield kind, url


def _populate(client: httpx.Client, n: int) -> None:
    doc = auth("clinician")
    for i in range(n):
        pid = client.post(
            "/api/patients",
            auth=doc,
            json={"given_name": f"P{i}", "family_name": "Backup", "birth_date": "1980-01-02", "sex": "male"},
        ).json()["id"]
        r = client.post(
            f"/api/patients/{pid}/assessments",
            auth=doc,
            json={
                "assessed_on": "2025-01-01",
                "grades": {"glabellar": {"rest": 1, "max": 2}},
                "notes": "ñ ✓",
            },
        )
        assert r.status_code == 201, r.text


def during_writes(
    base: str, write: Callable[[httpx.Client, int], httpx.Response], backup: Callable[[], _T]
) -> _T:
    """``backup()`` while a thread keeps writing through the server at ``base``: ``write(client, i)``
    for i = 1, 2, ...; the backup starts after 5 writes, the thread stops 3 writes after it ended.
    Every write must succeed."""
    stop = threading.Event()
    done: list[int] = []
    errors: list[str] = []

    def writer() -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            for i in itertools.count(1):
                if stop.is_set():
                    return
                r = write(c, i)
                if r.is_success:
                    done.append(i)
                else:
                    errors.append(r.text)

    def wait_for(n: int) -> None:
        while len(done) < n and not errors:
            threading.Event().wait(0.02)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_for(5)
        result = backup()
        wait_for(len(done) + 3)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors[:3]
    return result


def test_backup_while_the_server_writes_then_restore(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "snapshot.tar"
    with temporary_database(kind, tmp_path, POSTGRES_URL) as url:
        main(["demo-data", "--database", url])
        capsys.readouterr()
        patient = {"given_name": "W", "family_name": "Writer", "birth_date": "1990-01-01", "sex": "female"}
        with served(url, tmp_path) as client:
            code, out, err = during_writes(
                str(client.base_url),
                lambda c, _: c.post("/api/patients", auth=auth("front_desk"), json=patient),
                lambda: cli(capsys, "backup", str(target), "--database", url),
            )
        assert (code, err) == (0, ""), err
        assert out.strip() == f"backup written to {target} (0 photo files)"
        source = dump(url)

    with temporary_database(kind, tmp_path, POSTGRES_URL) as fresh:
        code, out, err = cli(capsys, "restore", str(target), "--database", fresh)
        assert (code, err) == (0, ""), err
        assert out.strip() == f"restored from {target} (0 photo files)"
        copy = dump(fresh)
    patients = {p["id"]: p for p in copy["patients"]}
    # writing went on during and after the backup; the copy holds a prefix of it
    assert 5 <= len(copy["patients"]) - 3 < len(source["patients"])
    assert [p for p in source["patients"] if p["id"] in patients] == copy["patients"]
    # one snapshot: each patient's row and its audit entry (written in the same transaction) together
    audited = {
        a["entity_id"] for a in copy["audit_log"] if (a["action"], a["entity"]) == ("create", "patient")
    }
    assert audited == set(patients)
    assert copy["users"] == source["users"]


def test_round_trip_is_identical_and_restore_replaces_changes(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nested" / "copy.tar"
    with temporary_database(kind, tmp_path, POSTGRES_URL) as url:
        main(["demo-data", "--database", url])
        app = make_app(url, tmp_path)
        with serve(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            _populate(client, 3)
            before = dump(url)
            assert cli(capsys, "backup", str(target), "--database", url)[0] == 0
            _populate(client, 2)  # changes after the backup ...
        app.state.engine.dispose()
        assert dump(url) != before
        code, _, err = cli(capsys, "restore", str(target), "--database", url)
        assert (code, err) == (0, ""), err
        assert dump(url) == before  # ... are gone, and everything else is as it was
        # ids continue after the restored ones (PostgreSQL sequences moved past them)
        app = make_app(url, tmp_path)
        with serve(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            _populate(client, 1)
        app.state.engine.dispose()
        assert len(dump(url)["patients"]) == len(before["patients"]) + 1
    with temporary_database(kind, tmp_path, POSTGRES_URL) as fresh:
        assert cli(capsys, "restore", str(target), "--database", fresh)[0] == 0
        assert dump(fresh) == before
    assert before["assessments"][-1]["notes"] == "ñ ✓"
    assert isinstance(before["patients"][0]["birth_date"], dt.date)


def _other_kind(folder: Path, kind: str) -> Path:
    """A good backup of the other database kind: a SQLite file for PostgreSQL, JSON for SQLite."""
    if kind == "sqlite":
        path = folder / "other.json"
        path.write_text('{"alembic": "0001", "tables": {}}', encoding="utf-8")
        return path
    path = folder / "other.sqlite3"
    engine: Engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


def _file(name: str, content: bytes) -> Any:
    def make(folder: Path, _kind: str) -> Path:
        (folder / name).write_bytes(content)
        return folder / name

    return make


@pytest.mark.parametrize(
    ("command", "make_source", "words"),
    [
        ("restore", lambda p, _k: p / "missing.bak", ["backup: no file", "missing.bak"]),
        ("restore", _file("junk.bak", b"not a backup"), ["backup:", "junk.bak"]),
        ("restore", _file("bin.bak", b"\x00\xff" * 50), ["backup:", "bin.bak"]),
        ("restore", _file("empty.bak", b""), ["backup:", "empty.bak"]),
        ("restore", _file("future.json", b'{"alembic": "9999", "tables": {}}'), ["backup:", "future.json"]),
        ("restore", _other_kind, ["backup:", "other."]),
        ("backup", lambda p, _k: p, ["target:", "folder"]),
    ],
    ids=["missing", "text", "binary", "empty", "unknown-revision", "other-kind", "target-folder"],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    seeded: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    make_source: Any,
    words: list[str],
) -> None:
    kind, url = seeded
    path = make_source(tmp_path, kind)
    before = dump(url)
    code, out, err = cli(capsys, command, str(path), "--database", url)
    assert code == 2, (out, err)
    one_error_line(err, *words)
    assert dump(url) == before


def test_bad_database_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "backup", str(tmp_path / "x.bak"), "--database", "not a url")
    assert code == 2
    one_error_line(err, "database:")
    code, _, err = cli(
        capsys, "backup", str(tmp_path / "x.bak"), "--database", f"sqlite:///{tmp_path / 'none.db'}"
    )
    assert code == 2
    one_error_line(err, "database: no SQLite database")
    assert not (tmp_path / "x.bak").exists()
    assert not list(tmp_path.glob(".x.bak*"))
