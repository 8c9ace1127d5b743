"""Per-anatomy basis: the skin's response to each motor region of each muscle, solved once.

The sheet problem is linear, so the displacement and strain of any activation pattern are the
superposition of unit fields, one per motor region ("segment") of each skin-loading muscle.
The basis is built once per (face, raster spacing) with the spectral sheet solver, kept in
memory and on disk (``$RHYTID_CACHE_DIR`` or ``~/.cache/rhytid``). It also holds the nerve-ending
quadrature: points in each muscle's endplate zone with their depth and weights per segment.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rhytid._data import calibrated_overrides, load_yaml
from rhytid._version import __version__
from rhytid.anatomy import Face, Muscle
from rhytid.tissue._muscle_fields import (
    active_stress,
    endplate_density,
    fascia_tether_points,
    muscle_mask,
    origin_traction,
    segment_weights,
)
from rhytid.tissue._parameters import TissueParameters, sheet_material, tissue_parameters
from rhytid.tissue._raster import Raster
from rhytid.tissue._sheet import SheetSolver, Tethers

__all__ = ["Basis", "Segment", "build_basis", "face_tethers", "get_basis", "muscle_base"]

Array = NDArray[np.float64]
FIELD_NAMES = ("ux", "uy", "exx", "eyy", "exy")
_SOLVE_CHUNK = 8


def muscle_base(name: str) -> str:
    """``corrugator_l`` → ``corrugator``: the name expressions use."""
    return name[:-2] if name.endswith(("_l", "_r")) else name


@dataclass(frozen=True)
class Segment:
    """One motor region of one muscle."""

    muscle: str
    name: str

    @property
    def base(self) -> str:
        return muscle_base(self.muscle)


@dataclass(frozen=True)
class Basis:
    """Unit fields and nerve-ending quadrature of one face on one raster.

    fields
        ``(n_skin, 5, ny, nx)`` float32: ux, uy, εxx, εyy, εxy of a unit activation of each
        skin-loading segment (rows follow ``skin_rows``).
    quad_weights
        ``(P, n_segments)``: endplate-density weights of each quadrature point for each segment,
        each column summing to 1, so ``block_at_points @ quad_weights`` is the endplate-weighted
        block of every segment.
    """

    face: Face
    raster: Raster
    segments: tuple[Segment, ...]
    skin_rows: NDArray[np.intp]
    fields: NDArray[np.float32]
    quad_xy: Array
    quad_depth_mm: Array
    quad_behind_septum: NDArray[np.bool_]
    quad_weights: Array
    segment_mass: Array

    def segment_index(self, muscle: str) -> list[int]:
        return [i for i, s in enumerate(self.segments) if s.muscle == muscle]

    def sample(self, x: float, y: float) -> NDArray[np.float32]:
        """Unit fields at a point (bilinear): ``(n_skin, 5)``."""
        idx, w = self.raster.bilinear_weights(x, y)
        flat = self.fields.reshape(*self.fields.shape[:2], -1)
        return np.asarray(flat[:, :, idx] @ w.astype(np.float32))


def _segments(face: Face) -> tuple[Segment, ...]:
    return tuple(Segment(m.name, s) for m in face.muscles.values() for s in m.segments)


def _bbox_slices(m: Muscle, raster: Raster, margin: float) -> tuple[slice, slice]:
    lo = m.outline.min(axis=0) - margin
    hi = m.outline.max(axis=0) + margin
    i0 = max(int((lo[0] - raster.x0) / raster.spacing), 0)
    i1 = min(int((hi[0] - raster.x0) / raster.spacing) + 1, raster.nx)
    j0 = max(int((lo[1] - raster.y0) / raster.spacing), 0)
    j1 = min(int((hi[1] - raster.y0) / raster.spacing) + 1, raster.ny)
    return slice(j0, j1), slice(i0, i1)


def _unit_loads(face: Face, raster: Raster, p: TissueParameters) -> tuple[Array, Array]:
    """Active stress ``(n_skin, 3, ny, nx)`` and traction ``(n_skin, 2, ny, nx)`` of a unit
    activation of each skin-loading segment: muscles with a bony origin pull the skin toward it
    (traction); the others contract within the skin sheet (active stress)."""
    x, y = raster.grid()
    stresses, tractions = [], []
    margin = 8.0 * p.mask_edge_mm
    for m in face.muscles.values():
        if not m.loads_skin:
            continue
        rows, cols = _bbox_slices(m, raster, margin)
        xs, ys = x[rows, cols], y[rows, cols]
        mask = muscle_mask(m, xs, ys, p.mask_edge_mm)
        seg_w = segment_weights(m, xs, ys, p.segment_softness_mm)
        force = p.skin_coupling * p.max_active_stress_kpa * 1e-3 * m.thickness_mm
        for k in range(len(m.segments)):
            s = np.zeros((3, raster.ny, raster.nx))
            t = np.zeros((2, raster.ny, raster.nx))
            if m.fibre == "toward_origin":
                t[:, rows, cols] = origin_traction(m, xs, ys, force, mask * seg_w[k])
            else:
                s[:, rows, cols] = active_stress(m, xs, ys, force, mask * seg_w[k])
            stresses.append(s)
            tractions.append(t)
    return np.array(stresses), np.array(tractions)


def face_tethers(face: Face, p: TissueParameters) -> Tethers:
    """Where the skin is tied to deep fascia, as point springs."""
    points = [fascia_tether_points(m, p.tether_spacing_mm) for m in face.muscles.values()]
    pts = np.vstack(points)
    return Tethers(
        pts, np.full(len(pts), p.tether_fascia_n_per_mm3 * p.tether_spacing_mm**2), p.tether_width_mm
    )


def _quadrature(
    face: Face, segments: tuple[Segment, ...], p: TissueParameters
) -> tuple[Array, Array, NDArray[np.bool_], Array, Array]:
    lattice = Raster.over(face.window, p.quadrature_mm)
    gx, gy = lattice.grid()
    gx, gy = gx.ravel(), gy.ravel()
    xy_parts, depth_parts, septum_parts, weight_rows = [], [], [], []
    col = {(s.muscle, s.name): j for j, s in enumerate(segments)}
    n_seg = len(segments)
    for m in face.muscles.values():
        density = endplate_density(m, gx, gy, p.mask_edge_mm)
        keep = density > 1e-3
        px, py, dens = gx[keep], gy[keep], density[keep]
        seg_w = segment_weights(m, px, py, p.segment_softness_mm)
        w = np.zeros((len(px), n_seg))
        for k, name in enumerate(m.segments):
            w[:, col[(m.name, name)]] = dens * seg_w[k]
        xy_parts.append(np.column_stack([px, py]))
        depth_parts.append(np.full(len(px), m.depth_mm))
        septum_parts.append(np.full(len(px), m.behind_septum))
        weight_rows.append(w)
    weights = np.vstack(weight_rows)
    mass = weights.sum(axis=0) * p.quadrature_mm**2
    weights /= weights.sum(axis=0, keepdims=True)
    return (
        np.vstack(xy_parts),
        np.concatenate(depth_parts),
        np.concatenate(septum_parts),
        weights,
        mass,
    )


@cache
def _anatomy_hash() -> str:
    """Hash of the anatomy the faces are built from (``anatomy.yaml`` and its fitted overrides)."""
    fitted = {k: v for k, v in calibrated_overrides().items() if k.startswith("anatomy.yaml:")}
    return hashlib.sha256(repr((load_yaml("anatomy.yaml"), sorted(fitted.items()))).encode()).hexdigest()[:16]


@cache
def _code_hash() -> str:
    """Hash of the code that builds a basis, so a changed solver never reuses a stale cache."""
    digest = hashlib.sha256()
    for package in ("rhytid.tissue", "rhytid.anatomy"):
        for path in sorted(resources.files(package).iterdir(), key=lambda p: p.name):
            if path.name.endswith(".py"):
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_path(face: Face, spacing: float, p: TissueParameters) -> Path | None:
    root = os.environ.get("RHYTID_CACHE_DIR") or str(Path.home() / ".cache" / "rhytid")
    if root.lower() in ("", "off", "none"):
        return None
    key = f"{__version__}|{_anatomy_hash()}|{p.mechanics_key()}|{_code_hash()}|{face.key}|{spacing:.6f}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return Path(root) / f"basis-{face.key}-{digest}.npy"


def build_basis(
    face: Face, spacing_mm: float | None = None, *, use_disk: bool = True, p: TissueParameters | None = None
) -> Basis:
    """Solve the unit fields of every skin-loading segment of ``face`` (see module docstring) with
    the mechanics of ``p`` (default: the tissue part of :func:`rhytid.default_parameters`)."""
    p = p or tissue_parameters()
    spacing = spacing_mm or p.spacing_mm
    raster = Raster.over(face.window, spacing)
    segments = _segments(face)
    skin_rows = np.array(
        [i for i, s in enumerate(segments) if face.muscles[s.muscle].loads_skin], dtype=np.intp
    )
    path = _cache_path(face, spacing, p) if use_disk else None
    fields: NDArray[np.float32] | None = None
    expected = (len(skin_rows), len(FIELD_NAMES), raster.ny, raster.nx)
    if path is not None and path.exists():
        try:
            loaded = np.load(path)
            fields = loaded if loaded.shape == expected else None
        except (OSError, ValueError):
            fields = None
    if fields is None:
        stresses, tractions = _unit_loads(face, raster, p)
        solver = SheetSolver(raster, sheet_material(face.sex, p), p.padding_mm, face_tethers(face, p))
        out = np.empty(expected, dtype=np.float32)
        for start in range(0, len(stresses), _SOLVE_CHUNK):
            chunk = slice(start, start + _SOLVE_CHUNK)
            out[chunk] = solver.solve(stresses[chunk], tractions[chunk])
        fields = out
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(tmp, fields)
                os.replace(tmp, path)
            except OSError:
                pass
    qxy, qdepth, qseptum, qweights, mass = _quadrature(face, segments, p)
    return Basis(face, raster, segments, skin_rows, fields, qxy, qdepth, qseptum, qweights, mass)


_MEMORY: dict[tuple[str, float, str], Basis] = {}


def get_basis(face: Face, spacing_mm: float | None = None, p: TissueParameters | None = None) -> Basis:
    """The basis of ``face`` with the mechanics of ``p`` (memory cache, then disk cache, then a
    fresh solve); parameter sets with equal :meth:`~TissueParameters.mechanics_key` share one."""
    p = p or tissue_parameters()
    spacing = spacing_mm or p.spacing_mm
    key = (face.key, float(spacing), p.mechanics_key())
    if key not in _MEMORY:
        _MEMORY[key] = build_basis(face, spacing, p=p)
    return _MEMORY[key]
