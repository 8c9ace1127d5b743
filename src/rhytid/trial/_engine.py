r"""The vectorised trial engine: the model's chain for many patients at once.

It calls the model's batch-first kernels (:mod:`rhytid._kernels`, as :func:`rhytid.simulate`
does for a batch of one) with the parameters of one :class:`rhytid.Parameters`; only the cell
and point sets and the bookkeeping differ, so that the cost per patient and visit is small. With
``exact`` (``run_trial(..., exact=True)``, ``rhytid trial --exact``) it uses every cell and point
and computes blocks point by point, and agrees with ``simulate`` to float rounding.

**Technique.** A chunk of patients shares ``R`` realisations of the injection technique: each
injection's position is offset by :math:`(\delta x, \delta y)` (normal, SD ``position_sd_mm``),
its depth by :math:`\delta z` (normal, SD ``depth_sd_mm``, kept ≥ 0.3 mm) and its volume scaled
(log-normal, ``volume_cv``). Each patient is treated with one of them.

**Uptake and its compression.** For each realisation ``r`` the uptake density of all injections
at the model's nerve-ending quadrature points is the model's
:func:`~rhytid.toxin.uptake_density` (bolus + screened diffusion; septum transmission behind the
orbital septum) bound as :func:`~rhytid.toxin.bound_uptake`, :math:`Q_{rp} = B(\sum_i q_i(R_{rip}))`.
With one treatment day the active toxin is
:math:`I_p(t) = a(t)\,Q_p` with the kinetic factor :math:`a(t)` of
:func:`~rhytid.toxin.active_fraction`, so the endplate-weighted block of segment ``s`` is a
function of one scalar per patient and day,

.. math::
    B_{rs}(w) = \sum_p W_{ps}\,H\!\bigl(e^{w} Q_{rp}\bigr), \qquad
    w = \ln\frac{a(t)}{\sigma\,EC_{50}}, \qquad H(x) = b_{max}\frac{x^n}{1+x^n}

(:math:`\sigma` the patient's toxin sensitivity; :math:`H` the model's
:func:`~rhytid.toxin.block_fraction`). The weights :math:`W_{ps}` of each segment are binned by
:math:`\ln Q_{rp}` on a grid of width ``log_bin_width`` (linear deposition, which keeps the mass
and mean of each bin), then :math:`B_{rs}` is tabulated on a grid of :math:`w` with the same
spacing; a patient's block on a day is a linear interpolation in that table.

**Skin.** Effective activations are the model's :func:`rhytid.model.effective_activation`
(activation × (1 − block), the patient's habitual frontalis tone); strain of the graded area is the
superposition of the basis unit fields restricted to ``area_cells_max`` representative cells of
the area, weighted (k-means on the cells' unit-field features, :mod:`rhytid._reduced`; its error
against every cell is measured when the set is built and kept in :attr:`FaceModel.errors`), or
every cell with ``exact``. The compressive strain is positively homogeneous in the activation,
so the patient's activation scale (strength / stiffness, :func:`rhytid.model._patient_scales`)
multiplies it. Depth is the model's Chen–Hutchinson depth with the patient's film thickness
and modulus (critical strain :math:`\propto E_f^{-2/3}`, pre-strain :math:`\propto E_f^{-1}`,
amplitude :math:`\propto h`) plus the static depth, and the area's depth is the model's
percentile of the cell depths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from rhytid._fused import (
    FusedAreas,
    adverse_and_block,
    bound_uptake,
    deposit_mass,
    eased_shares,
    table_lookup,
)
from rhytid._kernels import (
    AreaCells,
    area_depth,
    patient_buckling,
    point_block,
    static_depth,
)
from rhytid._reduced import ReducedError, reduced_area
from rhytid.anatomy import reference_face
from rhytid.model import (
    Engine,
    brow_height_mm,
    brow_rest_weights,
    eased_share,
    effective_activation,
    expression_activation,
    face_engine,
    levator_lift_mm,
    lid_lift_mm,
    relaxation_grid,
    static_ease,
)
from rhytid.tissue import EXPRESSIONS, TissueParameters
from rhytid.trial._params import PopulationParameters, TrialParameters
from rhytid.trial._population import Population, lognormal

__all__ = [
    "BlockTables",
    "FaceModel",
    "Pattern",
    "Readouts",
    "Technique",
    "draw_technique",
    "face_model",
    "nominal_technique",
]

Array = NDArray[np.float64]
F32 = NDArray[np.float32]
_MIN_DEPTH_MM = 0.3
_Z_NEGLIGIBLE = 12.0  # H(e^-12) < 1e-7: uptake this far below EC50 blocks nothing
_PATIENT_BATCH = 256
_EXACT_BATCH = 8  # patients per batch of point-by-point blocks: (8, T, P) float64


@dataclass(frozen=True)
class Pattern:
    """A resolved injection pattern on one face: positions (mm), aimed depth (mm), ona-equivalent
    units and volume (mL) of each point."""

    sites: tuple[str, ...]
    xy: Array
    depth_mm: Array
    units_ona: Array
    volume_ml: Array


@dataclass(frozen=True)
class Technique:
    """``R`` realisations of the technique: offsets ``(R, n_inj)`` in mm and volume factors."""

    dx: Array
    dy: Array
    dz: Array
    volume_factor: Array

    @property
    def size(self) -> int:
        return int(self.dx.shape[0])

    def take(self, index: NDArray[np.intp]) -> Technique:
        """The realisations ``index``."""
        return Technique(self.dx[index], self.dy[index], self.dz[index], self.volume_factor[index])


def draw_technique(rng: np.random.Generator, n: int, n_inj: int, p: PopulationParameters) -> Technique:
    """``n`` technique realisations for a pattern of ``n_inj`` points (module docstring)."""
    shape = (n, n_inj)
    dx = p.position_sd_mm * rng.standard_normal(shape)
    dy = p.position_sd_mm * rng.standard_normal(shape)
    dz = p.depth_sd_mm * rng.standard_normal(shape)
    vol = lognormal(rng, p.volume_cv, n * n_inj).reshape(shape)
    return Technique(dx, dy, dz, vol)


def nominal_technique(n_inj: int) -> Technique:
    """The single realisation "exactly as planned"."""
    z = np.zeros((1, n_inj))
    return Technique(z, z, z, np.ones((1, n_inj)))


class FaceModel:
    """What the trial engine keeps about one reference face (sex) and the graded areas.

    ``exact``: every raster cell of each area and every nerve-ending point (blocks computed point
    by point as in :func:`rhytid.simulate`); otherwise the reduced sets of the module docstring
    (``cells_max`` representative cells per area, :mod:`rhytid._reduced`; every
    ``quad_stride``-th point; tabulated blocks). Both evaluate the same
    kernels (:mod:`rhytid._kernels`); only the cell and point sets differ.
    """

    def __init__(
        self,
        sex: str,
        areas: tuple[str, ...],
        cells_max: int,
        quad_stride: int,
        p: TissueParameters,
        exact: bool = False,
    ) -> None:
        self.sex = sex
        self.exact = exact
        self.engine: Engine = face_engine(reference_face(sex).key, None, p)
        e = self.engine
        b = e.basis
        self.mechanics = p.mechanics_key()
        by_name = {a.name: a for a in e.areas}
        self.areas: list[AreaCells] = []
        #: the measured error of each area's reduced cell set (none when exact)
        self.errors: dict[str, ReducedError] = {}
        for name in areas:
            a = by_name[name]
            if exact:
                self.areas.append(a)
                continue
            reduced = reduced_area(e, a, cells_max, p)
            self.areas.append(reduced.area)
            self.errors[name] = reduced.error
        self.brow_keys = tuple(e.brow_uy)
        # nerve-ending quadrature at the trial resolution: every quad_stride-th lattice point in x
        # and y, each segment's weights renormalised to sum to 1 (exact: every point)
        stride = 1 if exact else quad_stride
        q = p.quadrature_mm
        ix = np.rint((b.quad_xy[:, 0] - b.quad_xy[:, 0].min()) / q).astype(np.intp)
        iy = np.rint((b.quad_xy[:, 1] - b.quad_xy[:, 1].min()) / q).astype(np.intp)
        keep = np.flatnonzero((ix % stride == 0) & (iy % stride == 0))
        qw = b.quad_weights[keep]
        total = qw.sum(axis=0)
        if np.any(total <= 0):  # a segment lost all its points: keep the full quadrature
            keep, qw, total = np.arange(len(b.quad_xy)), b.quad_weights, b.quad_weights.sum(axis=0)
        self.points = e.points.take(keep)
        self.quad_xy = self.points.xy
        self.weights = np.ascontiguousarray(qw / total[None, :])
        #: the weights as a sparse matrix (CSR), for the block tables
        self.sparse_weights = csr_matrix(self.weights)
        self._fused: dict[tuple[bytes, float], FusedAreas] = {}

    # --- fused kernels (rhytid._fused; reduced cell sets only) ---------------------------------

    def fused(self, blocked: NDArray[np.intp], p: TissueParameters) -> FusedAreas:
        """The graded areas stacked for :mod:`rhytid._fused` with the ``blocked`` segments (skin
        rows only count: the others move no skin); cached per set of segments."""
        skin = self.engine.basis.skin_rows
        segs = np.intersect1d(np.asarray(blocked, dtype=np.intp), skin)
        key = (segs.tobytes(), p.depth_percentile)
        fa = self._fused.get(key)
        if fa is None:
            if len(self._fused) >= 8:
                self._fused.pop(next(iter(self._fused)), None)
            e = self.engine
            fa = FusedAreas.build(self.areas, e.activation, e.tone_rows, skin, segs, p.depth_percentile)
            self._fused[key] = fa
        return fa

    def buckling(self, pop: Population, p: TissueParameters) -> tuple[Array, Array, Array]:
        """Film thickness, critical strain and pre-strain of each area's skin ``(A, N)``."""
        _, stiffness = self.scales(pop, p)
        parts = [patient_buckling(a, pop.thickness, stiffness) for a in self.areas]
        return (
            np.stack([b[0] for b in parts]),
            np.stack([b[1] for b in parts]),
            np.stack([b[2] for b in parts]),
        )

    def etch_rate(self, pop: Population, tp: TrialParameters) -> Array:
        """Etch per year × years of each patient (:meth:`static_um`)."""
        p = tp.tissue
        years = (pop.age - p.static_onset_age) * np.where(pop.male, p.male_static_factor, 1.0)
        return np.asarray(tp.static_etch_per_year * pop.etch * np.maximum(years, 0.0))

    # --- patients -------------------------------------------------------------------------------

    def scales(self, pop: Population, p: TissueParameters) -> tuple[Array, Array]:
        """(activation scale, total stiffness factor): :func:`rhytid.model._patient_scales` with
        the individual stiffness multiplier."""
        stiffness = (1.0 + p.modulus_age_slope_per_year * (pop.age - p.reference_age)) * pop.stiffness
        strength = pop.strength * np.where(pop.male, p.male_strength_factor, 1.0)
        return strength / stiffness, stiffness

    def static_um(self, area: AreaCells, pop: Population, tp: TrialParameters) -> F32:
        """Static (etched) depth of each kept cell: ``(N, n)`` (:func:`rhytid._kernels.static_depth`)."""
        p = tp.tissue
        scale, stiffness = self.scales(pop, p)
        h, ec, e0 = patient_buckling(area, pop.thickness, stiffness)
        years = (pop.age - p.static_onset_age) * np.where(pop.male, p.male_static_factor, 1.0)
        rate = tp.static_etch_per_year * pop.etch * np.maximum(years, 0.0)
        out = np.empty((len(pop), area.n), dtype=np.float32)
        for lo in range(0, len(pop), _PATIENT_BATCH):
            sl = slice(lo, lo + _PATIENT_BATCH)
            out[sl] = static_depth(area, scale[sl], pop.tone[sl], h[sl], ec[sl], e0[sl], rate[sl])
        return out

    def area_depth(
        self,
        area: AreaCells,
        pop: Population,
        seg_block: Array,
        static: F32,
        tp: TrialParameters,
        percentile: float | None = None,
        ease: Array | None = None,
    ) -> Array:
        """Depth (µm) of the area at its maximum contraction, ``(N, T)``, for segment blocks
        ``(N, T, n_seg)``, static depths ``(N, n)`` and the eased share of the static depth
        ``(N, T)`` (the model's :func:`~rhytid.model.static_ease`; none if not given):
        :func:`rhytid._kernels.area_depth` over batches of patients."""
        q = tp.tissue.depth_percentile if percentile is None else percentile
        n, t, _ = seg_block.shape
        scale, stiffness = self.scales(pop, tp.tissue)
        h, ec, e0 = patient_buckling(area, pop.thickness, stiffness)
        skin = self.engine.basis.skin_rows
        out = np.empty((n, t))
        batch = max(_PATIENT_BATCH // max(t, 1), 1)
        for lo in range(0, n, batch):
            sl = slice(lo, lo + batch)
            m = len(range(n)[sl])
            tone = np.repeat(pop.tone[sl], t)
            act = expression_activation(
                self.engine, seg_block[sl].reshape(m * t, -1), area.expression, 1.0, tone
            )
            act = act[:, skin]
            d = area_depth(
                area,
                act.astype(np.float32),
                np.repeat(scale[sl], t),
                np.repeat(h[sl], t),
                np.repeat(ec[sl], t),
                np.repeat(e0[sl], t),
                np.repeat(static[sl], t, axis=0),
                None if ease is None else ease[sl].reshape(-1),
                q,
            )
            out[sl] = d.reshape(m, t)
        return out

    def activation(self, seg_block: Array, tone: float | Array = 1.0) -> Array:
        """The model's effective activation at unit strength: ``(M, n_expr, n_seg)``."""
        return effective_activation(self.engine, seg_block, 1.0, tone)

    def brow_mm(self, pop: Population, seg_block: Array, p: TissueParameters) -> Array:
        """Brow height at rest (mm, face frame) of each brow point: ``(N, T, 6)`` (the model's
        :func:`~rhytid.model.brow_height_mm`)."""
        n, t, _ = seg_block.shape
        scale, _ = self.scales(pop, p)
        y = brow_height_mm(
            self.engine, seg_block.reshape(n * t, -1), np.repeat(scale, t), np.repeat(pop.tone, t)
        )
        return np.asarray(y.reshape(n, t, -1))

    def readout_weights(self, targets: list[int], p: TissueParameters) -> tuple[Array, Array, int]:
        """The linear read-outs of a segment block :math:`b` ``(n_seg,)`` that the adverse events,
        the mean block and the static ease need, as the columns of ``phi`` ``(n_seg, F)``
        (:class:`Readouts`), the levator's droop per unit of its block (mm, per side) and the number
        of brow points.

        Columns: each brow point's drop at rest per unit scale :math:`\\sum_s A_s b_s u_{ks}`
        (6, rest activation ``A``) and its tone part :math:`\\sum_s T_s b_s u_{ks}` (6), the
        ``targets`` muscles' mean block (1), the levators' block (2), and each graded area's fold
        relaxation, the mean block of its target muscles (one per area; :meth:`static_ease`)."""
        e = self.engine
        n_seg = len(e.basis.segments)
        w_a, w_t = brow_rest_weights(e)
        levator = np.zeros((n_seg, len(e.levator)))
        levator[e.levator, np.arange(len(e.levator))] = 1.0
        folds = [e.aggregate[:, a.target_index].mean(axis=1) for a in self.areas]
        phi = np.column_stack(
            [
                w_a.T,
                w_t.T,
                e.aggregate[:, targets].mean(axis=1),
                levator,
                *folds,
            ]
        )
        return phi, levator_lift_mm(e, p), len(w_a)

    def adverse(
        self,
        pop: Population,
        r: NDArray[np.intp],
        w: Array,
        readouts: Readouts,
        n_visits: int,
        p: TissueParameters,
    ) -> tuple[Array, Array, Array]:
        """The largest lid droop and brow drop (mm) of each patient over the days of ``w``
        ``(N, T)`` and the summed mean block of the target muscles on the first ``n_visits``
        days: :meth:`lid_droop_mm`, :meth:`brow_mm` and :meth:`muscle_block` as read-outs of the
        block tables (:meth:`readout_weights`), without the ``(N, T, n_seg)`` blocks: the droop
        is :math:`E\\,a_{rest}\\,b_{lev}`, the drop :math:`s \\sum_s (A_s + (\\tau - 1) T_s)\\,
        b_s\\,u_{ks}` with the patient's scale :math:`s` and tone :math:`\\tau`."""
        scale, _ = self.scales(pop, p)
        return adverse_and_block(
            r,
            w,
            readouts.table,
            readouts.w0,
            readouts.dw,
            readouts.n_brow,
            pop.tone,
            scale,
            readouts.levator_mm,
            n_visits,
        )

    def lid_droop_mm(self, seg_block: Array, p: TissueParameters) -> Array:
        """Droop of each upper lid (mm) against no toxin: ``(N, T, 2)`` (the model's
        :func:`~rhytid.model.lid_lift_mm`)."""
        n, t, s = seg_block.shape
        lift = lid_lift_mm(self.engine, seg_block.reshape(n * t, s), p).reshape(n, t, 2)
        return np.asarray(lid_lift_mm(self.engine, np.zeros((1, s)), p)[0] - lift)

    def static_ease(
        self,
        area_index: int,
        readouts: Readouts,
        r: NDArray[np.intp],
        log_active: Callable[[Array], Array],
        times: Array,
        p: TissueParameters,
    ) -> Array:
        """Eased share of the etched depth of graded area ``area_index`` at ``times`` ``(N, T)``
        (the model's :func:`~rhytid.model.static_ease`): its fold relaxation read from the block
        tables (:meth:`readout_weights`) on the model's weekly grid, ``log_active(grid)`` giving
        each patient's ``w`` there."""
        grid = relaxation_grid(float(np.max(times)), p)
        relaxed = readouts.lookup(r, log_active(grid), np.array([readouts.fold_column(area_index)]))[..., 0]
        return eased_share(p, grid, relaxed, times)

    def eased_shares(
        self,
        readouts: Readouts,
        r: NDArray[np.intp],
        kinetics: tuple[float, Array],
        sensitivity: Array,
        times: Array,
        tp: TrialParameters,
    ) -> Array:
        """:meth:`static_ease` of every graded area ``(A, N, T)`` in one pass
        (:func:`rhytid._fused.eased_shares`), for patients with the onset rate and recovery rates
        ``kinetics`` ``(k, (N,))`` and toxin ``sensitivity`` ``(N,)``."""
        p = tp.tissue
        k, kr = kinetics
        return eased_shares(
            r,
            kr,
            sensitivity,
            k,
            tp.ec50_u_per_mm3,
            readouts.folds,
            readouts.w0,
            readouts.dw,
            relaxation_grid(float(np.max(times)), p),
            p.static_ease_tau_days,
            p.static_ease_max,
            times,
        )

    def muscle_block(self, seg_block: Array) -> Array:
        """Endplate-weighted block per muscle: ``(..., n_muscles)``."""
        return np.asarray(seg_block @ self.engine.aggregate)

    # --- exact blocks (every nerve-ending point, as rhytid.simulate) ---------------------------

    def exact_segment_block(
        self, q: Array, r: NDArray[np.intp], kin: Array, sensitivity: Array, tp: TrialParameters
    ) -> Array:
        """Segment blocks ``(N, T, n_seg)`` of patients using realisation ``r`` with the active
        fractions ``kin`` ``(N, T)`` of their one treatment: :func:`rhytid._kernels.point_block`
        at every point of this face model, endplate-weighted."""
        n, t = kin.shape
        out = np.empty((n, t, self.weights.shape[1]))
        for lo in range(0, n, _EXACT_BATCH):
            sl = slice(lo, lo + _EXACT_BATCH)
            blocked = point_block(q[r[sl], None, :], kin[sl, :, None], sensitivity[sl], tp.dose)
            out[sl] = blocked @ self.weights
        return out

    def exact_static_ease(
        self,
        area: AreaCells,
        q: Array,
        r: NDArray[np.intp],
        kin_of: Callable[[Array], Array],
        sensitivity: Array,
        times: Array,
        tp: TrialParameters,
    ) -> Array:
        """:meth:`static_ease` with the target muscles' block on the grid from every point of the
        model's relaxation quadrature (:func:`rhytid.model.grid_muscle_block`); ``kin_of(grid)``
        gives each patient's active fraction ``(N, G)`` there. Needs ``exact``."""
        p = tp.tissue
        e = self.engine
        grid = relaxation_grid(float(np.max(times)), p)
        kin = kin_of(grid)
        n = len(r)
        muscles = np.empty((n, len(grid), len(e.muscles)))
        for lo in range(0, n, _EXACT_BATCH):
            sl = slice(lo, lo + _EXACT_BATCH)
            uptake = q[r[sl]][:, None, e.ease_points]
            muscles[sl] = point_block(uptake, kin[sl, :, None], sensitivity[sl], tp.dose) @ e.ease_weights
        return static_ease(p, area.target_index, grid, muscles, times)

    # --- toxin ---------------------------------------------------------------------------------

    def uptake(self, pattern: Pattern, tech: Technique, tp: TrialParameters) -> Array:
        """Bound uptake density ``Q_rp`` (ona-equivalent U/mm³) of each realisation at each point:
        the pattern's injections of one day as :func:`rhytid._kernels.injection_uptake` (binding
        shared), summed — in one pass (:func:`rhytid._fused.bound_uptake`)."""
        n_inj = len(pattern.sites)
        xy = np.empty((tech.size, n_inj, 2))
        xy[:, :, 0] = pattern.xy[None, :, 0] + tech.dx
        xy[:, :, 1] = pattern.xy[None, :, 1] + tech.dy
        depth = np.maximum(pattern.depth_mm[None, :] + tech.dz, _MIN_DEPTH_MM)
        volume = pattern.volume_ml[None, :] * tech.volume_factor
        spread = tp.spread
        return bound_uptake(
            xy,
            depth,
            pattern.units_ona,
            spread.bolus_radius_mm(volume),
            self.points.xy,
            self.points.depth_mm,
            spread.transmission(self.points.behind_septum),
            spread.length_mm,
            tp.binding_capacity_u_per_mm3,
        )


_FACE_MODELS: dict[tuple[str, tuple[str, ...], int, int, str, bool], FaceModel] = {}


def face_model(
    sex: str,
    areas: tuple[str, ...],
    cells_max: int,
    quad_stride: int = 1,
    p: TissueParameters | None = None,
    exact: bool = False,
) -> FaceModel:
    """The (cached) :class:`FaceModel` of a sex for the graded ``areas`` with the mechanics of ``p``
    (default: :func:`rhytid.default_parameters`); ``exact``: every cell and point."""
    if p is None:
        from rhytid._parameters import default_parameters

        p = default_parameters().tissue
    key = (sex, areas, cells_max, quad_stride, p.mechanics_key(), exact)
    fm = _FACE_MODELS.get(key)
    if fm is None:
        fm = _FACE_MODELS[key] = FaceModel(sex, areas, cells_max, quad_stride, p, exact)
    return fm


@dataclass(frozen=True)
class BlockTables:
    """Tabulated segment block ``table[r, g, s]`` at ``w_g = w0 + g·dw`` (module docstring): the
    segments of one bin lie side by side, so a lookup of every segment at one ``w`` reads two
    short runs of memory."""

    w0: float
    dw: float
    #: float32: the products of one float32 GEMM (:meth:`build`)
    table: F32

    @classmethod
    def build(
        cls, face: FaceModel, q: Array, tp: TrialParameters, w_max: float, hi: float | None = None
    ) -> BlockTables:
        """Compress the uptake ``q`` (R, P) per segment and tabulate the block up to ``w_max``;
        ``hi``: the largest ``ln Q`` the grids reach (default: of ``q``; given, the tables of
        blocks of realisations share one grid and are the rows of the whole's)."""
        with np.errstate(divide="ignore"):
            return cls.from_log(face, np.log(q), tp, w_max, hi)

    @staticmethod
    def grid(tp: TrialParameters, w_max: float, hi: float) -> tuple[float, int]:
        """The first ``w`` and the number of points of the tables' grid for log uptakes up to
        ``hi`` and patients up to ``w_max``: below it every bin blocks < H(e^-12); above ``w_max``
        no patient needs."""
        w0 = -_Z_NEGLIGIBLE - hi
        return w0, int(np.ceil((w_max - w0) / tp.log_bin_width)) + 2

    @classmethod
    def from_log(
        cls,
        face: FaceModel,
        lq: Array,
        tp: TrialParameters,
        w_max: float,
        hi: float | None = None,
        out: F32 | None = None,
    ) -> BlockTables:
        """:meth:`build` from the log uptake ``lq`` = :math:`\\ln Q` (R, P); ``out``: the
        ``(R, n_w, n_seg)`` array the table is written to (rows of a whole's, :meth:`grid`)."""
        dw = tp.log_bin_width
        n_seg = len(face.engine.basis.segments)
        r_count = lq.shape[0]
        if hi is None:
            hi = float(np.max(lq))
        lo = -_Z_NEGLIGIBLE - w_max
        w0, n_w = cls.grid(tp, w_max, hi)
        n_q = int(np.ceil((hi - lo) / dw)) + 2
        if n_q < 2:
            n_q = 2
        logq = lo + dw * np.arange(n_q)
        # mass[r, s, k]: the endplate weights of segment s deposited linearly on the two bins
        # neighbouring ln Q_rp (keeps each bin's mass and mean); sparse weights, one numba pass
        w_pts = face.sparse_weights
        mass = deposit_mass(lq, lo, dw, n_q, w_pts.indptr, w_pts.indices, w_pts.data, n_seg).reshape(
            r_count * n_seg, n_q
        )
        wg = w0 + dw * np.arange(n_w)
        z = tp.hill * (wg[None, :] + logq[:, None])
        hmat = tp.max_block / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))
        # one float32 GEMM: the blocks feed float32 activations (error < 1e-6 of the block)
        table = mass.astype(np.float32) @ hmat.astype(np.float32)
        if out is None:
            out = np.empty((r_count, n_w, n_seg), dtype=np.float32)
        out[...] = table.reshape(r_count, n_seg, n_w).transpose(0, 2, 1)
        return cls(w0, dw, out)

    def lookup(self, r: NDArray[np.intp], w: Array, segments: NDArray[np.intp] | None = None) -> Array:
        """Segment blocks ``(N, T, n_seg)`` of patients using realisation ``r`` (N,) at ``w`` (N, T)
        (only the given ``segments``, in that order, when given)."""
        segs = np.arange(self.table.shape[2]) if segments is None else np.asarray(segments)
        return table_lookup(self.table, np.asarray(r), np.asarray(w), self.w0, self.dw, segs)


@dataclass(frozen=True)
class Readouts:
    """Linear read-outs of the segment block tables, tabulated on their grid: ``table[r, g, f] =
    sum_s BlockTables.table[r, g, s] phi[s, f]`` (:meth:`FaceModel.readout_weights`), so that a
    read-out of a patient's block on a day is one interpolation instead of a sum over segments
    (interpolation in ``w`` and the linear read-out commute)."""

    w0: float
    dw: float
    table: Array
    #: the levators' droop per unit of block (mm)
    levator_mm: Array
    #: brow points: the columns are their rest-activation drops, their tone drops (``n_brow``
    #: each), the target muscles' mean block, the levators' blocks, then one fold per area
    n_brow: int

    @classmethod
    def build(
        cls, tables: BlockTables, phi: Array, levator_mm: Array, n_brow: int, out: Array | None = None
    ) -> Readouts:
        """The read-outs ``phi`` ``(n_seg, F)`` of ``tables`` (float64), in the column order of
        :meth:`FaceModel.readout_weights`; ``out``: the ``(R, n_w, F)`` array they are written to."""
        r, n_w, n_seg = tables.table.shape
        if out is None:
            out = np.empty((r, n_w, phi.shape[1]))
        np.matmul(tables.table.reshape(r * n_w, n_seg).astype(np.float64), phi, out=out.reshape(r * n_w, -1))
        return cls(tables.w0, tables.dw, out, levator_mm, n_brow)

    @cached_property
    def folds(self) -> Array:
        """The graded areas' fold relaxations ``(R, n_w, A)`` (the last columns of ``table``) on
        their own: the few megabytes that :meth:`FaceModel.eased_shares` reads at every grid day
        stay in cache."""
        return np.ascontiguousarray(self.table[:, :, self.fold_column(0) :])

    def fold_column(self, area_index: int) -> int:
        """The column of graded area ``area_index``'s fold relaxation."""
        return 2 * self.n_brow + 1 + len(self.levator_mm) + area_index

    def lookup(self, r: NDArray[np.intp], w: Array, columns: NDArray[np.intp]) -> Array:
        """Read-outs ``columns`` ``(N, T, len(columns))`` of patients on realisation ``r`` at ``w``."""
        return table_lookup(self.table, np.asarray(r), np.asarray(w), self.w0, self.dw, columns)


EXPRESSION_OF = {name: EXPRESSIONS.index(name) for name in EXPRESSIONS}
