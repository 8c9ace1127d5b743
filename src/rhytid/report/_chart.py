"""The labelled face chart (``rhytid anatomy --png FILE``)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rhytid.anatomy import Face
from rhytid.report._draw import (
    draw_areas,
    draw_landmarks,
    draw_muscles,
    draw_rims,
    draw_sites,
    frame_axes,
    legend_handles,
)
from rhytid.report._style import new_figure, save_png

__all__ = ["anatomy_axes", "face_chart_png"]

_FRAME_NOTE = (
    "Face frame, in mm: origin at the soft-tissue nasion, x toward the patient's left, y up. "
    "Frontal view as you face the patient, so the patient's left is on your right.\n"
    "Landmark names are written on the patient's right, injection-site names on the patient's "
    "left; both are mirrored on the other side."
)


def anatomy_axes(
    ax: Axes, face: Face, *, names: bool = True, sites: bool = True, small: bool = False
) -> None:
    """Draw the whole anatomy layer set (muscles, rims, areas, landmarks, sites) on ``ax``."""
    frame_axes(ax, face.window, small=small)
    draw_muscles(ax, face, labels=names)
    draw_rims(ax, face)
    draw_areas(ax, face, labels=names)
    draw_landmarks(ax, face, names_on="r" if names else "none")
    if sites:
        draw_sites(ax, face, names_on="l" if names else "none")


def face_chart(face: Face) -> Figure:
    """The labelled chart of ``face`` as a figure."""
    fig = new_figure(13.0, 11.5)
    ax = fig.add_subplot()
    anatomy_axes(ax, face)
    ax.set_title(f"Reference {face.sex} face: upper-face muscles, landmarks and injection sites", fontsize=13)
    ax.legend(handles=legend_handles(face), loc="lower center", ncols=3, fontsize=9, framealpha=0.95)
    fig.supxlabel(_FRAME_NOTE, fontsize=9, color="#404040")
    return fig


def face_chart_png(face: Face, path: str | Path) -> Path:
    """Write the labelled face chart of ``face`` (PNG, 150 dpi) to ``path`` and return it."""
    return save_png(face_chart(face), Path(path))
