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
        target: Annotated[Path, typer.Argument(help="file to write")], database: DatabaseOption = None
    ) -> None:
        """Write a consistent copy of the database, even while the server runs."""
        from rhytid.store import make_engine
        from rhytid.store._backup import backup as do_backup

        engine = make_engine(database)
        try:
            do_backup(engine, target)
        finally:
            engine.dispose()
        typer.echo(f"backup written to {target}")

    @app.command()
    def restore(
        source: Annotated[Path, typer.Argument(help="backup file")], database: DatabaseOption = None
    ) -> None:
        """Replace the database's contents with a backup (stop the server first)."""
        from rhytid.store import make_engine
        from rhytid.store._backup import restore as do_restore

        engine = make_engine(database)
        try:
            do_restore(engine, source)
        finally:
            engine.dispose()
        typer.echo(f"restored from {source}")
