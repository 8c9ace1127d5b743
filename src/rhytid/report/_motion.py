"""The skin's motion drawn as arrows on the face (``rhytid motion --png FILE``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rhytid._motion import Motion
from rhytid.report._chart import anatomy_axes
from rhytid.report._style import new_figure, save_png

__all__ = ["motion_png"]

_MIN_ARROW_MM = 0.05


def motion_png(m: Motion, path: str | Path) -> Path:
    """Write the displacement field of ``m`` as arrows (true length, mm) over the anatomy."""
    fig = new_figure(12.0, 10.5)
    ax = fig.add_subplot()
    anatomy_axes(ax, m.face, names=False, sites=False)
    u = m.grid_u
    keep = np.hypot(u[:, 0], u[:, 1]) >= _MIN_ARROW_MM
    xy = m.grid_xy[keep]
    ax.quiver(
        xy[:, 0],
        xy[:, 1],
        u[keep, 0],
        u[keep, 1],
        angles="xy",
        scale_units="xy",
        scale=1.0,
        width=0.0025,
        color="#b2182b",
        zorder=5,
    )
    for p in m.profiles:
        c = p.c_line_fraction
        if c is not None:
            y = p.y_mm[0] + c * (p.y_mm[-1] - p.y_mm[0])
            ax.plot([p.x_mm - 6, p.x_mm + 6], [y, y], color="#2166ac", lw=2, zorder=6)
    when = "no toxin" if m.day is None else f"day {m.day:g} of the plan"
    ax.set_title(
        f"Skin motion from rest to {m.expression.replace('_', ' ')} ({m.sex}, {when}); "
        "arrows at true length (mm); blue: line of convergence",
        fontsize=11,
    )
    return save_png(fig, Path(path))
