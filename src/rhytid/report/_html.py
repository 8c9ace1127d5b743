"""The self-contained HTML page of a simulation report (inline CSS, no scripts, all text escaped)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from rhytid._outcome import Outcome
from rhytid.report._style import GRADE_WORDS, pretty

__all__ = ["FigureRef", "render_page"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #1a1a1a; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #555; font-size: 0.9em; }
.risk { border-left: 6px solid; padding: 0.4em 0.8em; margin: 0.4em 0; }
.risk-high { border-color: #b2182b; background: #fbe3e3; }
.risk-moderate { border-color: #e08214; background: #fdf0dc; }
.risk-low { border-color: #d8b365; background: #fbf7e8; }
.warning { border-left: 6px solid #999; background: #f4f4f4; padding: 0.4em 0.8em; margin: 0.4em 0; }
.ok { color: #1b7837; }
.g0 { background: #e7f4e4; } .g1 { background: #fbf7d4; } .g2 { background: #fde2c6; }
.g3 { background: #f7c6c2; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #444; font-size: 0.9em; margin-top: 0.3em; }
"""


@dataclass(frozen=True)
class FigureRef:
    """A figure file (name relative to the page) and its caption."""

    file: str
    caption: str


def _e(x: object) -> str:
    return escape(str(x), quote=True)


def _num(x: object, fmt: str = "g") -> str:
    return _e(format(float(x), fmt)) if isinstance(x, int | float) else _e(x)


def _table(header: Sequence[str], rows: Iterable[str]) -> str:
    """A table from escaped header words and rows already rendered as ``<td>`` cells."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(f"<tr>{row}</tr>\n" for row in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}</table>\n"


def _cells(values: Iterable[object]) -> str:
    return "".join(f"<td>{_e(v)}</td>" for v in values)


def _plan_section(plan: Mapping[str, Any], source: str | None) -> str:
    facts = [
        ("product", plan.get("product", "")),
        ("reconstitution", f"{_num(plan.get('units_per_ml', ''))} U/mL"),
        ("total", f"{_num(plan.get('total_units', ''))} U in {len(plan.get('injections', []))} injections"),
    ]
    if source:
        facts.insert(0, ("plan file", source))
    rows = []
    for n, inj in enumerate(plan.get("injections", []), start=1):
        cells = [
            str(n),
            inj.get("site") or "(point)",
            format(float(inj["x_mm"]), ".1f"),
            format(float(inj["y_mm"]), ".1f"),
            format(float(inj["units"]), "g"),
            format(float(inj["volume_ml"]), ".3g"),
            pretty(str(inj.get("depth", ""))),
            format(float(inj.get("day", 0) or 0), "g"),
        ]
        rows.append(
            "".join(
                f'<td class="num">{_e(c)}</td>' if k in (0, 2, 3, 4, 5, 7) else f"<td>{_e(c)}</td>"
                for k, c in enumerate(cells)
            )
        )
    header = ("#", "site", "x (mm)", "y (mm)", "units", "volume (mL)", "depth", "day")
    table = _table(header, rows)
    return (
        "<h2>Plan</h2>\n"
        + _table(("", ""), (_cells(f) for f in facts))
        + '<p class="meta">x toward the patient\'s left, y up, from the soft-tissue nasion (mm).</p>\n'
        + table
    )


def _patient_section(patient: Mapping[str, Any]) -> str:
    rows = [(pretty(str(k)), _num(v) if isinstance(v, int | float) else str(v)) for k, v in patient.items()]
    return "<h2>Patient</h2>\n" + _table(("", ""), (_cells(r) for r in rows))


def _risk_section(outcome: Outcome) -> str:
    parts = ["<h2>Risks and warnings</h2>\n"]
    if not outcome.risks:
        parts.append('<p class="ok">No risk predicted by the model for this plan.</p>\n')
    for r in outcome.risks:
        side = {"l": "patient's left", "r": "patient's right"}.get(r.side or "", "")
        title = f"{r.level.upper()} — {pretty(r.kind)}" + (f", {side}" if side else "")
        parts.append(
            f'<div class="risk risk-{_e(r.level)}"><strong>{_e(title)}</strong><br>{_e(r.detail)}</div>\n'
        )
    parts.extend(f'<div class="warning">Warning: {_e(w)}</div>\n' for w in outcome.warnings)
    return "".join(parts)


def _grade_cell(grade: int, depth: float) -> str:
    word = GRADE_WORDS[grade] if 0 <= grade < len(GRADE_WORDS) else str(grade)
    return f'<td class="g{grade}">{_e(grade)} {_e(word)} <span class="meta">({depth:.0f} µm)</span></td>'


def _timeline_section(outcome: Outcome) -> str:
    visits = outcome.timeline
    if not visits:
        return "<h2>Visits</h2>\n<p>The timeline is empty.</p>\n"
    areas = list(visits[0].areas)
    header = ["day"]
    for a in areas:
        header += [f"{pretty(a)}: max", f"{pretty(a)}: rest"]
    header += ["brow peak change L / R (mm)", "lid droop L / R (mm)"]
    rows = []
    for v in visits:
        cells = [f'<td class="num">{_e(format(v.day, "g"))}</td>']
        for a in areas:
            s = v.areas[a]
            cells += [_grade_cell(s.max_grade, s.max_depth_um), _grade_cell(s.rest_grade, s.rest_depth_um)]
        b = v.brow_height_change_mm
        lid = v.eyelid_droop_mm
        cells.append(f'<td class="num">{b.get("peak_l", 0):+.1f} / {b.get("peak_r", 0):+.1f}</td>')
        cells.append(f'<td class="num">{lid.get("l", 0):.1f} / {lid.get("r", 0):.1f}</td>')
        rows.append("".join(cells))
    return (
        "<h2>Facial Wrinkle Scale per visit</h2>\n"
        '<p class="meta">Grade (0 none, 1 mild, 2 moderate, 3 severe) at maximum contraction and at '
        "rest, with the area's depth statistic; brow and eyelid at rest relative to day 0.</p>\n"
        + _table(header, rows)
    )


def _figure_section(figures: Sequence[FigureRef]) -> str:
    parts = ["<h2>Figures</h2>\n"]
    for f in figures:
        parts.append(
            f'<figure><img src="{_e(f.file)}" alt="{_e(f.caption)}">'
            f"<figcaption>{_e(f.caption)}</figcaption></figure>\n"
        )
    return "".join(parts)


def render_page(outcome: Outcome, figures: Sequence[FigureRef], *, title: str, source: str | None) -> str:
    """The whole report page."""
    meta = f"model version {_e(outcome.model_version)} · parameters {_e(outcome.parameters_hash)}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<h1>{_e(title)}</h1>\n<p class="meta">{meta}</p>\n'
        + _risk_section(outcome)
        + _plan_section(outcome.plan, source)
        + _patient_section(outcome.patient)
        + _timeline_section(outcome)
        + _figure_section(figures)
        + '<p class="meta">A model prediction to support planning, not a substitute for '
        "clinical judgement.</p>\n</body>\n</html>\n"
    )
