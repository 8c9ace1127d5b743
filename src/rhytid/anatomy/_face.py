"""The face: landmarks, muscles, injection sites and treatment areas in the face frame.

The reference face is read from ``rhytid/data/anatomy.yaml`` (left side and midline, each value
with its source), mirrored to the right side (x → −x), and warped for sex by the scale factors
in the same file. Coordinates are millimetres in the face frame: origin at soft-tissue nasion,
x toward the patient's left, y up.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from rhytid._data import load_yaml, sourced
from rhytid.anatomy._geometry import (
    ellipse_polygon,
    point_in_polygon,
    quadrant_ellipse,
    signed_distance,
)
from rhytid.errors import AnatomyError, ParameterError

__all__ = ["Area", "Face", "Muscle", "Site", "reference_face"]

Sex = Literal["female", "male"]
Point = tuple[float, float]
Array = NDArray[np.float64]
FibreKind = Literal["contractile", "circumferential", "toward_origin", "none"]


@dataclass(frozen=True)
class Muscle:
    """One muscle of one side.

    ``outline`` is its region (polygon, mm) and ``hole`` an optional region cut out of it (the
    palpebral opening of the orbicularis). ``segments`` maps motor-region names to seed points;
    the muscle is split between them by a soft Voronoi partition.
    """

    name: str
    role: str
    side: str | None
    outline: Array
    hole: Array | None
    fibre: FibreKind
    fibre_angle_deg: float
    fibre_point: Point | None
    depth_mm: float
    thickness_mm: float
    endplate_center: Point
    endplate_radii: Point
    endplate_angle_deg: float
    segments: dict[str, Point]
    behind_septum: bool = False
    fascia_above_y_mm: float | None = None
    """Above this height (mm) the muscle adheres to deep fascia (the skin there is tethered)."""

    @property
    def loads_skin(self) -> bool:
        return self.fibre != "none"

    def contains(self, x: float, y: float) -> bool:
        """True when the point lies in the muscle's region."""
        px, py = np.array([x]), np.array([y])
        inside = bool(point_in_polygon(px, py, self.outline)[0])
        if inside and self.hole is not None:
            inside = not bool(point_in_polygon(px, py, self.hole)[0])
        return inside

    def signed_distance(self, x: Array, y: Array) -> Array:
        """Signed distance to the muscle region (negative inside), mm."""
        d = signed_distance(x, y, self.outline)
        if self.hole is not None:
            d = np.maximum(d, -signed_distance(x, y, self.hole))
        return d


@dataclass(frozen=True)
class Site:
    """A named injection site and the treatment area it belongs to."""

    name: str
    xy: Point
    area: str


@dataclass(frozen=True)
class Area:
    """A treatment area: the region graded, its maximum-contraction expression and targets."""

    name: str
    polygon: Array
    expression: str
    skin_region: str
    targets: tuple[str, ...]

    def contains(self, x: float, y: float) -> bool:
        return bool(point_in_polygon(np.array([x]), np.array([y]), self.polygon)[0])


@dataclass(frozen=True)
class Face:
    """A face in the face frame: everything the model needs to know about geometry."""

    sex: Sex
    landmarks: dict[str, Point]
    muscles: dict[str, Muscle]
    sites: dict[str, Site]
    areas: dict[str, Area]
    orbital_rims: dict[str, Array]
    window: tuple[Point, Point]
    key: str = field(default="")

    def landmark(self, name: str) -> Point:
        try:
            return self.landmarks[name]
        except KeyError:
            known = ", ".join(sorted(self.landmarks))
            raise AnatomyError(f"unknown landmark {name!r}; known: {known}") from None

    def site(self, name: str) -> Site:
        try:
            return self.sites[name]
        except KeyError:
            known = ", ".join(sorted(self.sites))
            raise AnatomyError(f"unknown site {name!r}; known sites: {known}") from None

    def on_face(self, x: float, y: float) -> bool:
        """True when the point lies inside the modelled window of the face."""
        (x0, y0), (x1, y1) = self.window
        return x0 <= x <= x1 and y0 <= y <= y1

    def muscles_at(self, x: float, y: float) -> list[Muscle]:
        """The muscles whose region contains the point, shallowest first."""
        found = [m for m in self.muscles.values() if m.contains(x, y)]
        return sorted(found, key=lambda m: m.depth_mm)

    def distance_to_orbital_rim(self, x: float, y: float, side: str) -> float:
        """Signed distance (mm) from the point to that side's orbital rim polyline.

        Positive above/outside the orbit, negative below the superior rim (inside the orbit
        opening), measured to the nearest point of the rim.
        """
        rim = self.orbital_rims[side]
        px, py = np.array([x]), np.array([y])
        d = np.inf
        for a, b in itertools.pairwise(rim):
            ab = b - a
            t = float(np.clip(((px - a[0]) * ab[0] + (py - a[1]) * ab[1])[0] / (ab @ ab), 0, 1))
            d = min(d, float(np.hypot(x - (a[0] + t * ab[0]), y - (a[1] + t * ab[1]))))
        closed = np.vstack([rim, rim[:1]])
        inside = bool(point_in_polygon(px, py, closed)[0])
        return -d if inside else d

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``rhytid anatomy --json`` (CONTRACTS.md)."""
        return {
            "sex": self.sex,
            "landmarks": {k: [round(v[0], 2), round(v[1], 2)] for k, v in self.landmarks.items()},
            "sites": {k: [round(s.xy[0], 2), round(s.xy[1], 2)] for k, s in self.sites.items()},
            "site_areas": {k: s.area for k, s in self.sites.items()},
            "muscles": [
                {
                    "name": m.name,
                    "role": m.role,
                    "side": m.side,
                    "depth_mm": m.depth_mm,
                    "thickness_mm": m.thickness_mm,
                    "fibre": m.fibre,
                    **({"fibre_angle_deg": m.fibre_angle_deg} if m.fibre == "contractile" else {}),
                    **({"fibre_origin": list(m.fibre_point)} if m.fibre_point is not None else {}),
                    "endplate": {
                        "center": list(m.endplate_center),
                        "radii": list(m.endplate_radii),
                        "angle_deg": m.endplate_angle_deg,
                    },
                    "segments": {k: list(v) for k, v in m.segments.items()},
                    "behind_septum": m.behind_septum,
                    "polygon": np.round(m.outline, 2).tolist(),
                    **({"hole": np.round(m.hole, 2).tolist()} if m.hole is not None else {}),
                }
                for m in self.muscles.values()
            ],
            "areas": {k: np.round(a.polygon, 2).tolist() for k, a in self.areas.items()},
            "orbital_rim": {k: np.round(v, 2).tolist() for k, v in self.orbital_rims.items()},
        }


# --- loading ---------------------------------------------------------------------------------


def _xy(entry: Any, where: str) -> Point:
    v = sourced(entry, where) if isinstance(entry, dict) else entry
    if not (isinstance(v, list | tuple) and len(v) == 2):
        raise ParameterError(f"anatomy.yaml:{where}: expected [x, y], got {v!r}")
    return (float(v[0]), float(v[1]))


def _mirror_name(name: str) -> str:
    return name[:-2] + "_r" if name.endswith("_l") else name


def _mirror_point(p: Point) -> Point:
    return (-p[0], p[1])


def _mirror_array(a: Array) -> Array:
    out = a.copy()
    out[:, 0] *= -1.0
    return out[::-1].copy()


def _shape(name: str, spec: dict[str, Any]) -> tuple[Array, Array | None]:
    kind = spec.get("kind")
    if not str(spec.get("source", "")).strip():
        raise ParameterError(f"anatomy.yaml:muscles.{name}.shape needs a source")
    if kind == "polygon":
        return np.asarray(spec["value"], dtype=float), None
    if kind == "ellipse":
        return ellipse_polygon(tuple(spec["center"]), tuple(spec["radii"])), None
    if kind == "annulus":
        c = tuple(spec["center"])
        return quadrant_ellipse(c, spec["outer"], 1.0, 128), quadrant_ellipse(c, spec["inner"], 1.0, 128)
    raise ParameterError(f"anatomy.yaml:muscles.{name}.shape.kind must be polygon|ellipse|annulus")


def _left_muscle(name: str, spec: dict[str, Any]) -> Muscle:
    outline, hole = _shape(name, spec["shape"])
    fibre = spec["fibre"]
    if not str(fibre.get("source", "")).strip():
        raise ParameterError(f"anatomy.yaml:muscles.{name}.fibre needs a source")
    ep = spec["endplate"]
    if not str(ep.get("source", "")).strip():
        raise ParameterError(f"anatomy.yaml:muscles.{name}.endplate needs a source")
    point = fibre.get("origin", spec["shape"].get("center"))
    return Muscle(
        name=name,
        role=str(spec["role"]),
        side="l" if name.endswith("_l") else None,
        outline=outline,
        hole=hole,
        fibre=fibre["kind"],
        fibre_angle_deg=float(fibre.get("angle_deg", 0.0)),
        fibre_point=(float(point[0]), float(point[1])) if point is not None else None,
        depth_mm=float(sourced(spec["depth_mm"], f"muscles.{name}.depth_mm")),
        thickness_mm=float(sourced(spec["thickness_mm"], f"muscles.{name}.thickness_mm")),
        endplate_center=(float(ep["center"][0]), float(ep["center"][1])),
        endplate_radii=(float(ep["radii"][0]), float(ep["radii"][1])),
        endplate_angle_deg=float(ep.get("angle_deg", 0.0)),
        segments={k: (float(v[0]), float(v[1])) for k, v in spec["segments"].items()},
        behind_septum=bool(spec.get("behind_septum", False)),
        fascia_above_y_mm=_fascia_anchor(name, spec.get("fascia_anchor")),
    )


def _fascia_anchor(name: str, spec: dict[str, Any] | None) -> float | None:
    if spec is None:
        return None
    if not str(spec.get("source", "")).strip():
        raise ParameterError(f"anatomy.yaml:muscles.{name}.fascia_anchor needs a source")
    return float(spec["above_y_mm"])


def _mirror_muscle(m: Muscle) -> Muscle:
    return replace(
        m,
        name=_mirror_name(m.name),
        side="r",
        outline=_mirror_array(m.outline),
        hole=_mirror_array(m.hole) if m.hole is not None else None,
        fibre_angle_deg=180.0 - m.fibre_angle_deg,
        fibre_point=_mirror_point(m.fibre_point) if m.fibre_point else None,
        endplate_center=_mirror_point(m.endplate_center),
        endplate_angle_deg=-m.endplate_angle_deg,
        segments={k: _mirror_point(v) for k, v in m.segments.items()},
    )


@cache
def _female_reference() -> Face:
    data = load_yaml("anatomy.yaml")
    landmarks: dict[str, Point] = {}
    for name, entry in data["landmarks"].items():
        p = _xy(entry, f"landmarks.{name}")
        landmarks[name] = p
        if name.endswith("_l"):
            landmarks[_mirror_name(name)] = _mirror_point(p)
    muscles: dict[str, Muscle] = {}
    for name, spec in data["muscles"].items():
        m = _left_muscle(name, spec)
        muscles[m.name] = m
        if name.endswith("_l"):
            muscles[_mirror_name(name)] = _mirror_muscle(m)
    sites: dict[str, Site] = {}
    for name, entry in data["sites"].items():
        p = _xy(entry, f"sites.{name}")
        sites[name] = Site(name, p, entry["area"])
        if name.endswith("_l"):
            sites[_mirror_name(name)] = Site(
                _mirror_name(name), _mirror_point(p), _mirror_name(entry["area"])
            )
    areas: dict[str, Area] = {}
    for name, entry in data["areas"].items():
        poly = np.asarray(sourced(entry, f"areas.{name}"), dtype=float)
        a = Area(name, poly, entry["expression"], entry["skin_region"], tuple(entry["targets"]))
        areas[name] = a
        if name.endswith("_l"):
            targets = tuple(_mirror_name(t) for t in a.targets)
            areas[_mirror_name(name)] = replace(
                a, name=_mirror_name(name), polygon=_mirror_array(poly), targets=targets
            )
    rim = np.asarray(sourced(data["orbital_rim_l"], "orbital_rim_l"), dtype=float)
    (x0, y0), (x1, y1) = sourced(data["frame"]["window_mm"], "frame.window_mm")
    return Face(
        sex="female",
        landmarks=landmarks,
        muscles=muscles,
        sites=sites,
        areas=areas,
        orbital_rims={"l": rim, "r": _mirror_array(rim)},
        window=((float(x0), float(y0)), (float(x1), float(y1))),
        key="female",
    )


def _warp(face: Face, sx: float, sy_up: float, sy_down: float, brow_dy: float, sex: Sex, key: str) -> Face:
    def p(q: Point) -> Point:
        return (q[0] * sx, q[1] * (sy_up if q[1] > 0 else sy_down))

    def arr(a: Array) -> Array:
        out = a.copy()
        out[:, 0] *= sx
        out[:, 1] *= np.where(out[:, 1] > 0, sy_up, sy_down)
        return out

    landmarks = {k: p(v) for k, v in face.landmarks.items()}
    for k in list(landmarks):
        if k.startswith("brow_"):
            landmarks[k] = (landmarks[k][0], landmarks[k][1] + brow_dy)
    muscles = {
        k: replace(
            m,
            outline=arr(m.outline),
            hole=arr(m.hole) if m.hole is not None else None,
            fibre_point=p(m.fibre_point) if m.fibre_point else None,
            endplate_center=p(m.endplate_center),
            segments={s: p(v) for s, v in m.segments.items()},
            fascia_above_y_mm=(m.fascia_above_y_mm * sy_up if m.fascia_above_y_mm is not None else None),
        )
        for k, m in face.muscles.items()
    }
    return replace(
        face,
        landmarks=landmarks,
        muscles=muscles,
        sites={k: replace(s, xy=p(s.xy)) for k, s in face.sites.items()},
        areas={k: replace(a, polygon=arr(a.polygon)) for k, a in face.areas.items()},
        orbital_rims={k: arr(v) for k, v in face.orbital_rims.items()},
        sex=sex,
        key=key,
    )


@cache
def reference_face(sex: Sex = "female") -> Face:
    """The reference adult face of the given sex (cached).

    >>> reference_face("female").landmark("nasion")
    (0.0, 0.0)
    """
    if sex not in ("female", "male"):
        raise AnatomyError(f"sex must be 'female' or 'male', got {sex!r}")
    female = _female_reference()
    if sex == "female":
        return female
    w = load_yaml("anatomy.yaml")["sex_warp"]["male"]
    return _warp(
        female,
        float(sourced(w["scale_x"], "sex_warp.male.scale_x")),
        float(sourced(w["scale_y_above_nasion"], "sex_warp.male.scale_y_above_nasion")),
        float(sourced(w["scale_y_below_nasion"], "sex_warp.male.scale_y_below_nasion")),
        float(sourced(w["brow_shift_y_mm"], "sex_warp.male.brow_shift_y_mm")),
        sex="male",
        key="male",
    )
