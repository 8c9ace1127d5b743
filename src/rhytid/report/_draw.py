"""Layers of the face drawn on a matplotlib axes: frame, muscles, rims, areas, landmarks, sites.

Every figure that shows the face uses these, so the chart, the toxin map and the wrinkle maps
draw the same anatomy the same way. Coordinates are the face frame (mm; origin soft-tissue
nasion, x toward the patient's left, y up): with x increasing to the right, the patient's left
appears on the viewer's right, as when facing the patient.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from numpy.typing import NDArray

from rhytid.anatomy import Face, Muscle
from rhytid.report._style import (
    AREA_COLOUR,
    LANDMARK_COLOUR,
    RIM_COLOUR,
    SITE_COLOUR,
    pretty,
    role_style,
)

__all__ = [
    "Window",
    "draw_areas",
    "draw_landmarks",
    "draw_muscles",
    "draw_rims",
    "draw_sites",
    "frame_axes",
    "legend_handles",
    "muscle_label_point",
    "outlined",
]

Array = NDArray[np.float64]
Window = tuple[tuple[float, float], tuple[float, float]]

#: White halo behind small text so that names stay readable over outlines and colour maps.
_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]
#: Grid step (mm) when searching the most interior point of a muscle for its label.
_LABEL_GRID_MM = 1.0
#: A muscle's name keeps this far (mm) from landmarks and sites when it can.
_AVOID_MM = 6.0
_SITE_NAME_STRIP_MM = (6.0, 12.0, 18.0)
#: Room (mm) a site's name needs to the right of its marker.
_SITE_NAME_ROOM_MM = 30.0
#: Muscles named off their region, with a leader: offset (mm) of the name, (lateral, up).
_CALLOUT: dict[str, tuple[float, float]] = {
    "depressor_supercilii": (-7.0, -24.0),
    "levator_palpebrae": (0.0, -19.0),
}
#: Where a landmark's name sits relative to its dot, (lateral, up) in points, on either side.
_LANDMARK_TEXT: dict[str, tuple[float, float]] = {
    "pupil": (0.0, -7.0),
    "medial_canthus": (0.0, -7.0),
    "lateral_canthus": (0.0, -7.0),
    "lid_margin": (-4.0, 1.0),
    "orbital_rim_sup": (0.0, 6.0),
    "orbital_rim_lat": (5.0, 0.0),
    "supraorbital_notch": (-4.0, -5.0),
    "brow_medial": (0.0, 6.0),
    "brow_peak": (0.0, 6.0),
    "brow_lateral": (4.0, 6.0),
}
_DEFAULT_TEXT = (-4.0, -3.0)


def outlined() -> list[patheffects.AbstractPathEffect]:
    """Path effects that give text a white halo."""
    return list(_HALO)


def frame_axes(ax: Axes, window: Window, *, small: bool = False) -> None:
    """Limits, equal aspect and axis labels that explain the face frame."""
    (x0, y0), (x1, y1) = window
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    fs = 8.0 if small else 10.0
    ax.set_xlabel("x (mm)    patient's left →", fontsize=fs)
    ax.set_ylabel("y (mm)    up →", fontsize=fs)
    ax.tick_params(labelsize=fs - 1)
    ax.grid(True, color="#e0e0e0", linewidth=0.5, zorder=0)
    ax.set_axisbelow(True)
    for xa, ha, text in ((0.01, "left", "patient's RIGHT"), (0.99, "right", "patient's LEFT")):
        ax.text(
            xa,
            0.99,
            text,
            transform=ax.transAxes,
            ha=ha,
            va="top",
            fontsize=fs - 1,
            color="#525252",
            fontweight="bold",
            path_effects=outlined(),
            zorder=20,
        )


def _closed(poly: Array) -> Array:
    return np.vstack([poly, poly[:1]])


def _signed_area(poly: Array) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _muscle_path(m: Muscle) -> MplPath:
    """The muscle region as a path; a hole is wound the other way so it stays unfilled."""
    outer = m.outline if _signed_area(m.outline) > 0 else m.outline[::-1]
    path = MplPath(_closed(outer), closed=True)
    if m.hole is None:
        return path
    inner = m.hole if _signed_area(m.hole) < 0 else m.hole[::-1]
    return MplPath.make_compound_path(path, MplPath(_closed(inner), closed=True))


def muscle_label_point(m: Muscle, avoid: Array | None = None) -> tuple[tuple[float, float], float]:
    """The point of the muscle farthest inside its region and at least ``_AVOID_MM`` from every
    point of ``avoid`` (where its name fits best), and how far inside it lies (mm)."""
    lo = m.outline.min(axis=0)
    hi = m.outline.max(axis=0)
    xs = np.arange(lo[0], hi[0] + _LABEL_GRID_MM, _LABEL_GRID_MM)
    ys = np.arange(lo[1], hi[1] + _LABEL_GRID_MM, _LABEL_GRID_MM)
    gx, gy = (g.ravel() for g in np.meshgrid(xs, ys))
    score = -m.signed_distance(gx, gy)
    if avoid is not None and len(avoid):
        near = np.hypot(gx[:, None] - avoid[None, :, 0], gy[:, None] - avoid[None, :, 1]).min(axis=1)
        free = score - np.where(near < _AVOID_MM, 1e3, 0.0)
        if free.max() > 0:
            score = free
    k = int(np.argmax(score))
    return (float(gx[k]), float(gy[k])), float(score[k])


def _muscle_name(m: Muscle, *, stacked: bool = False) -> str:
    name = pretty(m.name).replace(" (L)", "").replace(" (R)", "")
    if stacked:
        name = name.replace(" ", "\n", 1)
    return name + "\n(behind the septum)" if m.behind_septum else name


def _base(name: str) -> str:
    return name[:-2] if name.endswith(("_l", "_r")) else name


def draw_muscles(
    ax: Axes,
    face: Face,
    *,
    fill_alpha: float = 0.22,
    linewidth: float = 1.2,
    labels: bool = True,
    fontsize: float = 8.0,
    avoid: Array | None = None,
) -> None:
    """Muscle regions, filled lightly by role; muscles behind the septum drawn dashed.

    Names go where they fit, clear of landmarks and sites; a muscle too small for its name or
    hidden behind another (``_CALLOUT``) is named a little way off with a leader line.
    ``avoid``: more points (mm) that names keep clear of, e.g. injections.
    """
    sites = np.array([s.xy for s in face.sites.values()], dtype=float)
    # a site's name runs to its right: keep muscle names off that strip too
    names = [sites + np.array([dx, 0.0]) for dx in _SITE_NAME_STRIP_MM]
    keep_clear = [np.array(list(face.landmarks.values()), dtype=float), sites, *names]
    if avoid is not None:
        keep_clear.append(np.asarray(avoid, dtype=float).reshape(-1, 2))
    clear = np.vstack(keep_clear)
    for m in sorted(face.muscles.values(), key=lambda m: -m.depth_mm):
        fc, ec, _ = role_style(m.role)
        ax.add_patch(
            PathPatch(
                _muscle_path(m),
                facecolor=(*_rgb(fc), fill_alpha * (0.6 if m.behind_septum else 1.0)),
                edgecolor=ec,
                linewidth=linewidth,
                linestyle="--" if m.behind_septum else "-",
                zorder=2,
            )
        )
        if not labels:
            continue
        (x, y), _ = muscle_label_point(m, clear)
        style: dict[str, Any] = {
            "fontsize": fontsize,
            "color": ec,
            "fontstyle": "italic",
            "path_effects": outlined(),
            "clip_on": True,
        }
        offset = _CALLOUT.get(_base(m.name))
        if offset is None:
            ax.text(x, y, _muscle_name(m), ha="center", va="center", zorder=6, **style)
            continue
        lateral = -1.0 if x < 0 else 1.0
        ax.annotate(
            _muscle_name(m, stacked=not m.behind_septum),
            (x, y),
            xytext=(x + lateral * offset[0], y + offset[1]),
            ha="center",
            va="center",
            arrowprops={"arrowstyle": "-", "color": ec, "linewidth": 0.7, "shrinkB": 0},
            zorder=6,
            **style,
        )


def _rgb(colour: str) -> tuple[float, float, float]:
    r, g, b = to_rgb(colour)
    return (r, g, b)


def draw_rims(ax: Axes, face: Face, *, linewidth: float = 1.6) -> None:
    """The orbital rims as solid lines."""
    for rim in face.orbital_rims.values():
        ax.plot(rim[:, 0], rim[:, 1], color=RIM_COLOUR, linewidth=linewidth, zorder=3)


def draw_areas(
    ax: Axes, face: Face, *, linewidth: float = 1.4, labels: bool = True, fontsize: float = 8.0
) -> None:
    """Treatment areas as dashed outlines, each named at its upper inner corner."""
    for area in face.areas.values():
        poly = _closed(area.polygon)
        ax.plot(
            poly[:, 0],
            poly[:, 1],
            color=AREA_COLOUR,
            linestyle=(0, (5, 3)),
            linewidth=linewidth,
            zorder=4,
        )
        if labels:
            top = float(area.polygon[:, 1].max())
            xs = area.polygon[:, 0]
            inner_x = float(xs[np.argmin(np.abs(xs))])  # the edge nearest the midline
            ha = "left" if inner_x >= 0 else "right"
            if xs.min() < 0 < xs.max():  # straddles the midline: name it at its left corner
                inner_x, ha = float(xs.min()), "left"
            ax.text(
                inner_x + (1.0 if ha == "left" else -1.0),
                top - 1.0,
                f"{pretty(area.name)} area",
                ha=ha,
                va="top",
                fontsize=fontsize,
                color=AREA_COLOUR,
                fontweight="bold",
                path_effects=outlined(),
                clip_on=True,
                zorder=7,
            )


def _label_side(x: float, side: str) -> bool:
    """Whether a point at ``x`` gets its name, written on side 'l', 'r', 'both' or 'none'."""
    if side == "none":
        return False
    if side == "both" or abs(x) < 1e-9:
        return True
    return (x > 0) == (side == "l")


def _text_place(x: float, lateral: float, up: float) -> tuple[tuple[float, float], str, str]:
    """Screen offset (points) and alignment of a name ``lateral``/``up`` of a point at ``x``."""
    dx = lateral * (-1.0 if x < 0 else 1.0)
    ha = "center" if abs(dx) < 1e-9 else ("left" if dx > 0 else "right")
    va = "center" if abs(up) < 2.0 else ("bottom" if up > 0 else "top")
    return (dx, up), ha, va


def draw_landmarks(ax: Axes, face: Face, *, names_on: str = "r", fontsize: float = 7.0) -> None:
    """Landmarks as small dots; names written on one side of the face (``names_on``)."""
    for name, (x, y) in face.landmarks.items():
        ax.plot(x, y, "o", markersize=3.2, color=LANDMARK_COLOUR, zorder=8)
        if _label_side(x, names_on):
            offset, ha, va = _text_place(x, *_LANDMARK_TEXT.get(_base(name), _DEFAULT_TEXT))
            if abs(x) < 1e-9:
                offset, ha, va = (4.0, -2.0), "left", "top"
            ax.annotate(
                pretty(name),
                (x, y),
                xytext=offset,
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=fontsize,
                color=LANDMARK_COLOUR,
                path_effects=outlined(),
                annotation_clip=True,
                clip_on=True,
                zorder=9,
            )


def draw_sites(ax: Axes, face: Face, *, names_on: str = "l", fontsize: float = 7.0) -> None:
    """Named injection sites as markers; names written on one side of the face (``names_on``)."""
    for site in face.sites.values():
        x, y = site.xy
        ax.plot(
            x,
            y,
            marker="P",
            markersize=7,
            color=SITE_COLOUR,
            markeredgecolor="white",
            markeredgewidth=0.6,
            linestyle="none",
            zorder=10,
        )
        if _label_side(x, names_on):
            # near the right edge of the face window the name goes to the marker's left
            inward = x > face.window[1][0] - _SITE_NAME_ROOM_MM
            ax.annotate(
                pretty(site.name),
                (x, y),
                xytext=(-5, 5) if inward else (5, 3),
                textcoords="offset points",
                ha="right" if inward else "left",
                va="bottom",
                fontsize=fontsize,
                color=SITE_COLOUR,
                fontweight="bold",
                path_effects=outlined(),
                annotation_clip=True,
                clip_on=True,
                zorder=11,
            )


def legend_handles(face: Face, *, landmarks: bool = True, sites: bool = True) -> list[Artist]:
    """Legend entries for the anatomy layers present on ``face``."""
    handles: list[Artist] = []
    seen: set[tuple[str, bool]] = set()
    for m in face.muscles.values():
        key = (m.role, m.behind_septum)
        if key in seen:
            continue
        seen.add(key)
        fc, ec, text = role_style(m.role)
        handles.append(
            Patch(
                facecolor=(*_rgb(fc), 0.35),
                edgecolor=ec,
                linestyle="--" if m.behind_septum else "-",
                label=text,
            )
        )
    extra: Iterable[Artist] = (
        Line2D([], [], color=RIM_COLOUR, linewidth=1.6, label="orbital rim"),
        Line2D([], [], color=AREA_COLOUR, linestyle=(0, (5, 3)), linewidth=1.4, label="treatment area"),
    )
    handles.extend(extra)
    if landmarks:
        handles.append(
            Line2D(
                [], [], marker="o", markersize=4, color=LANDMARK_COLOUR, linestyle="none", label="landmark"
            )
        )
    if sites:
        handles.append(
            Line2D(
                [],
                [],
                marker="P",
                markersize=8,
                color=SITE_COLOUR,
                markeredgecolor="white",
                linestyle="none",
                label="named injection site",
            )
        )
    return handles
