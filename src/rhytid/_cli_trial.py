"""Command-line commands: ``trial`` and ``calibrate``.

``rhytid trial`` parses the design, calls :func:`rhytid.trial.run_trial` and formats the result
(JSON of CONTRACTS.md, or a table; ``--report DIR`` adds figures and an ``index.html``).
``rhytid calibrate`` calls :func:`rhytid.trial._calibrate.fit`, writes the fitted values with their
provenance to the package's ``data/calibrated.yaml`` and the validation report ``validation/REPORT.md``
with figures (:mod:`rhytid.report`).
"""

from __future__ import annotations

import json
import shlex
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rhytid.errors import TrialError

if TYPE_CHECKING:
    from rhytid.trial import TrialResult

__all__ = ["register"]

_AREA_HELP = "glabellar | forehead | lateral-canthal | forehead+glabellar"


def trial(
    area: Annotated[str, typer.Option("--area", help=_AREA_HELP)],
    product: Annotated[str, typer.Option("--product", help="Product name, e.g. onabotulinumtoxinA.")],
    dose: Annotated[float, typer.Option("--dose", help="Total units of the product (label pattern scaled).")],
    patients: Annotated[
        int, typer.Option("--patients", help="Patients randomised (3:1 toxin:placebo).")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same result).")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON (CONTRACTS.md).")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", metavar="DIR", help="Write figures and index.html.")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786."),
    ] = None,
    exact: Annotated[
        bool,
        typer.Option("--exact", help="Every raster cell and nerve-ending point (slow; the reference)."),
    ] = False,
) -> None:
    """Run a virtual randomised, placebo-controlled trial of a toxin in a treatment area."""
    from rhytid.trial import TrialDesign, run_trial

    design = TrialDesign(area=area, product=product, dose_units=dose, patients=patients, seed=seed)
    if as_json:
        result = run_trial(design, scheduler=scheduler, exact=exact)
    else:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[bold]virtual trial"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} chunks"),
            TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("trial", total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = run_trial(design, scheduler=scheduler, progress=tick, exact=exact)
    if report is not None:
        from rhytid.report import write_trial_report

        index = write_trial_report(result, report)
        typer.echo(f"report written to {index}", err=as_json)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_trial(result)


def _print_trial(result: TrialResult) -> None:
    from rich.console import Console
    from rich.table import Table

    d = result.to_dict()
    des = d["design"]
    console = Console()
    console.print(
        f"[bold]{des['area']}[/bold]: {des['dose_units']} U {des['product']}, "
        f"{des['n_treated']} treated vs {des['n_placebo']} placebo (seed {des['seed']}; "
        f"{des['n_screened']} screened)"
    )
    table = Table(title="Responders at maximum contraction, treated vs placebo (95% CI)")
    for col in ("day", "none or mild", "placebo", ">= 1 grade better", ">= 2 grades better"):
        table.add_column(col, justify="right")
    for v in d["visits"]:
        nm = v["none_or_mild"]
        lo, hi = nm["treated_ci95"]
        table.add_row(
            str(v["day"]),
            f"{nm['treated']:.1%} ({lo:.1%}-{hi:.1%})",
            f"{nm['placebo']:.1%}",
            f"{v['improve1']['treated']:.1%} / {v['improve1']['placebo']:.1%}",
            f"{v['improve2']['treated']:.1%} / {v['improve2']['placebo']:.1%}",
        )
    console.print(table)
    for key, label in (("none_or_mild", "none-or-mild"), ("to_baseline", "to return to baseline")):
        median, ci = d[f"median_days_{key}"], d[f"median_days_{key}_ci95"]
        interval = f" (95% CI {ci[0]:g}-{ci[1]:g})" if ci else ""
        every = d["design"]["duration_follow_up_days"]
        console.print(f"median days {label}: {median}{interval}, read at visits every {every} days")
    for name, ae in d["adverse_events"].items():
        console.print(f"{name.replace('_', ' ')}: treated {ae['treated']:.1%}, placebo {ae['placebo']:.1%}")


def calibrate(
    patients: Annotated[int, typer.Option("--patients", help="Patients per calibration trial.")] = 1600,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every calibration trial.")] = 20260101,
    max_evaluations: Annotated[int, typer.Option("--max-evaluations", help="Objective evaluations.")] = 110,
    output: Annotated[
        Path | None, typer.Option("--output", help="Where to write calibrated.yaml (default: package data).")
    ] = None,
    validation: Annotated[Path, typer.Option("--validation", help="Folder of REPORT.md and figures.")] = Path(
        "validation"
    ),
    report_only: Annotated[
        bool, typer.Option("--report-only", help="Only regenerate REPORT.md from the stored calibration.")
    ] = False,
) -> None:
    """Fit the model's free parameters to the published trials and write calibrated.yaml + REPORT.md."""
    from rhytid.report import write_validation_report
    from rhytid.trial import TrialParameters
    from rhytid.trial._calibrate import fit, stored_result
    from rhytid.trial._calibrated_file import write_calibrated

    if patients < 200:
        raise TrialError(f"--patients must be at least 200 for a calibration, got {patients}")
    if max_evaluations < 1:
        raise TrialError(f"--max-evaluations must be at least 1, got {max_evaluations}")
    command = "rhytid calibrate " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    if report_only:
        stored, stored_command = stored_result()
        report = write_validation_report(stored, validation, stored_command)
        typer.echo(f"report {report}")
        return

    def tick(k: int, obj: float) -> None:
        typer.echo(f"evaluation {k}: objective {obj:.3f}", err=True)

    result = fit(
        TrialParameters.from_data(base=True),
        patients=patients,
        seed=seed,
        max_evaluations=max_evaluations,
        progress=tick,
    )
    path = output or Path(str(resources.files("rhytid.data").joinpath("calibrated.yaml")))
    write_calibrated(result, path, command.strip())
    report = write_validation_report(result, validation, command.strip())
    typer.echo(f"calibrated parameters written to {path}; report {report}")


def register(app: typer.Typer) -> None:
    """Add these commands to the ``rhytid`` app."""
    app.command("trial")(trial)
    app.command("calibrate")(calibrate)
