r"""Reduced-order area evaluation: a weighted set of representative cells per graded area.

An area's depth statistic is a percentile over its raster cells, each cell's depth a function of
that cell's unit strain fields (:mod:`rhytid._kernels`). Cells whose fields respond alike give
alike depths, so the percentile is approximated on ``k`` representative cells, each standing for
a cluster of cells and weighted by the cluster's share of the area:

* **Features** of a cell: its unit strains (exx, eyy, exy) of every skin segment, each scaled by
  the segment's activation in the area's expression, and its habitual compression — the
  quantities its depth is built from — in strain units. They and the k-means are computed so
  that the set does not depend on the number of BLAS threads (no GEMM in the features; one BLAS
  thread for the k-means).
* **Clusters**: k-means (:func:`kmeans`: Lloyd iterations from a k-means++ start with a fixed
  seed, distances by one GEMM) on those features; the representative of a cluster is its cell
  nearest the centroid, its weight the cluster's share of the cells. The percentile is then the weighted one
  (:func:`rhytid._kernels.percentile`).
* **Error**, measured when the set is built and stored with it (:class:`ReducedError`): depth
  statistic of the reduced set against every cell for random activation states (each segment
  blocked at random) and trial-like ones (the area's target muscles blocked together, partly),
  at random patient scales, stiffness, tone and etch rates — max and 99th-percentile absolute
  error (µm) and the share of states graded differently.

The sets are cached in memory and beside the basis on disk (``RHYTID_CACHE_DIR``), keyed by the
face, the mechanics, the area, ``k`` and this module's code.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from rhytid._kernels import AreaCells, area_depth, patient_buckling, static_depth
from rhytid.tissue import TissueParameters, compression, grade_from_depth

if TYPE_CHECKING:
    from rhytid.model import Engine

__all__ = ["ReducedArea", "ReducedError", "measure_error", "reduced_area"]

Array = NDArray[np.float64]
_SEED = 20260101
_STATES = 256  # activation states the error is measured on at build time


@dataclass(frozen=True)
class ReducedError:
    """Error of a reduced cell set against every cell (µm; share of states graded differently at
    the grade thresholds of the parameters it was first built with)."""

    max_um: float
    p99_um: float
    grade_disagreement: float
    states: int


@dataclass(frozen=True)
class ReducedArea:
    """A graded area on its representative cells, and the error that set was measured to have."""

    area: AreaCells
    full_cells: int
    error: ReducedError


def _features(engine: Engine, area: AreaCells) -> Array:
    """Per-cell features ``(n, 3 n_skin + H)`` (module docstring)."""
    from rhytid.model import HABITUAL

    skin = engine.basis.skin_rows
    act = engine.activation[area.expression, skin].astype(np.float32)
    fields = area.fields.reshape(len(skin), 3, area.n)
    f = fields * act[:, None, None]
    # the habitual compression again, without BLAS: a GEMM's rounding depends on its thread count,
    # and k-means turns last-bit differences into other clusters
    hab = np.einsum("hs,scn->hcn", engine.activation[HABITUAL][:, skin], fields.astype(np.float64))
    hab_c = compression(hab[:, 0], hab[:, 1], hab[:, 2])
    feats = np.concatenate([f.reshape(-1, area.n).astype(np.float64), hab_c], axis=0).T
    return np.asarray(feats / max(float(np.sqrt(np.mean(feats**2))), 1e-30))


def cluster_cells(engine: Engine, area: AreaCells, k: int) -> tuple[NDArray[np.intp], Array]:
    """Representative cells (positions in ``area.cells``) and their weights (summing to 1)."""
    if area.n <= k:
        return np.arange(area.n), np.full(area.n, 1.0 / area.n)
    x = _features(engine, area)
    centroids, label = kmeans(x, k, np.random.default_rng(_SEED))
    keep, weights = [], []
    for j in range(len(centroids)):
        members = np.flatnonzero(label == j)
        if not len(members):
            continue
        d = ((x[members] - centroids[j]) ** 2).sum(axis=1)
        keep.append(int(members[np.argmin(d)]))
        weights.append(len(members) / area.n)
    order = np.argsort(keep)
    return np.asarray(keep, dtype=np.intp)[order], np.asarray(weights)[order]


def kmeans(
    x: Array, k: int, rng: np.random.Generator, iterations: int = 20
) -> tuple[Array, NDArray[np.intp]]:
    """Lloyd's k-means of the rows of ``x`` from a k-means++ start: ``(centroids, labels)``."""
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    sq = (x32**2).sum(axis=1)
    centres = [int(rng.integers(len(x32)))]
    d2 = np.maximum(sq - 2.0 * x32 @ x32[centres[0]] + sq[centres[0]], 0.0)
    for _ in range(1, k):  # k-means++: the next centre drawn in proportion to the squared distance
        total = float(d2.sum())
        j = int(rng.integers(len(x32))) if total <= 0 else int(rng.choice(len(x32), p=d2 / total))
        centres.append(j)
        d2 = np.minimum(d2, np.maximum(sq - 2.0 * x32 @ x32[j] + sq[j], 0.0))
    c = x32[centres].copy()
    label = np.zeros(len(x32), dtype=np.intp)
    for it in range(iterations):
        dist = (c**2).sum(axis=1)[None, :] - 2.0 * (x32 @ c.T)
        new = np.argmin(dist, axis=1)
        if it and np.array_equal(new, label):
            break
        label = new
        counts = np.bincount(label, minlength=k).astype(np.float32)
        sums = np.zeros_like(c)
        np.add.at(sums, label, x32)
        filled = counts > 0
        c[filled] = sums[filled] / counts[filled, None]
    return c.astype(np.float64), label


def _states(
    engine: Engine, area: AreaCells, n: int, seed: int
) -> tuple[NDArray[np.float32], Array, Array, Array, Array]:
    """``n`` activation states of the area's expression ``(n, n_skin)`` at unit strength (half
    random blocks of every segment, half the area's targets blocked together), with patient
    scales, stiffness factors, tone factors and etch rates ``(n,)``."""
    from rhytid.model import effective_activation

    rng = np.random.default_rng(seed)
    n_seg = len(engine.basis.segments)
    blocks = np.zeros((n, n_seg))
    half = n // 2
    blocks[:half] = rng.random((half, n_seg)) ** 2 * (rng.random((half, n_seg)) < 0.5)
    target_segs = np.flatnonzero(engine.aggregate[:, area.target_index].sum(axis=1) > 0)
    level = rng.random(n - half)
    blocks[half:, target_segs] = np.clip(
        level[:, None] * (1.0 + 0.2 * rng.standard_normal((n - half, len(target_segs)))), 0.0, 1.0
    )
    tone = np.exp(0.5 * rng.standard_normal(n))
    act = effective_activation(engine, blocks, 1.0, tone)[:, area.expression, engine.basis.skin_rows]
    scale = np.exp(0.25 * rng.standard_normal(n))
    stiffness = np.exp(0.15 * rng.standard_normal(n))
    rate = 0.15 * rng.random(n)
    return np.asarray(act, dtype=np.float32), scale, stiffness, tone, rate


def measure_error(
    engine: Engine, full: AreaCells, reduced: AreaCells, p: TissueParameters, states: int, seed: int
) -> tuple[Array, Array, NDArray[np.bool_]]:
    """Depth statistic of every cell and of the reduced set on ``states`` random states, and
    whether their grades differ: ``(exact, reduced, differs)``."""
    act, scale, stiffness, tone, rate = _states(engine, full, states, seed)
    ease = np.random.default_rng(seed + 1).random(states) * p.static_ease_max
    out = []
    for a in (full, reduced):
        h, ec, e0 = patient_buckling(a, np.ones(states), stiffness)
        static = static_depth(a, scale, tone, h, ec, e0, rate)
        out.append(area_depth(a, act, scale, h, ec, e0, static, ease, p.depth_percentile))
    exact, approx = out
    thr = p.grade_thresholds_um
    return exact, approx, grade_from_depth(exact, thr) != grade_from_depth(approx, thr)


#: BLAS threads of the k-means GEMMs: the clusters depend on the GEMM's summation order, which
#: depends on the thread count (1 or 2 threads gave different sets, which moved the placebo
#: none-or-mild rate of a trial 0.05 → 0.026), so it is fixed; one thread can always be had
_KMEANS_BLAS_THREADS = 1


def _build(engine: Engine, area: AreaCells, k: int, p: TissueParameters) -> ReducedArea:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an environment installed before the dependency was added
        keep, weights = cluster_cells(engine, area, k)
    else:
        with threadpool_limits(limits=_KMEANS_BLAS_THREADS, user_api="blas"):
            keep, weights = cluster_cells(engine, area, k)
    reduced = area.subset(keep, weights)
    exact, approx, differs = measure_error(engine, area, reduced, p, _STATES, _SEED)
    err = np.abs(exact - approx)
    error = ReducedError(float(err.max()), float(np.percentile(err, 99)), float(differs.mean()), _STATES)
    return ReducedArea(reduced, area.n, error)


_MEMORY: dict[tuple[str, str, str, int], ReducedArea] = {}


def reduced_area(engine: Engine, area: AreaCells, k: int, p: TissueParameters) -> ReducedArea:
    """The reduced set of ``k`` cells of ``area`` on ``engine``'s face (memory, disk, or built)."""
    key = (engine.face.key, engine.mechanics, area.name, k)
    if key in _MEMORY:
        return _MEMORY[key]
    path = _cache_path(key, p)
    out: ReducedArea | None = None
    if path is not None and path.exists():
        try:
            with np.load(path) as z:
                keep, weights, e = z["keep"], z["weights"], z["error"]
            out = ReducedArea(
                area.subset(keep.astype(np.intp), weights),
                area.n,
                ReducedError(float(e[0]), float(e[1]), float(e[2]), int(e[3])),
            )
        except (OSError, ValueError, KeyError):
            out = None
    if out is None:
        out = _build(engine, area, k, p)
        if path is not None:
            _save(path, area, out)
    _MEMORY[key] = out
    return out


def _save(path: Path, full: AreaCells, r: ReducedArea) -> None:
    keep = np.searchsorted(full.cells, r.area.cells)
    e = r.error
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(
            tmp,
            keep=keep,
            weights=np.asarray(r.area.weights),
            error=np.array([e.max_um, e.p99_um, e.grade_disagreement, e.states]),
        )
        os.replace(tmp, path)
    except OSError:
        pass


@cache
def _code_hash() -> str:
    digest = hashlib.sha256()
    for name in ("_reduced.py", "_kernels.py"):
        digest.update(resources.files("rhytid").joinpath(name).read_bytes())
    return digest.hexdigest()[:16]


def _cache_path(key: tuple[str, str, str, int], p: TissueParameters) -> Path | None:
    root = os.environ.get("RHYTID_CACHE_DIR") or str(Path.home() / ".cache" / "rhytid")
    if root.lower() in ("", "off", "none"):
        return None
    text = f"{key}|{p.depth_percentile}|{_code_hash()}"
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    return Path(root) / f"reduced-{key[0]}-{key[2]}-{digest}.npz"
