r"""The model's kernels, batch-first: every function takes arrays with a leading patient axis.

``simulate`` is a batch of one; the trial engine calls the same functions for many patients, and
with every cell and nerve-ending point (``exact``) the two agree to float rounding. The chain:

1. **Uptake** (:func:`injection_uptake`): the bound uptake density of each injection at each
   nerve-ending point, ``(R, I, P)`` for ``R`` technique realisations of ``I`` injections —
   bolus + screened diffusion (:func:`rhytid.toxin.uptake_density`), the septum's transmission,
   and the binding capacity shared by the injections of one day (each keeps its share).
2. **Block kinetics** (:func:`kinetics`, :func:`point_block`): the active toxin of each injection
   :math:`a(t - t_i)` per patient and day ``(N, T, I)``; the block at each point is the Hill
   function of :math:`\sum_i a_i q_i / \sigma` (:math:`\sigma` the patient's toxin sensitivity),
   and a segment's block its endplate-weighted mean (``@ weights``).
3. **Activation** (:func:`rhytid.model.effective_activation`): activation × (1 − block), the
   patient's habitual frontalis tone.
4. **Strain → depth → area statistic** (:func:`area_depth`): strain by superposition of the unit
   fields of the area's cells (one float32 GEMM), compressive strain scaled by the patient's
   activation scale (strength / stiffness; positively homogeneous), the Chen–Hutchinson depth with
   the patient's film (:func:`patient_buckling`, :func:`depth_um`) plus the static depth
   (:func:`static_depth`, eased by the fold's relaxation), and the area's depth percentile over
   its cells (weighted when the cells are a reduced set).
5. **Grade**: :func:`rhytid.tissue.grade_from_depth`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from rhytid.tissue import compression
from rhytid.toxin import (
    DoseResponse,
    SpreadParameters,
    active_fraction,
    binding_factor,
    block_fraction,
)

#: the block below which a point counts as unblocked (``point_block`` skips such points)
NEGLIGIBLE_BLOCK = 1e-9

__all__ = [
    "NEGLIGIBLE_BLOCK",
    "AreaCells",
    "Points",
    "area_depth",
    "cell_depth_rows",
    "depth_um",
    "injection_uptake",
    "kinetics",
    "patient_buckling",
    "percentile",
    "point_block",
    "static_depth",
]

Array = NDArray[np.float64]
F32 = NDArray[np.float32]


@dataclass(frozen=True)
class Points:
    """Nerve-ending (or map) points: position ``(P, 2)`` mm, depth ``(P,)`` mm, behind the septum."""

    xy: Array
    depth_mm: Array
    behind_septum: NDArray[np.bool_]

    def take(self, index: NDArray[np.intp]) -> Points:
        return Points(self.xy[index], self.depth_mm[index], self.behind_septum[index])


def injection_uptake(
    xy: Array,
    depth_mm: Array,
    units_ona: Array,
    volume_ml: Array,
    day: Array,
    points: Points,
    spread: SpreadParameters,
    capacity_u_per_mm3: float,
) -> Array:
    """Bound uptake density (ona-equivalent U/mm³) ``(R, I, P)`` of injection ``i`` of realisation
    ``r`` at each point: positions ``xy`` ``(R, I, 2)``, deposit depths ``(R, I)``, units ``(I,)``,
    volumes ``(R, I)`` mL, days ``(I,)``. The injections of one day share the binding capacity: at
    each point their summed uptake :math:`Q` binds as :math:`Q/(1 + Q/q_{cap})` and each keeps its
    share :math:`q_i/Q` of what is bound."""
    from rhytid._fused import uptake_rows

    # uptake_density of every injection at every point, in one numba pass
    out = uptake_rows(
        xy,
        depth_mm,
        units_ona,
        spread.bolus_radius_mm(volume_ml),
        points.xy,
        points.depth_mm,
        spread.transmission(points.behind_septum),
        spread.length_mm,
    )
    for d in np.unique(day):
        same = np.flatnonzero(day == d)
        out[:, same] *= binding_factor(out[:, same].sum(axis=1), capacity_u_per_mm3)[:, None, :]
    return out


def kinetics(days: Array, injection_days: Array, onset_days: float, recovery_rate: Array) -> Array:
    """Active fraction :math:`a(t - t_i)` ``(N, T, I)`` of each injection on each patient's days
    ``(N, T)``, with each patient's recovery rate ``(N,)`` (:func:`rhytid.toxin.active_fraction`)."""
    t = np.asarray(days, dtype=float)[:, :, None] - np.asarray(injection_days, dtype=float)[None, None, :]
    kr = np.asarray(recovery_rate, dtype=float).reshape(-1, 1, 1)
    return active_fraction(t, onset_days, kr)


def point_block(uptake: Array, kin: Array, sensitivity: Array, dose: DoseResponse) -> Array:
    """Fraction of nerve endings blocked at each point ``(N, T, P)``: the Hill function of the
    active toxin :math:`\\sum_i a_{nti}\\,q_{nip} / \\sigma_n`, for each patient's uptake ``(N, I, P)``,
    kinetics ``(N, T, I)`` and sensitivity ``(N,)``.

    The Hill function is evaluated only at points where some patient's uptake could block at all
    (the active fraction is at most 1, so a point whose summed uptake over σ lies below
    :math:`x_0\\,EC_{50}` with :math:`H(x_0) =` :data:`NEGLIGIBLE_BLOCK` blocks less than that);
    elsewhere the block is 0.
    """
    sens = np.asarray(sensitivity, dtype=float).reshape(-1, 1, 1)
    reach = (uptake.sum(axis=1, keepdims=True) / sens).max(axis=0)[0]  # (P,)
    x0 = (NEGLIGIBLE_BLOCK / dose.max_block) ** (1.0 / dose.hill)
    cols = np.flatnonzero(reach > x0 * dose.ec50_u_per_mm3)
    out = np.zeros((kin.shape[0], kin.shape[1], uptake.shape[2]))
    if len(cols) == uptake.shape[2]:
        return block_fraction(np.matmul(kin, uptake) / sens, dose)
    out[:, :, cols] = block_fraction(np.matmul(kin, uptake[:, :, cols]) / sens, dose)
    return out


@dataclass(frozen=True)
class AreaCells:
    """The cells of a graded area at which its depth is evaluated, with what is precomputed there.

    fields: ``(n_skin, 3 n)`` float32 unit strain fields (exx, eyy, exy of each cell);
    habitual / habitual_tone: ``(H, 3 n)`` strain of the habitual expressions at unit strength and
    the reference tone, and its change per unit of the frontalis tone factor; weights: ``(n,)``
    summing to 1 for a reduced cell set (``None``: every cell counts alike); h_ref, critical_ref,
    prestrain_ref: the reference face's film thickness (mm), critical strain and pre-strain.
    """

    name: str
    expression: int
    skin_region: str
    targets: tuple[str, ...]
    target_index: NDArray[np.intp]
    cells: NDArray[np.intp]
    fields: F32
    habitual: F32
    habitual_tone: F32
    habitual_c: F32
    h_ref: float
    critical_ref: float
    prestrain_ref: float
    weights: Array | None = None
    #: the cluster count of each cell of a reduced set (``weights`` = counts / their sum); the
    #: weighted percentile and the fused kernels' grading compare integer counts (exact)
    counts: NDArray[np.int64] | None = None

    @property
    def n(self) -> int:
        return len(self.cells)

    def subset(
        self, keep: NDArray[np.intp], weights: Array | None = None, counts: NDArray[np.int64] | None = None
    ) -> AreaCells:
        """The same area on the cells ``keep`` (positions in :attr:`cells`), optionally weighted
        (``counts``: the cluster count of each kept cell; default: ``weights`` × the cells here)."""
        if weights is not None and counts is None:
            counts = np.rint(np.asarray(weights) * self.n).astype(np.int64)

        def cols(a: F32) -> F32:
            n_rows = a.shape[0]
            return np.ascontiguousarray(a.reshape(n_rows, 3, self.n)[:, :, keep].reshape(n_rows, -1))

        return replace(
            self,
            cells=self.cells[keep],
            fields=cols(self.fields),
            habitual=cols(self.habitual),
            habitual_tone=cols(self.habitual_tone),
            habitual_c=np.ascontiguousarray(self.habitual_c[:, keep]),
            weights=weights,
            counts=counts,
        )


def patient_buckling(area: AreaCells, thickness: Array, stiffness: Array) -> tuple[Array, Array, Array]:
    r"""Film thickness (mm), critical strain and pre-strain of each patient's skin ``(M,)``: the
    reference film with thickness × ``thickness`` and dermis modulus × ``stiffness``
    (Chen–Hutchinson: :math:`\varepsilon_c \propto E_f^{-2/3}`, :math:`\varepsilon_0 \propto E_f^{-1}`)."""
    s = np.asarray(stiffness, dtype=float)
    return (
        area.h_ref * np.asarray(thickness, dtype=float),
        area.critical_ref * s ** (-2.0 / 3.0),
        area.prestrain_ref / s,
    )


def depth_um(c: NDArray[np.floating], h: Array, ec: Array, e0: Array) -> F32:
    """Chen–Hutchinson depth (µm) :func:`rhytid.tissue.dynamic_depth_um` of compressive strain ``c``
    with per-row film ``h``, ``ec``, ``e0`` (broadcast against ``c``), in float32."""
    film = np.maximum(c - e0.astype(np.float32), np.float32(0.0))
    excess = np.maximum(film / ec.astype(np.float32) - np.float32(1.0), np.float32(0.0))
    return np.asarray((1000.0 * h).astype(np.float32) * np.sqrt(excess), dtype=np.float32)


def static_depth(
    area: AreaCells, scale: Array, tone: Array, h: Array, ec: Array, e0: Array, rate: Array
) -> F32:
    r"""Etched depth (µm) of each cell ``(M, n)``: ``rate`` (etch per year × years, ``(M,)``) times
    the deepest habitual dynamic depth of each cell, the habitual expressions at the patient's
    activation ``scale`` and frontalis ``tone`` factor."""
    tone = np.asarray(tone, dtype=np.float32)
    s32 = np.asarray(scale, dtype=np.float32)[:, None, None]
    if np.all(tone == 1.0):  # the reference tone: the compression precomputed with the face
        c = area.habitual_c[None] * s32
    else:
        strain = area.habitual[None] + (tone - np.float32(1.0)).reshape(-1, 1, 1) * area.habitual_tone[None]
        m, n_h = strain.shape[0], strain.shape[1]
        s3 = strain.reshape(m, n_h, 3, area.n)
        c = compression(s3[:, :, 0], s3[:, :, 1], s3[:, :, 2]) * s32
    d = depth_um(c, h[:, None, None], ec[:, None, None], e0[:, None, None]).max(axis=1)
    return np.asarray(np.asarray(rate, dtype=np.float32)[:, None] * d, dtype=np.float32)


def area_depth(
    area: AreaCells,
    act: F32,
    scale: Array,
    h: Array,
    ec: Array,
    e0: Array,
    static: F32,
    eased: Array | None,
    q: float,
) -> Array:
    """The area's depth statistic (µm) ``(M,)`` for unit-strength activations of its skin segments
    ``act`` ``(M, n_skin)`` (one float32 GEMM), the patients' activation scale and film ``(M,)``,
    static depths ``(M, n)`` and eased shares ``(M,)`` (``None``: not eased): the ``q``-th
    percentile over the cells (:func:`percentile`)."""
    d = cell_depth_rows(area, act, scale, h, ec, e0, static, eased)
    return percentile(d, q, area.weights, area.counts)


def cell_depth_rows(
    area: AreaCells,
    act: F32,
    scale: Array,
    h: Array,
    ec: Array,
    e0: Array,
    static: F32,
    eased: Array | None,
) -> F32:
    """The depth (µm) of every cell ``(M, n)`` that :func:`area_depth` takes its statistic over
    (the same arguments but the percentile); the report's raster maps use it on every cell."""
    m = act.shape[0]
    strain = (np.asarray(act, dtype=np.float32) @ area.fields).reshape(m, 3, area.n)
    # compression and depth in one numba pass, with the arithmetic of :func:`compression` and
    # :func:`depth_um` (rhytid._fused.cell_depths)
    from rhytid._fused import cell_depths

    return cell_depths(strain, scale, h, ec, e0, static, eased)


def percentile(
    d: NDArray[np.floating], q: float, weights: Array | None = None, counts: NDArray[np.int64] | None = None
) -> Array:
    """The ``q``-th percentile along the last axis: :func:`numpy.percentile` (linear interpolation)
    by selection of the two order statistics instead of a sort; with cell ``weights`` summing to
    one, the smallest value whose weighted share at or below it reaches ``q`` % — compared in
    integer cluster ``counts`` (reaching ``q/100`` of their sum) when they are given."""
    n = d.shape[-1]
    if weights is None and d.ndim == 2 and d.dtype == np.float32:
        from rhytid._fused import percentile_rows

        return percentile_rows(d, q)  # the same, in one numba pass
    if weights is None:
        k = q / 100.0 * (n - 1)
        lo = int(np.floor(k))
        hi = min(lo + 1, n - 1)
        part = np.partition(d, (lo, hi), axis=-1)
        frac = k - lo
        a = part[..., lo].astype(np.float64)
        b = part[..., hi].astype(np.float64)
        return np.asarray(a + (b - a) * frac)
    if counts is not None and d.ndim == 2 and d.dtype == np.float32 and not np.isnan(d).any():
        from rhytid._fused import weighted_percentile_rows

        return weighted_percentile_rows(d, counts, q)  # the same, in one numba pass
    if n < 1 << 16 and d.dtype == np.float32 and not np.any(d < 0):
        # one sort of (value bits, cell) keys: non-negative float32 bits order as the values
        key = (np.ascontiguousarray(d).view(np.int32).astype(np.int64) << 16) | np.arange(n, dtype=np.int64)
        key.sort(axis=-1)
        order = key & 0xFFFF
    else:
        order = np.argsort(d, axis=-1)
    if counts is not None:
        c = np.cumsum(np.asarray(counts, dtype=np.int64)[order], axis=-1)
        pos = np.minimum((c < q / 100.0 * float(np.sum(counts))).sum(axis=-1), n - 1)
    else:
        w = np.cumsum(weights[order], axis=-1)
        pos = np.minimum((w < q / 100.0).sum(axis=-1), n - 1)
    return np.asarray(
        np.take_along_axis(d, np.take_along_axis(order, pos[..., None], -1), -1)[..., 0], dtype=float
    )
