"""Command-line commands: ``trial`` and ``calibrate``.

``rhytid trial`` parses the design, calls :func:`rhytid.trial.run_trial` and formats the result
(JSON of CONTRACTS.md, or a table; ``--report DIR`` adds figures and an ``index.html``).
``rhytid calibrate`` calls :func:`rhytid.trial._calibrate.fit`, writes the fitted values with their
provenance to the package's ``data/calibrated.yaml`` and the validation report ``validation/REPORT.md``
with figures (:mod:`rhytid.report`).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rhytid.errors import TrialError

if TYPE_CHECKING:
    from rhytid.trial import TrialResult

__all__ = ["register"]

_AREA_HELP = "glabellar | forehead | lateral-canthal | forehead+glabellar"


def trial(
    area: Annotated[str | None, typer.Option("--area", help=_AREA_HELP)] = None,
    product: Annotated[
        str | None, typer.Option("--product", help="Product name, e.g. onabotulinumtoxinA.")
    ] = None,
    dose: Annotated[
        float | None, typer.Option("--dose", help="Total units of the product (label pattern scaled).")
    ] = None,
    design_file: Annotated[
        Path | None,
        typer.Option("--design", metavar="FILE", help="Trial design file (TOML): arms, placebo, visits."),
    ] = None,
    patients: Annotated[
        int | None,
        typer.Option("--patients", help="Patients randomised (label: 3:1 toxin:placebo)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (same seed, same result).")] = None,
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
    uncertainty: Annotated[
        bool,
        typer.Option("--uncertainty", help="Add 90% predictive intervals (parameters and trial sampling)."),
    ] = False,
    draws: Annotated[
        int, typer.Option("--draws", help="Parameter draws for --uncertainty (each runs the trial).")
    ] = 24,
) -> None:
    """Run a virtual randomised, placebo-controlled trial: the label pattern of a product in an area
    (--area/--product/--dose), or any design with arms of their own (--design FILE)."""
    if design_file is not None:
        if area is not None or product is not None or dose is not None:
            raise TrialError("--design: give a design file or --area/--product/--dose, not both")
        if report is not None:
            raise TrialError("--report: figures are drawn for the label shortcut only; drop --report")
        _trial_design(design_file, patients, seed, as_json, scheduler, uncertainty, draws, exact)
        return
    missing = [n for n, v in (("--area", area), ("--product", product), ("--dose", dose)) if v is None]
    if missing:
        raise TrialError(f"{missing[0]}: missing; give --area, --product and --dose, or --design FILE")
    assert area is not None and product is not None and dose is not None
    from rhytid.trial import TrialDesign, run_trial

    design = TrialDesign(
        area=area,
        product=product,
        dose_units=dose,
        patients=2000 if patients is None else patients,
        seed=1 if seed is None else seed,
    )
    if uncertainty:
        from rhytid.trial._posterior import trial_with_uncertainty

        _check_draws(draws)
        out = trial_with_uncertainty(
            lambda tp, s: run_trial(dataclasses.replace(design, seed=s), tp, exact=exact).to_dict(),
            design.seed,
            draws,
        )
        _emit(out, as_json, lambda: _print_label_dict(out))
        return
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


def _check_draws(draws: int) -> None:
    if not 4 <= draws <= 1000:
        raise TrialError(f"--draws must be between 4 and 1000, got {draws}")


def _emit(out: dict[str, Any], as_json: bool, table: Callable[[], None]) -> None:
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        table()


def _trial_design(
    path: Path,
    patients: int | None,
    seed: int | None,
    as_json: bool,
    scheduler: str | None,
    uncertainty: bool,
    draws: int,
    exact: bool,
) -> None:
    from rhytid.trial._design_file import load_design, run_design

    spec = load_design(path)
    if uncertainty:
        from rhytid.trial._posterior import trial_with_uncertainty

        _check_draws(draws)
        out = trial_with_uncertainty(
            lambda tp, s: run_design(spec, tp, patients=patients, seed=s, exact=exact).to_dict(),
            spec.seed if seed is None else seed,
            draws,
        )
    else:
        out = run_design(spec, patients=patients, seed=seed, scheduler=scheduler, exact=exact).to_dict()
    _emit(out, as_json, lambda: _print_design(out))


def _fmt(rates: dict[str, Any], arm: str) -> str:
    v = rates.get(arm)
    if v is None:
        return "-"
    pi = rates.get(f"{arm}_pi90")
    ci = rates.get(f"{arm}_ci95")
    if pi:
        return f"{v:.1%} (90% PI {pi[0]:.1%}-{pi[1]:.1%})"
    return f"{v:.1%} ({ci[0]:.1%}-{ci[1]:.1%})" if ci else f"{v:.1%}"


def _print_design(d: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    des = d["design"]
    arms = [a["name"] for a in d["arms"]]
    sizes = ", ".join(f"{a['name']} {a['n']}" for a in d["arms"])
    console.print(f"[bold]{des['name']}[/bold] ({des['area']}; seed {des['seed']}): {sizes}")
    interval = "90% predictive interval" if any("_pi90" in k for k in json.dumps(d).split('"')) else "95% CI"
    for ep in ("none_or_mild", "improve2", "improve1"):
        if ep not in des["endpoints"]:
            continue
        table = Table(title=f"{ep.replace('_', ' ')} at maximum contraction ({interval})")
        table.add_column("day", justify="right")
        for a in arms:
            table.add_column(a, justify="right")
        for v in d["visits"]:
            table.add_row(str(v["day"]), *(_fmt(v[ep], a) for a in arms))
        console.print(table)
    for key in ("median_days_none_or_mild", "median_days_to_baseline"):
        for arm, med in d.get(key, {}).items():
            if arm.endswith(("_ci95", "_pi90")):
                continue
            pi = d[key].get(f"{arm}_pi90")
            extra = f" (90% PI {pi[0]:g}-{pi[1]:g})" if pi else ""
            console.print(f"{key.replace('_', ' ')}, {arm}: {med}{extra}")
    for ev, rates in d["adverse_events"].items():
        console.print(f"{ev.replace('_', ' ')}: " + "; ".join(f"{a} {_fmt(rates, a)}" for a in arms))


def _print_label_dict(d: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    des = d["design"]
    console.print(
        f"[bold]{des['area']}[/bold]: {des['dose_units']} U {des['product']} (seed {des['seed']}), "
        "with 90% predictive intervals (parameter uncertainty and trial sampling)"
    )
    table = Table(title="Responders at maximum contraction")
    for col in ("day", "none or mild", "placebo", ">= 1 grade better", ">= 2 grades better"):
        table.add_column(col, justify="right")
    for v in d["visits"]:
        table.add_row(
            str(v["day"]),
            _fmt(v["none_or_mild"], "treated"),
            _fmt(v["none_or_mild"], "placebo"),
            _fmt(v["improve1"], "treated"),
            _fmt(v["improve2"], "treated"),
        )
    console.print(table)
    for key in ("median_days_none_or_mild", "median_days_to_baseline"):
        pi = d.get(f"{key}_pi90")
        extra = f" (90% PI {pi[0]:g}-{pi[1]:g})" if pi else ""
        console.print(f"{key.replace('_', ' ')}: {d[key]}{extra}")
    for ev, rates in d["adverse_events"].items():
        console.print(
            f"{ev.replace('_', ' ')}: treated {_fmt(rates, 'treated')}, placebo {_fmt(rates, 'placebo')}"
        )


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
    patients: Annotated[
        int | None, typer.Option("--patients", help="Patients per calibration trial.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every calibration trial.")] = 20260101,
    max_evaluations: Annotated[
        int | None, typer.Option("--max-evaluations", help="Objective evaluations of the fit.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            metavar="DIR",
            help="Folder of calibrated.yaml and posterior.yaml (default: package data).",
        ),
    ] = None,
    validation: Annotated[Path, typer.Option("--validation", help="Folder of REPORT.md and figures.")] = Path(
        "validation"
    ),
    parts: Annotated[
        str,
        typer.Option(
            "--parts", help="Comma-separated: fit, posterior, logo, heldout, sobol, report (default all)."
        ),
    ] = ",".join(("fit", "posterior", "logo", "heldout", "sobol", "report")),
    start: Annotated[
        str,
        typer.Option("--start", help="stored (warm start from calibrated.yaml) | base (packaged values)."),
    ] = "stored",
    sobol_n: Annotated[
        int | None, typer.Option("--sobol-n", help="Sobol base sample, a power of 2 (default 64; --quick 4).")
    ] = None,
    sobol_patients: Annotated[
        int | None,
        typer.Option("--sobol-patients", help="Patients per Sobol trial (default 800; --quick 200)."),
    ] = None,
    quick: Annotated[
        bool,
        typer.Option("--quick", help="Small trials, few evaluations; writes to build/calibrate-quick."),
    ] = False,
    report_only: Annotated[
        bool,
        typer.Option(
            "--report-only", help="Only regenerate REPORT.md (same as --parts logo,heldout,report)."
        ),
    ] = False,
) -> None:
    """Fit the shared parameters to the glabellar and forehead trials, then the posterior, leave-one-group-out
    and held-out predictions, Sobol indices and validation/REPORT.md (rhytid.trial._credibility).

    Time of every part with the defaults, measured on an idle 2-core machine: fit 14 s, posterior
    (with the held-out Jacobian) 14 s, leave-one-group-out 2 s, Sobol 72 s, report 2 s; 104 s in all
    (a machine shared with other jobs took 6-9 times longer). The estimate for the options given is
    printed at the start."""
    from rhytid.trial._credibility import PARTS, expected_seconds, run_credibility
    from rhytid.trial._sensitivity import DEFAULT_N, SOBOL_PATIENTS

    chosen = (
        ("logo", "heldout", "report")
        if report_only
        else tuple(x.strip() for x in parts.split(",") if x.strip())
    )
    bad = [x for x in chosen if x not in PARTS]
    if bad or not chosen:
        raise TrialError(f"--parts: each must be one of {', '.join(PARTS)}, got {parts!r}")
    if start not in ("stored", "base"):
        raise TrialError(f"--start must be stored or base, got {start!r}")
    n = patients if patients is not None else (300 if quick else 1200)
    if n < 200:
        raise TrialError(f"--patients must be at least 200 for a calibration, got {n}")
    evals = max_evaluations if max_evaluations is not None else (3 if quick else 30)
    if evals < 1:
        raise TrialError(f"--max-evaluations must be at least 1, got {evals}")
    sn = sobol_n if sobol_n is not None else (4 if quick else DEFAULT_N)
    if sn < 2 or sn & (sn - 1):
        raise TrialError(f"--sobol-n must be a power of 2 (at least 2), got {sn}")
    sp = sobol_patients if sobol_patients is not None else (200 if quick else SOBOL_PATIENTS)
    if sp < 100:
        raise TrialError(f"--sobol-patients must be at least 100, got {sp}")
    if quick and output is None:  # a quick run never replaces the package's calibration
        output = Path("build") / "calibrate-quick"
        if validation == Path("validation"):
            validation = output / "validation"
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        stored = Path(str(resources.files("rhytid.data")))
        for name in ("calibrated.yaml", "posterior.yaml"):  # later parts read them from output
            if not (output / name).exists() and (stored / name).exists():
                (output / name).write_bytes((stored / name).read_bytes())
    chosen_parts = tuple(p for p in PARTS if p in chosen)
    heldout_n = 300 if quick else 1600
    expected = expected_seconds(
        chosen_parts,
        patients=n,
        max_evaluations=evals,
        sobol_n=sn,
        sobol_patients=sp,
        heldout_patients=heldout_n,
    )
    typer.echo(
        "expected run time (a guide from trials timed on a 2-core machine; a busy one takes longer): "
        + ", ".join(f"{k} ~{_minutes(v)}" for k, v in expected.items()),
        err=True,
    )
    command = "rhytid calibrate " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    run = run_credibility(
        parts=chosen_parts,
        patients=n,
        seed=seed,
        max_evaluations=evals,
        start=start,
        sobol_n=sn,
        sobol_patients=sp,
        heldout_patients=heldout_n,
        data_dir=output,
        validation=validation,
        command=command.strip(),
        say=lambda line: typer.echo(line, err=True),
    )
    times = ", ".join(f"{k} {v:.0f} s" for k, v in run.timings.items())
    where = output or Path(str(resources.files("rhytid.data")))
    typer.echo(f"parts {', '.join(chosen)} done ({times}); data in {where}; report in {validation}")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def register(app: typer.Typer) -> None:
    """Add these commands to the ``rhytid`` app."""
    app.command("trial")(trial)
    app.command("calibrate")(calibrate)
