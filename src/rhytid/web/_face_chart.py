"""The planner's face illustration: SVG paths drawn from a face's own landmarks, and its danger zones.

Everything is returned in SVG user units of the face frame with y flipped (``svg_y = -y_mm``), so
one millimetre of the face is one unit of the chart and the planner can lay injection points,
muscles and the field of effect over it unchanged.

- The eyes are almonds through the canthi and the upper-lid margin (``lid_margin``), with the lower
  lid ``lower_lid_below_pupil_mm`` under the pupil, the lid crease above the margin, iris and pupil.
- The brows are bands along the brow centre line (``brow_medial``, ``brow_peak``, ``brow_lateral``).
- Outline, hairline and nose come from ``data/face_chart.yaml`` (female reference, left side),
  mirrored to the right and scaled by the ratios of this face's landmarks to the reference ones
  (lateral canthus for width, trichion above the nasion, pupil below), so the male face fits too.
- Danger zones are the placement rules' own geometry (:func:`rhytid.clinic.zone_risks`): the band
  above the superior orbital rim where a point is ``high`` risk and the caution band above it, over
  the orbit only (between the medial-canthus and lateral-rim verticals); the levator palpebrae,
  which the band protects; and the forehead rule's line (points of the forehead area above it).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from rhytid._data import load_yaml, sourced
from rhytid.anatomy import Face, reference_face
from rhytid.clinic import zone_risks

__all__ = ["face_chart"]

Point = tuple[float, float]
_FILE = "face_chart.yaml"
_STEP_MM = 0.5
_MARGIN_MM = 4.0
_LABEL_ROOM_MM = 12.0


def _data(key: str) -> Any:
    return sourced(load_yaml(_FILE)[key], f"{_FILE}:{key}")


def _f(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _svg(p: Point) -> str:
    return f"{_f(p[0])},{_f(-p[1])}"


def _smooth(points: Sequence[Point], closed: bool = False) -> str:
    """A Catmull-Rom spline through ``points`` (face frame) as an SVG path of cubic Béziers."""
    pts = list(points)
    n = len(pts)
    if n < 3:
        return "M" + " L".join(_svg(p) for p in pts)
    out = [f"M{_svg(pts[0])}"]
    last = n if closed else n - 1
    for i in range(last):
        p0 = pts[(i - 1) % n] if (closed or i > 0) else pts[i]
        p1, p2 = pts[i], pts[(i + 1) % n]
        p3 = pts[(i + 2) % n] if (closed or i + 2 < n) else p2
        c1 = (p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6)
        c2 = (p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6)
        out.append(f"C{_svg(c1)} {_svg(c2)} {_svg(p2)}")
    return " ".join(out) + (" Z" if closed else "")


def _poly(points: Sequence[Point]) -> str:
    return "M" + " L".join(_svg(p) for p in points) + " Z"


def _mirror(points: Sequence[Point]) -> list[Point]:
    return [(-x, y) for x, y in points]


def _scales(face: Face) -> tuple[float, float, float]:
    """Width, upper and lower height ratios of ``face`` to the female reference (from landmarks)."""
    ref = reference_face("female").landmarks
    lm = face.landmarks
    return (
        lm["lateral_canthus_l"][0] / ref["lateral_canthus_l"][0],
        lm["trichion"][1] / ref["trichion"][1],
        lm["pupil_l"][1] / ref["pupil_l"][1],
    )


def _scaled(face: Face, key: str) -> list[Point]:
    sx, up, down = _scales(face)
    return [(x * sx, y * (up if y > 0 else down)) for x, y in _data(key)]


def _eye(face: Face, s: str) -> dict[str, Any]:
    lm = face.landmarks
    medial, lateral, pupil = lm[f"medial_canthus_{s}"], lm[f"lateral_canthus_{s}"], lm[f"pupil_{s}"]
    upper_y = lm[f"lid_margin_{s}"][1]
    lower_y = pupil[1] - float(_data("lower_lid_below_pupil_mm"))
    crease = float(_data("lid_crease_above_margin_mm"))

    def lid(y_mid: float, inset: float = 0.0) -> list[Point]:
        # a flattened arch through both canthi that reaches y_mid halfway between them
        a = (medial[0] + inset * (lateral[0] - medial[0]) / 30.0, medial[1])
        b = (lateral[0] - inset * (lateral[0] - medial[0]) / 30.0, lateral[1])
        mid_base = (a[1] + b[1]) / 2
        out = []
        for t in np.linspace(0.0, 1.0, 13):
            bump = max(0.0, 1.0 - (2.0 * t - 1.0) ** 2) ** 0.8
            x = a[0] + t * (b[0] - a[0])
            out.append((float(x), float(a[1] + t * (b[1] - a[1]) + (y_mid - mid_base) * bump)))
        return out

    upper, lower = lid(upper_y), lid(lower_y)
    almond = upper + lower[::-1][1:-1]
    return {
        "side": s,
        "almond": _smooth(almond, closed=True),
        "upper_lid": _smooth(upper),
        "crease": _smooth(lid(upper_y + crease, inset=2.0)),
        "iris": [round(pupil[0], 2), round(-pupil[1], 2), float(_data("iris_radius_mm"))],
        "pupil": float(_data("pupil_radius_mm")),
    }


def _brow(face: Face, s: str) -> str:
    lm = face.landmarks
    w = _data("brow_half_width_mm")
    names = ("medial", "peak", "lateral")
    centre = [lm[f"brow_{n}_{s}"] for n in names]
    top = [(x, y + float(w[n])) for (x, y), n in zip(centre, names, strict=True)]
    bottom = [(x, y - float(w[n]) * 0.8) for (x, y), n in zip(centre, names, strict=True)]
    tail = (centre[2][0] + np.sign(centre[2][0]) * 2.5, centre[2][1] - 1.0)
    return _smooth([*top, (float(tail[0]), float(tail[1])), *bottom[::-1]], closed=True)


def _nose(face: Face) -> list[str]:
    sx, _, down = _scales(face)
    n = _data("nose")
    bridge = float(n["bridge_half_width_mm"]) * sx
    ala_x, ala_y = float(n["alar_half_width_mm"]) * sx, float(n["alar_y_mm"]) * down
    tip_y, sn_y = float(n["tip_y_mm"]) * down, float(n["subnasale_y_mm"]) * down
    dorsum_y = float(n["dorsum_bottom_y_mm"]) * down
    paths = []
    for k in (1.0, -1.0):
        paths.append(
            _smooth(
                [(k * bridge, -4.0 * down), (k * bridge * 1.05, dorsum_y * 0.5), (k * bridge * 1.4, dorsum_y)]
            )
        )
        paths.append(
            _smooth(
                [
                    (k * bridge * 1.6, dorsum_y - 2.0),
                    (k * ala_x, ala_y + 2.0),
                    (k * ala_x * 0.9, sn_y + 2.5),
                    (k * ala_x * 0.55, sn_y + 1.0),
                ]
            )
        )
        paths.append(
            _smooth([(k * ala_x * 0.5, sn_y + 1.5), (k * ala_x * 0.3, sn_y + 0.5), (k * 0.18 * ala_x, sn_y)])
        )
    paths.append(_smooth([(-bridge * 1.3, tip_y), (0.0, tip_y - 1.2), (bridge * 1.3, tip_y)]))
    return paths


def _rule_distance(face: Face, rule: str, x: float, y: float, area: str | None) -> tuple[float, str]:
    for r in zone_risks(face, x, y, area):
        if r.rule == rule:
            return r.distance_mm, r.level
    raise LookupError(rule)


def _boundary(
    face: Face, rule: str, x: float, lo: float, hi: float, area: str | None, below: set[str]
) -> float:
    """Height between ``lo`` and ``hi`` where the rule's level at ``x`` leaves ``below`` (bisection)."""
    for _ in range(20):
        mid = (lo + hi) / 2
        if _rule_distance(face, rule, x, mid, area)[1] in below:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _danger(face: Face) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    zones: list[dict[str, Any]] = []
    guides: list[dict[str, Any]] = []
    lm = face.landmarks
    for s, k in (("l", 1.0), ("r", -1.0)):
        x0, x1 = abs(lm[f"medial_canthus_{s}"][0]), abs(lm[f"orbital_rim_lat_{s}"][0])
        xs = [k * float(v) for v in np.arange(x0, x1 + 1e-9, _STEP_MM)]
        rim = [-_rule_distance(face, "supraorbital", x, 0.0, None)[0] for x in xs]
        limit = [
            _boundary(face, "supraorbital", x, r, r + 40.0, None, {"high"})
            for x, r in zip(xs, rim, strict=True)
        ]
        caution = [
            _boundary(face, "supraorbital", x, h, h + 40.0, None, {"high", "moderate"})
            for x, h in zip(xs, limit, strict=True)
        ]
        high = list(zip(xs, rim, strict=True)) + list(zip(xs[::-1], limit[::-1], strict=True))
        band = list(zip(xs, limit, strict=True)) + list(zip(xs[::-1], caution[::-1], strict=True))
        zones.append({"kind": "supraorbital", "side": s, "level": "high", "d": _poly(high)})
        zones.append({"kind": "supraorbital", "side": s, "level": "moderate", "d": _poly(band)})
        lev = face.muscles.get(f"levator_palpebrae_{s}")
        if lev is not None:
            zones.append(
                {
                    "kind": "levator",
                    "side": s,
                    "level": "high",
                    "d": _poly([(float(a), float(b)) for a, b in lev.outline]),
                }
            )
    forehead = face.areas.get("forehead")
    if forehead is not None:
        fx0, fx1 = float(forehead.polygon[:, 0].min()), float(forehead.polygon[:, 0].max())
        xs = [float(v) for v in np.arange(fx0, fx1 + 1e-9, _STEP_MM * 4)]
        line = [(x, _boundary(face, "forehead", x, 0.0, 80.0, "forehead", {"high"})) for x in xs]
        guides.append({"kind": "forehead", "d": "M" + " L".join(_svg(p) for p in line)})
    return zones, guides


def _labels(face: Face) -> dict[str, dict[str, Any]]:
    spec = _data("site_labels")
    out: dict[str, dict[str, Any]] = {}
    for name, site in face.sites.items():
        base = name[:-2] + "_l" if name.endswith("_r") else name
        entry = spec.get(base)
        if entry is None:
            continue
        x, y = site.xy
        dx = float(entry["dx"]) * (-1.0 if name.endswith("_r") else 1.0)
        anchor = "middle" if dx == 0 else ("start" if dx > 0 else "end")
        out[name] = {
            "text": entry["text"],
            "x": round(x + dx, 2),
            "y": round(-(y + float(entry["dy"])), 2),
            "anchor": anchor,
        }
    return out


@lru_cache(maxsize=2)
def face_chart(sex: str) -> dict[str, Any]:
    """The illustration of the reference face of ``sex`` for the planner (paths in SVG units, mm)."""
    face = reference_face("male" if sex == "male" else "female")
    contour_l = _scaled(face, "contour_l")
    hair_l = _scaled(face, "hairline_l")
    contour = _mirror(contour_l)[::-1] + contour_l
    hairline = _mirror(hair_l)[::-1][:-1] + hair_l
    (wx0, wy0), (wx1, wy1) = face.window
    xs = [p[0] for p in contour] + [wx0, wx1]
    x_min, x_max = min(xs) - _LABEL_ROOM_MM, max(xs) + _LABEL_ROOM_MM
    # a portrait crop: from a little above the window (hair) to below the nose
    nose_bottom = float(_data("nose")["subnasale_y_mm"]) * _scales(face)[2]
    y_min, y_max = min(wy0, nose_bottom) - _MARGIN_MM, wy1 + 2 * _MARGIN_MM
    # the hair: above the hairline, out past the head; the planner clips it to the outline
    end, far = hair_l[-1], x_max + 10.0
    hair = (
        _smooth(hairline)
        + f" L{_svg((far, end[1]))} L{_svg((far, y_max + 10.0))}"
        + f" L{_svg((-far, y_max + 10.0))} L{_svg((-far, end[1]))} Z"
    )
    zones, guides = _danger(face)
    return {
        "view": [round(x_min, 1), round(-y_max, 1), round(x_max - x_min, 1), round(y_max - y_min, 1)],
        "window": [[wx0, wy0], [wx1, wy1]],
        "contour": _smooth(contour, closed=False) + " Z",
        "hair": hair,
        "hairline": _smooth(hairline),
        "brows": [_brow(face, "l"), _brow(face, "r")],
        "eyes": [_eye(face, "l"), _eye(face, "r")],
        "nose": _nose(face),
        "danger": zones,
        "guides": guides,
        "labels": _labels(face),
        "sides": {
            "l": [round(x_max - 2.0, 1), round(-(y_max - 6.0), 1)],
            "r": [round(x_min + 2.0, 1), round(-(y_max - 6.0), 1)],
        },
    }
