"""The figures of a simulation report, each a :class:`~matplotlib.figure.Figure`.

* :func:`plan_chart`: the face with the plan's injections and the toxin's field of effect;
* :func:`wrinkle_figure`: wrinkle maps of one expression before and after treatment;
* :func:`grade_figure`, :func:`brow_eyelid_figure`, :func:`block_figure`: the timeline.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import NDArray

from rhytid._outcome import Outcome, Visit
from rhytid.anatomy import Face
from rhytid.model import FieldMaps
from rhytid.report._draw import (
    Window,
    draw_areas,
    draw_landmarks,
    draw_muscles,
    draw_rims,
    frame_axes,
    legend_handles,
    outlined,
)
from rhytid.report._style import GRADE_WORDS, SKIN_CMAP, new_figure, pretty
from rhytid.report._texture import anchored_texture, smooth_orientation

__all__ = [
    "EXPRESSION_TITLES",
    "block_figure",
    "brow_eyelid_figure",
    "grade_figure",
    "plan_chart",
    "wrinkle_figure",
]

Array = NDArray[np.float64]

#: What each maximum-contraction expression shows, in the injector's words.
EXPRESSION_TITLES = {
    "frown": "Frown — glabellar lines",
    "raise_brows": "Raised brows — forehead lines",
    "smile": "Smile — lateral canthal lines (crow's feet), the cheek's push included",
}
#: Block fractions outlined on the field of effect.
BLOCK_CONTOURS = (0.25, 0.5, 0.75)
#: The field of effect: colour map, opacity, and the block below which it fades out.
_BLOCK_CMAP = "plasma"
_BLOCK_ALPHA = 0.55
_BLOCK_FADE = 0.1
_FLAG_COLOUR = "#d7191c"
#: Margin (mm) around the treatment areas shown in a wrinkle map.
_AREA_MARGIN_MM = 12.0
#: Orientation smoothing of the wrinkle texture, in raster cells (see ``_texture``).
_ORIENTATION_SIGMA_CELLS = 4.0
#: Narrower drawn furrows than the raw cosine (see ``_texture.wrinkle_texture``).
_FURROW_SHARPNESS = 3.0
#: Width scale (mm) of the seam between the phase anchors of the texture.
_SEAM_MM = 3.0
#: Upper end of a wrinkle map's colour scale: this percentile of the depth shown.
_DEPTH_SCALE_PERCENTILE = 99.5
_GRADE_NUDGE = 0.05
_SIDE_STYLE = {"l": "-", "r": "--", None: "-"}


# --- the face with the plan ---------------------------------------------------------------


def plan_chart(
    face: Face,
    injections: Sequence[Mapping[str, Any]],
    maps: FieldMaps,
    flagged: Collection[int] = (),
) -> Figure:
    """The face chart with the numbered injections (units beside) and the block at ``maps.day``.

    Injections whose number is in ``flagged`` (those a risk names) are ringed in red.
    """
    fig = new_figure(12.0, 10.5)
    ax = fig.add_subplot()
    points = np.array([[float(i["x_mm"]), float(i["y_mm"])] for i in injections], dtype=float)
    frame_axes(ax, face.window)
    draw_muscles(ax, face, fill_alpha=0.12, avoid=points)
    draw_rims(ax, face)
    draw_areas(ax, face)
    draw_landmarks(ax, face, names_on="none")
    norm = Normalize(0.0, 1.0)
    rgba = colormaps[_BLOCK_CMAP](norm(maps.block))
    rgba[..., 3] = _BLOCK_ALPHA * np.clip(maps.block / _BLOCK_FADE, 0.0, 1.0)
    ax.imshow(rgba, origin="lower", extent=maps.raster.extent, interpolation="bilinear", zorder=5)
    x, y = maps.raster.grid()
    cs = ax.contour(x, y, maps.block, levels=BLOCK_CONTOURS, colors="#1a1a1a", linewidths=0.8, zorder=6)
    ax.clabel(cs, fmt=lambda v: f"{v:.0%}", fontsize=7, inline=True)
    for n, inj in enumerate(injections, start=1):
        _injection_marker(ax, n, inj, flagged=n in flagged)
    cbar = fig.colorbar(
        ScalarMappable(norm=norm, cmap=_BLOCK_CMAP), ax=ax, shrink=0.6, pad=0.01, alpha=_BLOCK_ALPHA
    )
    cbar.set_label(f"nerve endings blocked at day {maps.day:g} (fraction; lines at 25/50/75%)")
    handles = [
        *legend_handles(face, sites=False),
        Line2D(
            [],
            [],
            marker="o",
            markersize=11,
            markerfacecolor="white",
            markeredgecolor="black",
            linestyle="none",
            label="injection (number; units beside)",
        ),
    ]
    if flagged:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                markersize=11,
                markerfacecolor="white",
                markeredgecolor=_FLAG_COLOUR,
                markeredgewidth=2.2,
                linestyle="none",
                label="injection named in a risk",
            )
        )
    ax.legend(handles=handles, loc="lower center", ncols=3, fontsize=8, framealpha=0.95)
    ax.set_title(f"Plan and toxin field of effect at day {maps.day:g}", fontsize=13)
    return fig


def _injection_marker(ax: Axes, n: int, inj: Mapping[str, Any], *, flagged: bool) -> None:
    x, y = float(inj["x_mm"]), float(inj["y_mm"])
    edge, width = (_FLAG_COLOUR, 2.2) if flagged else ("black", 1.0)
    ax.plot(
        x,
        y,
        "o",
        markersize=13,
        markerfacecolor="white",
        markeredgecolor=edge,
        markeredgewidth=width,
        zorder=12,
    )
    ax.text(x, y, str(n), ha="center", va="center", fontsize=7.5, fontweight="bold", zorder=13)
    text = f"{inj['units']:g} U"
    if float(inj.get("day", 0) or 0):
        text += f" (day {float(inj['day']):g})"
    ax.annotate(
        text,
        (x, y),
        xytext=(8, 6),
        textcoords="offset points",
        fontsize=8.5,
        fontweight="bold",
        color=edge,
        path_effects=outlined(),
        zorder=13,
    )


# --- wrinkle maps --------------------------------------------------------------------------


def _areas_window(face: Face, areas: Sequence[str]) -> Window:
    pts = np.vstack([face.areas[a].polygon for a in areas])
    (wx0, wy0), (wx1, wy1) = face.window
    lo = pts.min(axis=0) - _AREA_MARGIN_MM
    hi = pts.max(axis=0) + _AREA_MARGIN_MM
    return (
        (max(float(lo[0]), wx0), max(float(lo[1]), wy0)),
        (min(float(hi[0]), wx1), min(float(hi[1]), wy1)),
    )


def texture_of(maps: FieldMaps) -> Array:
    """The wrinkle line texture (µm) of a set of field maps (see ``_texture``)."""
    x, y = maps.raster.grid()
    theta = smooth_orientation(maps.compression_angle, maps.depth_um, _ORIENTATION_SIGMA_CELLS)
    anchors = np.array([a.polygon.mean(axis=0) for a in maps.face.areas.values()], dtype=float)
    return anchored_texture(
        maps.depth_um, theta, maps.wavelength_mm, x, y, anchors, _SEAM_MM, _FURROW_SHARPNESS
    )


def _crop(maps: FieldMaps, window: Window, field: Array) -> Array:
    (x0, y0), (x1, y1) = window
    xs, ys = maps.raster.xs, maps.raster.ys
    return field[np.ix_((ys >= y0) & (ys <= y1), (xs >= x0) & (xs <= x1))]


def wrinkle_figure(
    expression: str, panels: Sequence[tuple[str, FieldMaps, Sequence[str]]], areas: Sequence[str]
) -> Figure:
    """Wrinkle maps of ``expression`` side by side, one colour scale for all panels.

    ``panels``: (title, maps, caption lines) per panel, e.g. before and after treatment;
    ``areas``: the treatment areas graded with this expression (they set the view).
    """
    face = panels[0][1].face
    window = _areas_window(face, areas)
    (x0, y0), (x1, y1) = window
    wide = (x1 - x0) > 2.2 * (y1 - y0)
    textures = [texture_of(m) for _, m, _ in panels]
    vmax = max(
        float(np.percentile(_crop(m, window, m.depth_um), _DEPTH_SCALE_PERCENTILE)) for _, m, _ in panels
    )
    vmax = max(vmax, 1.0)
    n = len(panels)
    fig = new_figure(11.0, 4.2 * n + 1.0) if wide else new_figure(6.0 * n + 1.5, 6.6)
    axes = fig.subplots(n, 1) if wide else fig.subplots(1, n)
    axes = np.atleast_1d(axes)
    im = None
    for ax, (title, maps, caption), tex in zip(axes, panels, textures, strict=True):
        im = ax.imshow(
            tex,
            origin="lower",
            extent=maps.raster.extent,
            cmap=SKIN_CMAP,
            vmin=0.0,
            vmax=vmax,
            interpolation="bilinear",
            zorder=1,
        )
        frame_axes(ax, window, small=True)
        draw_muscles(ax, face, fill_alpha=0.0, linewidth=0.5, labels=False)
        draw_rims(ax, face, linewidth=0.8)
        draw_areas(ax, face, linewidth=0.9, fontsize=7.0)
        ax.set_title(title, fontsize=11, fontweight="bold")
        ax.text(
            0.01,
            0.01,
            "\n".join(caption),
            transform=ax.transAxes,
            fontsize=8,
            va="bottom",
            ha="left",
            path_effects=outlined(),
            zorder=20,
        )
    assert im is not None
    cbar = fig.colorbar(im, ax=list(axes), shrink=0.85, pad=0.01)
    cbar.set_label("wrinkle depth (µm)")
    fig.suptitle(
        f"{EXPRESSION_TITLES.get(expression, pretty(expression))} at maximum contraction",
        fontsize=12,
    )
    fig.supxlabel(
        "Furrows drawn across the skin's compression, spaced by the predicted buckling wavelength, "
        "darker = deeper; thin outlines: muscles, orbital rims and treatment areas.",
        fontsize=8,
        color="#404040",
    )
    return fig


# --- timeline ------------------------------------------------------------------------------


def _days(visits: Sequence[Visit]) -> Array:
    return np.array([v.day for v in visits], dtype=float)


def _mark_treatments(ax: Axes, days: Sequence[float]) -> None:
    for d in sorted(set(days)):
        ax.axvline(d, color="#9e9e9e", linewidth=0.8, linestyle=":", zorder=0)


def grade_figure(outcome: Outcome, face: Face, treatment_days: Sequence[float]) -> Figure:
    """Facial Wrinkle Scale per area over time, at maximum contraction and at rest."""
    visits = outcome.timeline
    names = list(visits[0].areas)
    ncols = 2
    nrows = (len(names) + ncols - 1) // ncols
    fig = new_figure(11.0, 3.0 * nrows + 0.8)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True)).ravel()
    days = _days(visits)
    for ax, name in zip(axes, names, strict=False):
        # nudged apart so that equal grades at rest and maximum both stay visible
        mx = [v.areas[name].max_grade + _GRADE_NUDGE for v in visits]
        rest = [v.areas[name].rest_grade - _GRADE_NUDGE for v in visits]
        ax.plot(days, mx, drawstyle="steps-mid", marker="o", color="#b2182b", label="maximum contraction")
        ax.plot(days, rest, drawstyle="steps-mid", marker="s", color="#2166ac", linestyle="--", label="rest")
        _mark_treatments(ax, treatment_days)
        expr = face.areas[name].expression if name in face.areas else ""
        ax.set_title(f"{pretty(name)} (maximum: {pretty(expr)})", fontsize=10)
        ax.set_yticks(range(len(GRADE_WORDS)), [f"{g} {w}" for g, w in enumerate(GRADE_WORDS)])
        ax.set_ylim(-0.3, len(GRADE_WORDS) - 0.7)
        ax.grid(True, color="#e0e0e0", linewidth=0.5)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax in axes[-ncols:]:
        ax.set_xlabel("day after treatment")
    axes[0].legend(loc="upper right", fontsize=8)
    fig.suptitle("Facial Wrinkle Scale per area over time (dotted: treatment day)", fontsize=12)
    return fig


def _side_lines(
    ax: Axes, days: Array, series: Mapping[str, Sequence[float]], colours: Mapping[str, str]
) -> None:
    for key, values in series.items():
        base, side = (key[:-2], key[-1]) if key.endswith(("_l", "_r")) else (key, None)
        if base in ("l", "r"):
            base, side = "", base
        ax.plot(
            days,
            values,
            marker="o",
            markersize=3.5,
            color=colours.get(base, "#333333"),
            linestyle=_SIDE_STYLE[side],
            label=pretty(key) if base else f"{'left' if side == 'l' else 'right'} eye",
        )


def brow_eyelid_figure(outcome: Outcome, treatment_days: Sequence[float]) -> Figure:
    """Brow height change and upper-eyelid droop at rest over time (mm)."""
    visits = outcome.timeline
    days = _days(visits)
    fig = new_figure(12.0, 4.4)
    ax_brow, ax_lid = fig.subplots(1, 2)
    keys = list(visits[0].brow_height_change_mm)
    brow = {k: [v.brow_height_change_mm[k] for v in visits] for k in keys}
    _side_lines(ax_brow, days, brow, {"medial": "#1b9e77", "peak": "#d95f02", "lateral": "#7570b3"})
    ax_brow.set_ylabel("change in brow height (mm; + higher)")
    ax_brow.set_title("Brow height at rest (solid: patient's left, dashed: right)", fontsize=10)
    lid = {s: [v.eyelid_droop_mm[s] for v in visits] for s in visits[0].eyelid_droop_mm}
    _side_lines(ax_lid, days, lid, {"": "#e7298a"})
    ax_lid.set_ylabel("upper-eyelid droop (mm; + lid margin lower)")
    ax_lid.set_title("Upper eyelid at rest", fontsize=10)
    for ax in (ax_brow, ax_lid):
        ax.axhline(0.0, color="black", linewidth=0.6)
        _mark_treatments(ax, treatment_days)
        ax.set_xlabel("day after treatment")
        ax.grid(True, color="#e0e0e0", linewidth=0.5)
        ax.legend(fontsize=8, ncols=2)
    lo, hi = ax_lid.get_ylim()
    ax_lid.set_ylim(min(lo, -0.1), max(hi, 1.0))
    lo, hi = ax_brow.get_ylim()
    ax_brow.set_ylim(min(lo, -1.0), max(hi, 1.0))
    return fig


def block_figure(outcome: Outcome, treatment_days: Sequence[float]) -> Figure:
    """Fraction of each muscle's nerve endings blocked over time."""
    visits = outcome.timeline
    days = _days(visits)
    fig = new_figure(10.0, 4.8)
    ax = fig.add_subplot()
    names = list(visits[0].muscle_block)
    bases = list(dict.fromkeys(n[:-2] if n.endswith(("_l", "_r")) else n for n in names))
    palette = [f"C{i}" for i in range(len(bases))]
    colours = dict(zip(bases, palette, strict=True))
    series = {n: [100.0 * v.muscle_block[n] for v in visits] for n in names}
    _side_lines(ax, days, series, colours)
    _mark_treatments(ax, treatment_days)
    ax.set_ylim(0, 100)
    ax.set_ylabel("nerve endings blocked (%)")
    ax.set_xlabel("day after treatment")
    ax.grid(True, color="#e0e0e0", linewidth=0.5)
    ax.set_title("Block per muscle over time (solid: patient's left or midline, dashed: right)", fontsize=11)
    ax.legend(fontsize=7.5, ncols=1, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig
