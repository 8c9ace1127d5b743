"""Shared look of every figure: colours, fonts, grade words, and the Agg figure factory.

Figures are built on :class:`matplotlib.figure.Figure` with an explicit Agg canvas, never through
``pyplot``: no global figure registry, nothing to close, nothing shown on a screen.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

__all__ = [
    "AREA_COLOUR",
    "DPI",
    "GRADE_WORDS",
    "LANDMARK_COLOUR",
    "RIM_COLOUR",
    "ROLE_STYLE",
    "SITE_COLOUR",
    "SKIN_CMAP",
    "RoleStyle",
    "new_figure",
    "pretty",
    "role_style",
    "save_png",
]

DPI = 150
GRADE_WORDS = ("none", "mild", "moderate", "severe")

RoleStyle = tuple[str, str, str]  # (face colour, edge colour, legend text)

ROLE_STYLE: dict[str, RoleStyle] = {
    "brow_elevator": ("#6baed6", "#08519c", "brow elevator"),
    "brow_depressor": ("#fc9272", "#a50f15", "brow depressor"),
    "eyelid_opener": ("#74c476", "#006d2c", "eyelid opener — behind the orbital septum"),
}
_OTHER_ROLE: RoleStyle = ("#bdbdbd", "#525252", "other muscle")

AREA_COLOUR = "#54278f"
RIM_COLOUR = "#7f4f24"
LANDMARK_COLOUR = "#252525"
SITE_COLOUR = "#c51b8a"

#: Skin to deep furrow: the wrinkle texture reads like shading on skin.
SKIN_CMAP = LinearSegmentedColormap.from_list("rhytid_skin", ["#fbeee4", "#d9a88a", "#8c4a2f", "#3b1508"])


def role_style(role: str) -> RoleStyle:
    """Colours and legend text of a muscle role (grey for a role without its own style)."""
    return ROLE_STYLE.get(role, _OTHER_ROLE)


def pretty(name: str) -> str:
    """A data name as words: ``corrugator_medial_l`` → ``corrugator medial (L)``."""
    side = ""
    if name.endswith(("_l", "_r")):
        side = f" ({name[-1].upper()})"
        name = name[:-2]
    return name.replace("_", " ") + side


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure with an Agg canvas (fonts: matplotlib defaults, 10 pt at 150 dpi)."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG at the house resolution and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png", facecolor="white")
    return path
