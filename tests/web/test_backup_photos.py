"""Backups hold the photo files (SQLite and PostgreSQL): backup -> wipe -> restore brings them back
byte for byte and viewable; a damaged archive is refused with one line naming the member and
changes nothing; a missing or corrupt photo is named at backup time; older database-only backups
still restore; a backup taken while photos are uploaded holds the file of every photo row."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from rhytid._cli_web import create_demo_data
from rhytid.cli import main
from rhytid.store.testing import temporary_database

from .conftest import DOC, KINDS, POSTGRES_URL, files, new_assessment, png, served
from .test_backup import cli, dump, during_writes, one_error_line


def upload(
    client: httpx.Client, assessment_id: int, content: bytes, name: str = "face.png"
) -> dict[str, Any]:
    r = client.post(
        f"/api/assessments/{assessment_id}/photos", files={"file": (name, content, "image/png")}, auth=DOC
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {i.name: tar.extractfile(i).read() for i in tar.getmembers()}  # type: ignore[union-attr]


def test_backup_wipe_restore_brings_the_photos_back(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, target = tmp_path / "data", tmp_path / "backups" / "clinic.tar"
    with temporary_database(kind, tmp_path, POSTGRES_URL) as url:
        create_demo_data(url)
        with served(url, data) as client:
            first, second = new_assessment(client), new_assessment(client)
            # one photo shared by two assessments (one file), and one more
            uploaded = [upload(client, first, png(0)), upload(client, second, png(0), "again.png")]
            uploaded.append(upload(client, first, png(1), "side.png"))
        code, out, err = cli(capsys, "backup", str(target), "--database", url, "--data-dir", str(data))
        assert (code, err) == (0, ""), err
        assert out.strip() == f"backup written to {target} (2 photo files)"
        before, originals = dump(url), files(data / "photos")
    assert sorted(originals) == sorted({p["sha256"] + ".png" for p in uploaded})
    inside = members(target)
    database = "database.sqlite3" if kind == "sqlite" else "database.json"
    assert set(inside) == {"manifest.json", database, *(f"photos/{n}" for n in originals)}
    assert json.loads(inside["manifest.json"]) == {
        "format": "rhytid-backup",
        "version": 1,
        "database": database,
        "photos": 2,
        "missing": [],
    }

    shutil.rmtree(data)  # the photos are gone, and the database is a new, empty one
    with temporary_database(kind, tmp_path, POSTGRES_URL) as fresh:
        code, out, err = cli(capsys, "restore", str(target), "--database", fresh, "--data-dir", str(data))
        assert (code, err) == (0, ""), err
        assert out.strip() == f"restored from {target} (2 photo files)"
        assert dump(fresh) == before
        assert files(data / "photos") == originals  # byte-identical, nothing else
        with served(fresh, data) as client:
            for photo, content in zip(uploaded, [png(0), png(0), png(1)], strict=True):
                got = client.get(f"/photos/{photo['id']}", auth=DOC)
                assert (got.status_code, got.content) == (200, content)


@dataclass
class Archived:
    kind: str
    url: str
    data: Path
    archive: Path
    at_backup: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module", params=KINDS)
def archived(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archived]:
    """A clinic with photos, its backup archive, and changes made after the backup (that a
    restore would undo: the tests of damaged archives must leave them as they are)."""
    folder = tmp_path_factory.mktemp("archived")
    with temporary_database(str(request.param), folder, POSTGRES_URL) as url:
        create_demo_data(url)
        data, archive = folder / "data", folder / "clinic.tar"
        with served(url, data) as client:
            assessment = new_assessment(client)
            for i in range(2):
                upload(client, assessment, png(i))
            assert main(["backup", str(archive), "--database", url, "--data-dir", str(data)]) == 0
            at_backup = dump(url)
            upload(client, new_assessment(client), png(99))
        yield Archived(str(request.param), url, data, archive, at_backup)


Damage = Callable[[dict[str, bytes], str], None]


def _tamper(inside: dict[str, bytes], photo: str) -> None:
    inside[photo] = inside[photo][:-1] + b"\x01"


def _other_kind(inside: dict[str, bytes], _photo: str) -> None:
    manifest = json.loads(inside["manifest.json"])
    other = "database.json" if manifest["database"] == "database.sqlite3" else "database.sqlite3"
    inside[other] = inside.pop(manifest["database"])
    inside["manifest.json"] = json.dumps({**manifest, "database": other}).encode()


def _future_schema(inside: dict[str, bytes], _photo: str) -> None:
    """A database copy of a schema revision this version does not know (found after the photos
    were checked and staged: the restore must still change nothing)."""
    if "database.json" in inside:
        data = json.loads(inside["database.json"])
        inside["database.json"] = json.dumps({**data, "alembic": "9999"}).encode()
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "copy.sqlite3"
        path.write_bytes(inside["database.sqlite3"])
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("UPDATE alembic_version SET version_num = '9999'")
        inside["database.sqlite3"] = path.read_bytes()


def _manifest(**changes: Any) -> Damage:
    def change(inside: dict[str, bytes], _photo: str) -> None:
        inside["manifest.json"] = json.dumps({**json.loads(inside["manifest.json"]), **changes}).encode()

    return change


DAMAGES: dict[str, tuple[Damage, list[str]]] = {
    "tampered-photo": (_tamper, ["{photo}", "does not match its sha256 checksum", "nothing changed"]),
    "missing-photo": (lambda i, p: i.pop(p) and None, ["{photo}", "is missing", "nothing changed"]),
    "foreign-photo": (
        lambda i, p: i.update({f"photos/{hashlib.sha256(b'x').hexdigest()}.png": b"x"}),
        ["belongs to no photo of the database copy"],
    ),
    "escaping-member": (
        lambda i, p: i.update({"../escape.png": b"x"}),
        ["unexpected member", "../escape.png"],
    ),
    "no-manifest": (lambda i, p: i.pop("manifest.json") and None, ["no manifest.json"]),
    "newer-version": (_manifest(version=2), ["archive version 2"]),
    "other-kind": (_other_kind, ["needs database."]),
    "future-schema": (_future_schema, ["9999"]),
}


def _write(path: Path, inside: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, content in inside.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_archive_is_refused_naming_what_is_wrong(
    archived: Archived, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    inside = members(archived.archive)
    photo = sorted(n for n in inside if n.startswith("photos/"))[0]
    change, words = DAMAGES[damage]
    change(inside, photo)
    bad = _write(tmp_path / f"{damage}.tar", inside)
    before, photos = dump(archived.url), files(archived.data / "photos")
    code, out, err = cli(
        capsys, "restore", str(bad), "--database", archived.url, "--data-dir", str(archived.data)
    )
    assert code == 2, (out, err)
    one_error_line(err, "backup:", f"{damage}.tar", *(w.format(photo=photo) for w in words))
    assert dump(archived.url) == before
    assert files(archived.data / "photos") == photos


def test_a_truncated_or_linked_archive_is_refused(
    archived: Archived, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = archived.archive.read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(whole[: len(whole) // 2])
    linked = tmp_path / "linked.tar"
    shutil.copy(archived.archive, linked)
    with tarfile.open(linked, "a") as tar:
        info = tarfile.TarInfo(f"photos/{'0' * 64}.png")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    before, photos = dump(archived.url), files(archived.data / "photos")
    for path in (cut, linked):
        code, _, err = cli(
            capsys, "restore", str(path), "--database", archived.url, "--data-dir", str(archived.data)
        )
        assert code == 2
        one_error_line(err, "backup:", path.name)
    assert dump(archived.url) == before
    assert files(archived.data / "photos") == photos


def test_an_unwritable_photo_folder_is_refused(
    archived: Archived, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "data"
    (blocked / "photos").parent.mkdir()
    (blocked / "photos").write_text("a file where the photo folder should be")
    before = dump(archived.url)
    code, _, err = cli(
        capsys, "restore", str(archived.archive), "--database", archived.url, "--data-dir", str(blocked)
    )
    assert code == 2
    one_error_line(err, "data_dir: cannot write the photos to", "nothing changed")
    assert dump(archived.url) == before


def test_an_older_database_only_backup_still_restores(
    archived: Archived, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What ``rhytid backup`` wrote before archives: the database copy alone."""
    inside = members(archived.archive)
    database = json.loads(inside["manifest.json"])["database"]
    legacy = tmp_path / f"old-{database}"
    legacy.write_bytes(inside[database])
    data = tmp_path / "data"
    with temporary_database(archived.kind, tmp_path, POSTGRES_URL) as fresh:
        code, out, err = cli(capsys, "restore", str(legacy), "--database", fresh, "--data-dir", str(data))
        assert (code, err) == (0, ""), err
        assert out.strip() == f"restored from {legacy} (database only; photo files left as they are)"
        assert dump(fresh) == archived.at_backup
    assert not data.exists()


@pytest.mark.parametrize("problem", ["missing", "corrupt"])
def test_a_missing_or_corrupt_photo_is_named_at_backup(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], problem: str
) -> None:
    """The backup fails naming the file; --allow-missing-photos writes it without the file, names
    it as a warning and in the manifest, and a restore names it again."""
    data, target = tmp_path / "data", tmp_path / "out" / "clinic.tar"
    with temporary_database(kind, tmp_path, POSTGRES_URL) as url:
        create_demo_data(url)
        with served(url, data) as client:
            assessment = new_assessment(client)
            bad, good = upload(client, assessment, png(1)), upload(client, assessment, png(2))
        path = data / "photos" / f"{bad['sha256']}.png"
        if problem == "missing":
            path.unlink()
        else:
            path.write_bytes(png(3))
        said = "file missing" if problem == "missing" else "file does not match its sha256 checksum"
        named = f"photos/{path.name} (photo {bad['id']}): {said}"

        code, out, err = cli(capsys, "backup", str(target), "--database", url, "--data-dir", str(data))
        assert (code, out) == (2, "")
        one_error_line(err, "photos: 1 missing or corrupt", named, "--allow-missing-photos")
        assert not target.parent.exists() or list(target.parent.iterdir()) == []

        code, out, err = cli(
            capsys,
            "backup",
            str(target),
            "--allow-missing-photos",
            "--database",
            url,
            "--data-dir",
            str(data),
        )
        assert code == 0
        assert err.strip() == f"warning: {named}; left out of the backup"
        assert out.strip() == f"backup written to {target} (1 photo file)"
        manifest = json.loads(members(target)["manifest.json"])
        assert manifest["missing"] == [{"id": bad["id"], "file": path.name, "problem": said}]

    shutil.rmtree(data)
    with temporary_database(kind, tmp_path, POSTGRES_URL) as fresh:
        code, out, err = cli(capsys, "restore", str(target), "--database", fresh, "--data-dir", str(data))
        assert code == 0
        assert err.strip() == f"warning: {named} when the backup was written; not restored"
        assert files(data / "photos") == {f"{good['sha256']}.png": png(2)}


def test_backup_while_photos_are_uploaded(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every photo row in the snapshot has its file in the archive, though uploads go on."""
    data, target = tmp_path / "data", tmp_path / "live.tar"
    with temporary_database(kind, tmp_path, POSTGRES_URL) as url:
        create_demo_data(url)
        with served(url, data) as client:
            assessment = new_assessment(client)
            code, out, err = during_writes(
                str(client.base_url),
                lambda c, i: c.post(
                    f"/api/assessments/{assessment}/photos",
                    files={"file": (f"p{i}.png", png(i), "image/png")},
                    auth=DOC,
                ),
                lambda: cli(capsys, "backup", str(target), "--database", url, "--data-dir", str(data)),
            )
        assert (code, err) == (0, ""), err
        source = dump(url)
        # every upload ended: its file published, no staged file left behind
        assert sorted(files(data / "photos")) == sorted(p["stored_as"] for p in source["photos"])

    restored = tmp_path / "restored"
    with temporary_database(kind, tmp_path, POSTGRES_URL) as fresh:
        code, out, err = cli(capsys, "restore", str(target), "--database", fresh, "--data-dir", str(restored))
        assert (code, err) == (0, ""), err
        copy = dump(fresh)
    n = len(copy["photos"])
    assert 5 <= n < len(source["photos"]) and copy["photos"] == source["photos"][:n]
    assert out.strip() == f"restored from {target} ({n} photo files)"
    back = files(restored / "photos")
    assert sorted(back) == sorted(p["stored_as"] for p in copy["photos"])
    assert all(hashlib.sha256(back[p["stored_as"]]).hexdigest() == p["sha256"] for p in copy["photos"])
