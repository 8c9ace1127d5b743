"""Command-line commands of the model: ``anatomy`` and ``simulate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from rhytid.errors import PatientError, PlanError

__all__ = ["register"]

_GRADE = ("none", "mild", "moderate", "severe")
_DRAWS = (20, 20000)


def _check_age(age: float) -> None:
    if not 18 <= age <= 90:
        raise PatientError(f"--age must be between 18 and 90, got {age:g}")


def anatomy(
    as_json: Annotated[bool, typer.Option("--json", help="Print the anatomy as JSON.")] = False,
    png: Annotated[Path | None, typer.Option("--png", help="Write a labelled face chart (PNG).")] = None,
    sex: Annotated[str, typer.Option(help="female | male")] = "female",
    age: Annotated[float, typer.Option(help="Age in years (18..90).")] = 45,
) -> None:
    """Show the reference face: landmarks, muscles, injection sites and treatment areas."""
    from rhytid.anatomy import reference_face

    _check_age(age)
    if sex not in ("female", "male"):
        raise PatientError(f"--sex must be 'female' or 'male', got {sex!r}")
    face = reference_face("male" if sex == "male" else "female")
    if png is not None:
        from rhytid.report import face_chart_png

        face_chart_png(face, png)
        typer.echo(f"face chart written to {png}", err=as_json)
    if as_json:
        typer.echo(json.dumps({**face.to_dict(), "age": age}, indent=2))
    elif png is None:
        console = Console()
        table = Table(title=f"Injection sites of the reference {sex} face (mm, face frame)")
        for col in ("site", "x_mm", "y_mm", "area"):
            table.add_column(col)
        for s in face.sites.values():
            table.add_row(s.name, f"{s.xy[0]:.1f}", f"{s.xy[1]:.1f}", s.area)
        console.print(table)
        muscles = Table(title="Muscles")
        for col in ("muscle", "role", "depth_mm", "thickness_mm"):
            muscles.add_column(col)
        for m in face.muscles.values():
            muscles.add_row(m.name, m.role, f"{m.depth_mm:g}", f"{m.thickness_mm:g}")
        console.print(muscles)


def simulate(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN.toml", help="Treatment plan (TOML).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", metavar="DIR", help="Write an HTML report with figures.")
    ] = None,
    uncertainty: Annotated[
        bool,
        typer.Option(
            "--uncertainty",
            help="Grade and risk probabilities over parameter draws from the calibration's posterior.",
        ),
    ] = False,
    draws: Annotated[
        int | None, typer.Option("--draws", help="Draws for --uncertainty (default 400).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the draws (same seed, same result; default 1).")
    ] = None,
    variation: Annotated[
        str | None,
        typer.Option(
            "--variation",
            help="parameters (default: how sure the model is for this patient) | patients (also "
            "patient-to-patient variation and injection scatter: a patient like this).",
        ),
    ] = None,
) -> None:
    """Simulate a treatment plan: block, wrinkle grades, brow and eyelid over time, and risks."""
    import rhytid

    if not uncertainty:
        given = [
            n for n, v in (("--draws", draws), ("--seed", seed), ("--variation", variation)) if v is not None
        ]
        if given:
            raise PlanError(f"{given[0]} goes with --uncertainty: add --uncertainty or drop {given[0]}")
    n_draws = 400 if draws is None else draws
    if not _DRAWS[0] <= n_draws <= _DRAWS[1]:
        raise PlanError(f"--draws must be between {_DRAWS[0]} and {_DRAWS[1]}, got {n_draws}")
    if seed is not None and not 0 <= seed < 2**63:
        raise PlanError(f"--seed must be a whole number from 0, got {seed}")
    if variation is not None and variation not in ("parameters", "patients"):
        raise PlanError(f"--variation must be 'parameters' or 'patients', got {variation!r}")
    plan = rhytid.load_plan(plan_file)
    if uncertainty:
        from rhytid.trial._plan_uncertainty import simulate_with_uncertainty

        out = simulate_with_uncertainty(
            plan,
            draws=n_draws,
            seed=1 if seed is None else seed,
            variation="patients" if variation == "patients" else "parameters",
        )
        if report is not None:
            from rhytid.report import write_simulation_report

            index = write_simulation_report(plan, rhytid.simulate(plan), report)
            typer.echo(f"report written to {index} (at the fitted parameters)", err=as_json)
        if as_json:
            typer.echo(json.dumps(out, indent=2))
        else:
            _print_uncertainty(out, plan_file)
        return
    outcome = rhytid.simulate(plan)
    if report is not None:
        from rhytid.report import write_simulation_report

        index = write_simulation_report(plan, outcome, report)
        typer.echo(f"report written to {index}", err=as_json)
    if as_json:
        typer.echo(json.dumps(outcome.to_dict(), indent=2))
        return
    _print_outcome(outcome, plan_file)


_AREA_HEADS = {
    "glabellar": "glabella",
    "forehead": "forehead",
    "lateral_canthal_l": "crow's feet l",
    "lateral_canthal_r": "crow's feet r",
}
_TREATED_BLOCK = 0.05
"""A muscle is shown in the block table when the plan blocks at least 5 % of its endings at some
visit (display threshold; below it the block is not visible in the grades)."""
_MUSCLES_PER_TABLE = 4


def _table(title: str) -> Table:
    # no vertical rules and one space of padding: 80 columns hold five columns of 14 characters
    return Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), title_justify="left")


def _column(table: Table, header: str, *, right: bool = False) -> None:
    table.add_column(header, justify="right" if right else "left", overflow="fold")


def _muscle_groups(outcome: object) -> list[str]:
    """Muscles the plan treats (peak block >= 5 % on either side), their sides merged, in order."""
    from rhytid import Outcome

    assert isinstance(outcome, Outcome)
    peak: dict[str, float] = {}
    for v in outcome.timeline:
        for name, b in v.muscle_block.items():
            base = name.removesuffix("_l").removesuffix("_r")
            peak[base] = max(peak.get(base, 0.0), b)
    return [name for name, b in peak.items() if b >= _TREATED_BLOCK]


def _block_cell(block: dict[str, float], base: str) -> str:
    if base in block:
        return f"{block[base]:.0%}"
    return f"{block.get(base + '_l', 0.0):.0%} / {block.get(base + '_r', 0.0):.0%}"


def _mm(value: float) -> str:
    """A signed change in mm to 0.1 mm, with no "-0.0" for a change that rounds to nothing."""
    r = round(value, 1)
    return "0.0" if r == 0 else f"{r:+.1f}"


def _print_outcome(outcome: object, plan_file: Path) -> None:
    """The outcome as tables that fit an 80-column terminal: grades of each area, the block of the
    muscles the plan treats (left / right), brow and lid per visit, then the risks."""
    from rhytid import Outcome

    assert isinstance(outcome, Outcome)
    console = Console()
    plan = outcome.plan
    console.print(
        f"[bold]{plan_file.name}[/bold]: {plan['total_units']} U {plan['product']} in "
        f"{len(plan['injections'])} injections ({plan['units_per_ml']:g} U/mL); patient "
        f"{outcome.patient['sex']}, {outcome.patient['age']:g} y"
    )
    areas = list(outcome.timeline[0].areas)
    grades = _table("Wrinkle grade at maximum contraction (at rest)")
    _column(grades, "day", right=True)
    for a in areas:
        _column(grades, _AREA_HEADS.get(a, a.replace("_", " ")))
    for v in outcome.timeline:
        grades.add_row(
            f"{v.day:g}",
            *(f"{_GRADE[v.areas[a].max_grade]} ({_GRADE[v.areas[a].rest_grade]})" for a in areas),
        )
    console.print(grades)
    groups = _muscle_groups(outcome)
    for k in range(0, len(groups), _MUSCLES_PER_TABLE):
        chunk = groups[k : k + _MUSCLES_PER_TABLE]
        block = _table("Block of the muscles the plan reaches (left / right)")
        _column(block, "day", right=True)
        for g in chunk:
            _column(block, g.replace("_", " "), right=True)
        for v in outcome.timeline:
            block.add_row(f"{v.day:g}", *(_block_cell(v.muscle_block, g) for g in chunk))
        console.print(block)
    face = _table("Brow height change and eyelid droop at rest, mm (left / right)")
    for header in ("day", "medial brow", "brow peak", "lateral brow", "eyelid droop"):
        _column(face, header, right=True)
    for v in outcome.timeline:
        b = v.brow_height_change_mm
        face.add_row(
            f"{v.day:g}",
            *(f"{_mm(b[f'{p}_l'])} / {_mm(b[f'{p}_r'])}" for p in ("medial", "peak", "lateral")),
            f"{v.eyelid_droop_mm['l']:.1f} / {v.eyelid_droop_mm['r']:.1f}",
        )
    console.print(face)
    if outcome.risks:
        risks = _table("Risks")
        for col in ("kind", "side", "level", "detail"):
            _column(risks, col)
        for r in outcome.risks:
            risks.add_row(r.kind, r.side or "-", r.level, r.detail)
        console.print(risks)
    else:
        console.print("Risks: none predicted.")
    for w in outcome.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")


def _probs(p: list[float]) -> str:
    """Grade probabilities as whole percentages, none/mild/moderate/severe."""
    return "/".join(f"{round(100 * x):d}" for x in p)


def _print_uncertainty(out: dict[str, Any], plan_file: Path) -> None:
    """``simulate --uncertainty`` as tables of 80 columns: the probability of each grade per area
    and visit (at maximum contraction, then at rest), brow and lid with 90 % intervals, and the
    probability of each risk at each level."""
    console = Console()
    plan, patient, u = out["plan"], out["patient"], out["uncertainty"]
    console.print(
        f"[bold]{plan_file.name}[/bold]: {plan['total_units']} U {plan['product']} in "
        f"{len(plan['injections'])} injections; patient {patient['sex']}, {patient['age']:g} y"
    )
    console.print(
        f"{u['draws']} draws (seed {u['seed']}) of the calibration's posterior; variation "
        f"{u['variation']}: {u['question']}."
    )
    timeline = out["timeline"]
    areas = list(timeline[0]["areas"])
    for which, title in (("max", "at maximum contraction"), ("rest", "at rest")):
        table = _table(f"Grade probability {title}, % none/mild/mod/severe")
        _column(table, "day", right=True)
        for a in areas:
            _column(table, _AREA_HEADS.get(a, a.replace("_", " ")), right=True)
        for v in timeline:
            table.add_row(
                f"{v['day']:g}", *(_probs(v["areas"][a][which]["grade_probabilities"]) for a in areas)
            )
        console.print(table)
    face = _table("Brow peak change, eyelid droop at rest: 90% interval, mm")
    for header in ("day", "brow peak l", "brow peak r", "droop l", "droop r"):
        _column(face, header, right=True)
    for v in timeline:
        b, d = v["brow_height_change_mm_pi90"], v["eyelid_droop_mm_pi90"]
        face.add_row(
            f"{v['day']:g}",
            *(f"{_mm(b[k][0])}..{_mm(b[k][1])}" for k in ("peak_l", "peak_r")),
            *(f"{d[s][0]:.1f}..{d[s][1]:.1f}" for s in ("l", "r")),
        )
    console.print(face)
    risks = _table("Probability of each risk (any level; low / moderate / high)")
    for header in ("risk", "side", "any", "low", "moderate", "high"):
        _column(risks, header, right=header not in ("risk", "side"))
    for r in out["risk_probabilities"]:
        lv = r["level_probabilities"]
        kind = r["kind"].replace("_", " ")
        if "muscle" in r:
            kind = "unintended: " + r["muscle"].removesuffix("_l").removesuffix("_r").replace("_", " ")
        risks.add_row(
            kind,
            r["side"] or "-",
            f"{r['probability']:.1%}",
            *(f"{lv[k]:.1%}" for k in ("low", "moderate", "high")),
        )
    console.print(risks)
    console.print(
        "The reduced-order engine of the draws grades as the exact run in "
        f"{u['reduced_grade_agreement']:.0%} of the visits and areas at the fitted parameters; "
        "grades are the model's, without rater noise."
    )
    for w in out["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {w}")


def motion(
    expression: Annotated[str, typer.Option("--expression", help="frown | raise_brows | squint | smile")],
    sex: Annotated[str, typer.Option(help="female | male")] = "female",
    plan_file: Annotated[
        Path | None, typer.Option("--plan", metavar="PLAN.toml", help="Treatment plan (with --day).")
    ] = None,
    day: Annotated[float | None, typer.Option(help="Day of the plan (with --plan).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the displacements as JSON.")] = False,
    png: Annotated[Path | None, typer.Option("--png", help="Draw the displacement as arrows (PNG).")] = None,
) -> None:
    """How the skin moves from rest to an expression, at the landmarks and on forehead profiles."""
    import rhytid
    from rhytid._motion import motion as compute

    if sex not in ("female", "male"):
        raise PatientError(f"--sex must be 'female' or 'male', got {sex!r}")
    if (plan_file is None) != (day is None):
        raise PatientError("--plan and --day go together: give both or neither")
    if day is not None and not 0 <= day <= 3650:
        raise PatientError(f"--day must be between 0 and 3650, got {day:g}")
    plan = rhytid.load_plan(plan_file) if plan_file is not None else None
    m = compute(expression.replace("-", "_"), sex, plan, day)
    if png is not None:
        from rhytid.report import motion_png

        motion_png(m, png)
        typer.echo(f"motion drawn to {png}", err=as_json)
    if as_json:
        typer.echo(json.dumps(m.to_dict(), indent=2))
    elif png is None:
        console = Console()
        table = Table(title=f"Skin displacement, rest to {m.expression} ({m.sex}), mm")
        for col in ("landmark", "dx_mm", "dy_mm"):
            table.add_column(col)
        for name, (dx, dy) in m.landmarks.items():
            table.add_row(name, f"{dx:+.2f}", f"{dy:+.2f}")
        console.print(table)
        for p in m.profiles:
            c = p.c_line_fraction
            console.print(
                f"profile x = {p.x_mm:+.1f} mm: line of convergence at "
                f"{'none' if c is None else f'{c:.0%}'} of the forehead height; "
                f"forehead shortens {p.shortening_mm:.1f} mm"
            )


def register(app: typer.Typer) -> None:
    """Add the model commands to the ``rhytid`` app."""
    app.command("anatomy")(anatomy)
    app.command("simulate")(simulate)
    app.command("motion")(motion)
