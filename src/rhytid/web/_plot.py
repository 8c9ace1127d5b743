"""Server-rendered SVG plot of a patient's wrinkle grades over time (no JavaScript, no CDN).

x: assessment date, linear between the first and the last assessment; y: grade 0..3 (0 none,
3 severe). One colour per area; solid line at maximum contraction, dashed at rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

__all__ = ["grade_plot_svg"]

_W, _H = 480, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 36, 12, 12, 52
_COLOURS = ("#b03a2e", "#1f618d", "#117a65", "#7d3c98", "#af601a")


def grade_plot_svg(assessments: Sequence[Any]) -> Markup:
    """An ``<svg>`` of the grades (``a.assessed_on``, ``a.grades[area] = {rest, max}``); "" when none."""
    if not assessments:
        return Markup("")
    dates = sorted({a.assessed_on for a in assessments})
    d0, span = dates[0], max((dates[-1] - dates[0]).days, 1)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(day: Any) -> float:
        return round(_LEFT + plot_w * ((day - d0).days / span if len(dates) > 1 else 0.5), 1)

    def y(grade: float) -> float:
        return round(_TOP + plot_h * (1 - grade / 3), 1)

    series: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for a in sorted(assessments, key=lambda a: a.assessed_on):
        for area, pair in sorted(a.grades.items()):
            for kind in ("max", "rest"):
                series.setdefault(area, {"max": [], "rest": []})[kind].append(
                    (x(a.assessed_on), y(pair[kind]))
                )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" class="plot" id="grade-plot" '
        'role="img" aria-label="wrinkle grades over time: solid at maximum contraction, dashed at rest">'
    ]
    for g, name in enumerate(("none", "mild", "moderate", "severe")):
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(g)}" y2="{y(g)}" stroke="#ddd"/>'
            f'<text x="{_LEFT - 4}" y="{y(g) + 4}" text-anchor="end" font-size="11">{g}</text>'
            f"<title>{name}</title>"
        )
    labelled = dates if len(dates) <= 6 else [dates[0], dates[len(dates) // 2], dates[-1]]
    for day in labelled:
        # the outermost labels are anchored inwards so that they stay inside the picture
        anchor = "start" if day == dates[0] and len(dates) > 1 else "end" if day == dates[-1] else "middle"
        parts.append(
            f'<text x="{x(day)}" y="{_H - _BOTTOM + 16}" text-anchor="{anchor}" font-size="10">'
            f"{day.isoformat()}</text>"
        )
    for i, (area, lines) in enumerate(series.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        for kind, dash in (("max", ""), ("rest", ' stroke-dasharray="4 3"')):
            pts = " ".join(f"{px},{py}" for px, py in lines[kind])
            parts.append(
                f'<polyline class="series {kind}" data-area="{escape(area)}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash} points="{pts}"/>'
            )
            parts.extend(
                f'<circle cx="{px}" cy="{py}" r="3" fill="{colour if kind == "max" else "white"}" '
                f'stroke="{colour}"/>'
                for px, py in lines[kind]
            )
        lx = _LEFT + 110 * i
        parts.append(
            f'<line x1="{lx}" x2="{lx + 16}" y1="{_H - 14}" y2="{_H - 14}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<text x="{lx + 20}" y="{_H - 10}" font-size="11">{escape(area.replace("_", " "))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
