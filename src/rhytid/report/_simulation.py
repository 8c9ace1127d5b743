"""The HTML report of a simulation: ``rhytid simulate PLAN --report DIR``.

The page (``index.html``) and its PNG figures are written into one directory and refer to each
other by relative names, so the folder can be zipped, mailed or opened from a USB stick.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from rhytid._outcome import Outcome
from rhytid._plan import Patient, Plan
from rhytid.model import FieldMaps, field_maps
from rhytid.report._figures import (
    EXPRESSION_TITLES,
    block_figure,
    brow_eyelid_figure,
    grade_figure,
    plan_chart,
    wrinkle_figure,
)
from rhytid.report._html import FigureRef, render_page
from rhytid.report._style import GRADE_WORDS, pretty, save_png

__all__ = ["AFTER_DAY", "write_simulation_report"]

#: The day shown as "after treatment" in the maps: the usual follow-up visit near the peak effect.
AFTER_DAY = 30.0
_BEFORE_DAY = 0.0


def write_simulation_report(
    plan: Plan,
    outcome: Outcome,
    directory: str | Path,
    patient: Patient | None = None,
    *,
    title: str | None = None,
    source: str | None = None,
) -> Path:
    """Write the report of ``outcome`` (the simulation of ``plan``) into ``directory``.

    Creates the directory, writes the PNG figures and ``index.html``, and returns the page's
    path. ``patient`` defaults to the outcome's patient, so the maps show the simulated face.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    patient = patient or Patient.model_validate(outcome.patient)
    maps: dict[tuple[float, str], FieldMaps] = {}

    def fields(day: float, expression: str) -> FieldMaps:
        if (day, expression) not in maps:
            maps[day, expression] = field_maps(plan, day, expression, patient)
        return maps[day, expression]

    flagged = {r.injection for r in outcome.risks if r.injection is not None}
    treatment_days = sorted({float(i.get("day", 0) or 0) for i in outcome.plan["injections"]})
    figures: list[FigureRef] = []

    def add(file: str, caption: str, make: Callable[[], Figure]) -> None:
        save_png(make(), out / file)
        figures.append(FigureRef(file, caption))

    # The block does not depend on the expression: take it from a map drawn anyway.
    after = fields(AFTER_DAY, "frown")
    add(
        "plan.png",
        f"The plan on the face chart: numbered injections with their units, and the fraction of "
        f"nerve endings blocked at day {AFTER_DAY:g} (contours at 25, 50 and 75%).",
        lambda: plan_chart(after.face, outcome.plan["injections"], after, flagged),
    )
    for expression in EXPRESSION_TITLES:
        areas = [a.name for a in after.face.areas.values() if a.expression == expression]
        if not areas:
            continue
        panels = [
            (_panel_title(day), fields(day, expression), _grade_lines(outcome, day, areas))
            for day in (_BEFORE_DAY, AFTER_DAY)
        ]
        add(
            f"wrinkles-{expression.replace('_', '-')}.png",
            f"{EXPRESSION_TITLES[expression]}: predicted wrinkles at maximum contraction before "
            f"treatment and at day {AFTER_DAY:g}, on one depth scale.",
            lambda e=expression, p=panels, a=areas: wrinkle_figure(e, p, a),  # type: ignore[misc]
        )
    add(
        "grades.png",
        "Facial Wrinkle Scale per area over time, at maximum contraction and at rest.",
        lambda: grade_figure(outcome, after.face, treatment_days),
    )
    add(
        "brow-eyelid.png",
        "Brow height change and upper-eyelid droop at rest, relative to before treatment (mm).",
        lambda: brow_eyelid_figure(outcome, treatment_days),
    )
    add(
        "block.png",
        "Fraction of each muscle's nerve endings blocked over time.",
        lambda: block_figure(outcome, treatment_days),
    )
    total = outcome.plan.get("total_units", "")
    heading = title or f"Simulation report: {total} U {outcome.plan.get('product', '')}"
    index = out / "index.html"
    index.write_text(render_page(outcome, figures, title=heading, source=source), encoding="utf-8")
    return index


def _panel_title(day: float) -> str:
    return "Before treatment (day 0)" if day == _BEFORE_DAY else f"Day {day:g} after treatment"


def _grade_lines(outcome: Outcome, day: float, areas: list[str]) -> list[str]:
    """The model's grade of each area on ``day`` (empty when the timeline lacks that day)."""
    try:
        visit = outcome.visit(day)
    except KeyError:
        return []
    lines = []
    for a in areas:
        s = visit.areas.get(a)
        if s is not None:
            lines.append(
                f"{pretty(a)}: {GRADE_WORDS[s.max_grade]} (FWS {s.max_grade}), {s.max_depth_um:.0f} µm"
            )
    return lines
