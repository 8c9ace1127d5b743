"""Command-line commands: ``serve``, ``demo-data``, ``backup``, ``restore``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["DEMO_PASSWORD", "create_demo_data", "register"]

DEMO_PASSWORD = "rhytid-demo-2024"
DEMO_USERS = (
    ("admin@demo.rhytid.example", "Ada Admin", "admin"),
    ("clinician@demo.rhytid.example", "Dr Clara Injector", "clinician"),
    ("desk@demo.rhytid.example", "Frank Desk", "front_desk"),
)

DatabaseOption = Annotated[
    str | None, typer.Option("--database", help="database URL (default: RHYTID_DATABASE_URL, else SQLite)")
]


DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="the clinic app's data folder, whose photos/ are backed up "
        "(default: RHYTID_DATA_DIR, else the user data folder)",
    ),
]


def _photo_dir(data_dir: Path | None) -> Path:
    from rhytid.web._settings import default_data_dir, photo_dir

    return photo_dir(data_dir or default_data_dir())


def _files(n: int) -> str:
    return f"{n} photo file{'' if n == 1 else 's'}"


def create_demo_data(url: str | None, time_zone: str = "UTC") -> list[tuple[str, str]]:
    """A demo clinic with users, patients and a fresh vial; returns the (e-mail, role) sign-ins."""
    from sqlalchemy import select

    from rhytid.store import make_engine, migrate, repo, session_factory, transaction
    from rhytid.store import models as m
    from rhytid.store import schemas as s

    engine = make_engine(url)
    migrate(engine)
    with transaction(session_factory(engine)) as db:
        existing = db.scalar(select(m.User).where(m.User.email == DEMO_USERS[0][0]))
        if existing is None:
            clinic = repo.create_clinic(db=db, name="Demo clinic", time_zone=time_zone)
            users = [
                repo.create_user(
                    db=db,
                    clinic_id=clinic.id,
                    data=s.UserCreate(email=e, name=n, role=r, password=DEMO_PASSWORD),
                )
                for e, n, r in DEMO_USERS
            ]
            actor = repo.Actor(clinic.id, users[1].email, users[1].id, "clinician")
            for given, family, born, sex in (
                ("Maria", "Demo", dt.date(1979, 3, 14), "female"),
                ("John", "Sample", dt.date(1968, 11, 2), "male"),
                ("Lena", "Example", dt.date(1990, 6, 30), "female"),
            ):
                repo.create_patient(
                    db=db,
                    data=s.PatientCreate(given_name=given, family_name=family, birth_date=born, sex=sex),
                    actor=actor,
                )
            for product, lot in (("onabotulinumtoxinA", "DEMO-C1"), ("incobotulinumtoxinA", "DEMO-X7")):
                repo.create_vial(
                    db=db,
                    data=s.VialCreate(
                        product=product,
                        lot=lot,
                        expiry=dt.date.today() + dt.timedelta(days=365),
                        vial_units=100,
                        diluent_ml=2.5,
                        reconstituted_at=m.utcnow() - dt.timedelta(minutes=10),
                    ),
                    actor=actor,
                )
    engine.dispose()
    return [(e, r) for e, _, r in DEMO_USERS]


def register(app: typer.Typer) -> None:
    """Add these commands to the ``rhytid`` app."""

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="port", min=1, max=65535)] = 8000,
        database: DatabaseOption = None,
    ) -> None:
        """Run the clinic web app (migrates the database first)."""
        import uvicorn

        from rhytid.web import create_app

        typer.echo(f"Rhytid clinic on http://{host}:{port}/ (health: /healthz, API: /api/openapi.json)")
        uvicorn.run(create_app(database), host=host, port=port, log_level="info")

    @app.command("demo-data")
    def demo_data(
        database: DatabaseOption = None,
        time_zone: Annotated[
            str, typer.Option("--time-zone", help="the clinic's IANA time zone, e.g. Europe/Berlin")
        ] = "UTC",
    ) -> None:
        """Create a demo clinic, users and patients in the database; print the sign-ins."""
        for email, role in create_demo_data(database, time_zone):
            typer.echo(f"{role:<10} {email}  password: {DEMO_PASSWORD}")

    @app.command()
    def backup(
        target: Annotated[Path, typer.Argument(help="archive to write, e.g. clinic-2025-01-31.tar")],
        database: DatabaseOption = None,
        data_dir: DataDirOption = None,
        allow_missing_photos: Annotated[
            bool,
            typer.Option(
                "--allow-missing-photos",
                help="write the backup even if photo files are missing or corrupt (each one is named)",
            ),
        ] = False,
    ) -> None:
        """Write one consistent backup archive (tar), even while the server runs.

        The archive holds the database copy (database.sqlite3, or database.json for PostgreSQL),
        photos/<sha256>.jpg|png for every photo the copy references, each checked against its
        checksum, and manifest.json. A missing or corrupt photo fails the backup, naming the file.
        """
        from rhytid.store import make_engine
        from rhytid.store._archive import backup as do_backup

        engine = make_engine(database)
        try:
            result = do_backup(engine, target, _photo_dir(data_dir), allow_missing=allow_missing_photos)
        finally:
            engine.dispose()
        for missing in result.missing:
            typer.echo(f"warning: {missing}; left out of the backup", err=True)
        typer.echo(f"backup written to {target} ({_files(result.photos)})")

    @app.command()
    def restore(
        source: Annotated[Path, typer.Argument(help="backup archive (or an older database-only backup)")],
        database: DatabaseOption = None,
        data_dir: DataDirOption = None,
    ) -> None:
        """Replace the database's contents and put the photos back (stop the server first).

        Every photo is checked against its checksum first; an archive that fails any check is
        refused and nothing changes. A database-only backup of older versions restores the
        database alone.
        """
        from rhytid.store import make_engine
        from rhytid.store._archive import restore as do_restore

        engine = make_engine(database)
        try:
            result = do_restore(engine, source, _photo_dir(data_dir))
        finally:
            engine.dispose()
        for missing in result.missing:
            typer.echo(f"warning: {missing} when the backup was written; not restored", err=True)
        if result.database_only:
            typer.echo(f"restored from {source} (database only; photo files left as they are)")
        else:
            typer.echo(f"restored from {source} ({_files(result.photos)})")
