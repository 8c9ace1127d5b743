"""Command-line commands of the clinical rules: ``screen``, ``triage``, ``check``.

Thin edges: each command reads its input, calls :mod:`rhytid.clinic` and prints either the
result's ``to_dict()`` as JSON (``--json``) or a readable table. Bad input raises a
:class:`~rhytid.errors.RhytidError` (one line on stderr, exit 2, in :mod:`rhytid.cli`);
``check`` exits 1 when the plan has a blocking finding.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rhytid.errors import ClinicError, TriageError

__all__ = ["register"]

_STYLE = {
    "do_not_treat": "bold red",
    "treat_with_precautions": "yellow",
    "incomplete": "yellow",
    "ok": "green",
    "contraindication": "red",
    "precaution": "yellow",
    "note": "dim",
    "emergency": "bold white on red",
    "contact_clinic": "bold yellow",
    "self_care": "cyan",
    "expected": "green",
    "blocking": "bold red",
    "warning": "yellow",
}

DateOption = Annotated[
    str | None, typer.Option("--date", help="Planned treatment date YYYY-MM-DD (default: today).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (CONTRACTS.md) instead.")]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _print_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _parse_date(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ClinicError(f"{what}: expected a date YYYY-MM-DD, got {text!r}") from None


def _styled(word: str) -> str:
    return f"[{_STYLE.get(word, '')}]{word}[/]" if word in _STYLE else word


def screen(
    history: Annotated[Path, typer.Argument(help="HISTORY.json: the questionnaire's answers.")],
    product: Annotated[
        str | None, typer.Option("--product", help="Product to screen for (findings may depend).")
    ] = None,
    date: DateOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Screen a medical history before treatment: do_not_treat, precautions, ok or incomplete."""
    from rhytid import clinic

    planned = _parse_date(date, "--date")
    result = clinic.screen(clinic.load_history(history), product=product, planned_date=planned)
    if as_json:
        _print_json(result.to_dict())
        return
    console = _console()
    console.print(f"Decision: {_styled(result.decision)}")
    if result.findings:
        table = Table("code", "severity", "reason [dim](source)[/]")
        for f in result.findings:
            table.add_row(f.code, _styled(f.severity), f"{f.reason}\n[dim]{f.source}[/]")
        console.print(table)
    if result.missing:
        console.print(f"[yellow]Not answered:[/] {', '.join(result.missing)}")
    if result.precautions:
        console.print("Each precaution must be acknowledged by a clinician before treatment.")


def _print_triage(result: Any) -> None:
    console = _console()
    level = str(result.level)
    console.print(f"Level: {_styled(level)}")
    console.print(result.advice)
    for reason in result.reasons:
        console.print(f"  - {reason}")


def triage(
    report: Annotated[
        Path | None, typer.Argument(help="REPORT.json: days since treatment, areas, symptoms.")
    ] = None,
    interactive: Annotated[bool, typer.Option("--interactive", help="Ask the questions one by one.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Aftercare triage: expected, self care, contact the clinic, or emergency."""
    from rhytid import clinic
    from rhytid.clinic._interview import interview

    if interactive == (report is not None):
        raise TriageError("give either REPORT.json or --interactive (one of them)")
    if report is not None:
        parsed = clinic.load_report(report)
    else:
        parsed = interview(
            ask_yes_no=lambda q: typer.confirm(q, default=False),
            ask_number=lambda q: float(typer.prompt(q, type=float)),
            say=typer.echo,
        )
    result = clinic.triage(parsed)
    if as_json:
        _print_json(result.to_dict())
    else:
        _print_triage(result)


def check(
    plan: Annotated[Path, typer.Argument(help="PLAN.toml (CONTRACTS.md plan file).")],
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="HISTORY.json: screening, retreatment and 3-month dose checks (without it: blocking).",
        ),
    ] = None,
    date: DateOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Review a plan (history, doses, placement, the model's spread); exit 1 if blocked."""
    import rhytid
    from rhytid import clinic
    from rhytid.anatomy import reference_face

    planned = _parse_date(date, "--date")
    loaded = rhytid.load_plan(plan)
    view = clinic.plan_view(loaded)
    at = dt.datetime.combine(planned, dt.time()) if planned else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    result = clinic.review_plan(
        view,
        reference_face("male" if view.sex == "male" else "female"),
        history=clinic.load_history(history) if history is not None else None,
        at=at,
        outcome=rhytid.simulate(loaded).to_dict(),
        today=max(at.date(), dt.date.today()),
    )
    if as_json:
        _print_json(result.to_dict())
    else:
        console = _console()
        verdict = "blocking" if result.blocking else "ok"
        console.print(f"{view.product}, {result.total_units:g} U: {_styled(verdict)}")
        if result.findings:
            table = Table("#", "site", "severity", "code", "mm", "reason")
            for f in result.findings:
                table.add_row(
                    "" if f.injection is None else str(f.injection),
                    f.site or "",
                    _styled(f.severity),
                    f.code,
                    "" if f.distance_mm is None else f"{f.distance_mm:.1f}",
                    f.reason,
                )
            console.print(table)
    if result.blocking:
        raise SystemExit(1)


def register(app: typer.Typer) -> None:
    """Add the clinical-rule commands to the ``rhytid`` app."""
    app.command("screen")(screen)
    app.command("triage")(triage)
    app.command("check")(check)
