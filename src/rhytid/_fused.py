r"""Fused kernels (numba, GIL released) for the trial's hot loop on reduced cell sets.

The arithmetic is that of :mod:`rhytid._kernels` (block lookup → activation → strain → depth →
area statistic → grade); what differs is the order of work, so that one patient-timepoint is
carried from its block to its grade in registers and a few kilobytes of cache:

* **Strain by its blocked part only.** A skin segment's activation in the area's expression is
  :math:`(A_s + (\tau - 1) T_s)(1 - b_s)` (:func:`rhytid.model.expression_activation`), so the
  strain is :math:`S_0 + (\tau - 1) S_T - \sum_{s \in B} b_s (A_s + (\tau - 1) T_s) F_s` with the
  unblocked strains :math:`S_0 = \sum_s A_s F_s`, :math:`S_T = \sum_s T_s F_s` precomputed per
  area and the sum only over the segments :math:`B` that some realisation blocks at all
  (:data:`BLOCKED`; a segment whose block stays below it changes no float32 activation).
* **Strain modes** (large trials). The strains of a trial's states lie close to a subspace of
  few dimensions: :class:`StrainModes` keeps the leading modes of a sample of them (proper
  orthogonal decomposition), the fewest whose strain error on that sample stays within a
  tolerance, and measures the error on a second sample; the GEMM then runs through the modes,
  half its width or less.
* **Grade by weighted counts.** The area's statistic is the weighted ``q``-th percentile of the
  cell depths (:func:`rhytid._kernels.percentile`: the smallest depth whose cluster count at or
  below it reaches :math:`qN/100`), and the rating is that statistic times the rater's factor
  :math:`e` graded at the thresholds. Multiplication by :math:`e > 0` is monotone in floating
  point, so for each threshold :math:`t_k`

  .. math:: \mathrm{stat}\cdot e \ge t_k \iff \sum_j c_j\,[\,d_j e < t_k\,] < qN/100

  (integer cluster counts :math:`c_j`, :math:`N = \sum_j c_j`; :math:`qN/100` taken at least 1,
  for ``q`` = 0): the grade is the number of thresholds whose count of cells below stays under
  it, found without a sort. With
  two graded areas the rating of the larger statistic is the larger grade.
* **Stop once the grade is known.** The strains are formed and the depths counted one block of
  cells at a time, the cells stacked deepest first (at the expression with no toxin). After a
  block, with :math:`b_k` of the seen counts below :math:`t_k` and :math:`u` unseen, the side of
  :math:`t_k` is known when :math:`b_k + u < qN/100` (above it, whatever the rest) or
  :math:`b_k \ge qN/100` (below it); a row leaves once every threshold's side is known, with the
  grade of every cell's count. About a quarter of the cells of a trial's rows are never formed.
* **No unused days.** Follow-up visits stop once both durations of a patient are known (response
  lost after being reached, :func:`rhytid.trial._run.durations`); the later visits would not
  change them and are reported as grade 3.

Everything is float32 where :func:`rhytid._kernels.area_depth` is, and the order of the strain
sum differs from its GEMM only in rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from rhytid._kernels import NEGLIGIBLE_BLOCK, AreaCells
from rhytid.tissue._wrinkles import relax_row, relaxation_steps
from rhytid.toxin._kinetics import active_at

__all__ = [
    "BLOCKED",
    "CELL_BLOCK",
    "FusedAreas",
    "StrainModes",
    "adverse_and_block",
    "baseline_depths",
    "baseline_grades",
    "cell_blocks",
    "cell_depths",
    "eased_shares",
    "grade_by_counts",
    "percentile_rows",
    "state_coefficients",
    "strain_modes",
    "table_lookup",
    "treated_grades",
    "uptake_rows",
    "weighted_percentile_rows",
]

Array = NDArray[np.float64]
F32 = NDArray[np.float32]
#: a segment counts as blocked when some realisation blocks it more than this
BLOCKED = NEGLIGIBLE_BLOCK


def _qn(q: float, counts: NDArray[np.int64]) -> float:
    """The count below which the weighted percentile lies above a threshold: :math:`qN/100`, at
    least 1 (with ``q`` = 0 the percentile is the least depth, above the threshold exactly when
    no cell lies below it)."""
    return max(q / 100.0 * float(np.sum(counts)), 1.0)


@dataclass(frozen=True)
class FusedAreas:
    """The graded areas of one face model stacked for the kernels (padded to the largest ``n``;
    padded cells have count 0).

    s0, st: ``(A, 3, n)`` unblocked strains at unit strength and per unit of tone; fb:
    ``(A, K, 3, n)`` unit fields of the blocked segments; acoef, tcoef: ``(A, K)`` their activation
    and tone share in each area's expression; hab, hab_tone: ``(A, H, 3, n)`` habitual strains;
    counts: ``(A, n)`` cluster counts; qn: ``(A,)`` :math:`qN/100`; segments: the blocked
    segments (columns of the block tables)."""

    s0: F32
    st: F32
    fb: F32
    acoef: Array
    tcoef: Array
    hab: F32
    hab_tone: F32
    counts: NDArray[np.int64]
    qn: Array
    n: NDArray[np.int64]
    segments: NDArray[np.intp]
    q: float
    #: ``(A, K + 2, 3 n)``: the right-hand side of the strain GEMM, rows S0, ST, the blocked fields
    gemm: F32
    #: ``gemm`` by blocks of :data:`CELL_BLOCK` cells ``(A, n_blocks, K + 2, 3 CELL_BLOCK)``
    #: (:func:`cell_blocks`): the GEMM of one block of cells at a time
    gemm_blocks: F32
    #: ``(A,)``: the total cluster count :math:`N` of each area
    total: NDArray[np.int64]

    @staticmethod
    def build(
        areas: list[AreaCells],
        activation: Array,
        tone_rows: Array,
        skin: NDArray[np.intp],
        blocked: NDArray[np.intp],
        q: float,
    ) -> FusedAreas:
        """Stack ``areas`` (reduced, weighted with counts) of a face with the engine's
        ``activation`` and ``tone_rows`` ``(n_expr, n_seg)``, its skin rows and the ``blocked``
        segments (segment indices, each a skin row). Each area's cells are stacked in decreasing
        order of their compression at the area's expression with no toxin (:math:`S_0`; the same
        order whatever is blocked), so that the grading's blocks of cells meet the deepest
        first (:func:`_grade_blocks`)."""
        n_max = max(a.n for a in areas)
        n_a, k = len(areas), len(blocked)
        n_h = areas[0].habitual.shape[0]
        row_of = {int(s): i for i, s in enumerate(skin)}
        rows = np.array([row_of[int(s)] for s in blocked], dtype=np.intp)
        s0 = np.zeros((n_a, 3, n_max), dtype=np.float32)
        st = np.zeros_like(s0)
        fb = np.zeros((n_a, k, 3, n_max), dtype=np.float32)
        hab = np.zeros((n_a, n_h, 3, n_max), dtype=np.float32)
        hab_tone = np.zeros_like(hab)
        counts = np.zeros((n_a, n_max), dtype=np.int64)
        acoef = np.zeros((n_a, k))
        tcoef = np.zeros((n_a, k))
        qn = np.zeros(n_a)
        for i, a in enumerate(areas):
            if a.counts is None:
                raise ValueError(f"area {a.name}: the fused kernels need a reduced (counted) cell set")
            f = a.fields.reshape(len(skin), 3, a.n)
            act = activation[a.expression, skin]
            ton = tone_rows[a.expression, skin]
            unblocked = np.einsum("s,scn->cn", act.astype(np.float64), f.astype(np.float64))
            order = _deepest_first(unblocked)
            f = f[:, :, order]
            s0[i, :, : a.n] = unblocked[:, order]
            st[i, :, : a.n] = np.einsum("s,scn->cn", ton.astype(np.float64), f.astype(np.float64))
            fb[i, :, :, : a.n] = f[rows]
            acoef[i] = act[rows]
            tcoef[i] = ton[rows]
            hab[i, :, :, : a.n] = a.habitual.reshape(n_h, 3, a.n)[:, :, order]
            hab_tone[i, :, :, : a.n] = a.habitual_tone.reshape(n_h, 3, a.n)[:, :, order]
            counts[i, : a.n] = a.counts[order]
            qn[i] = _qn(q, a.counts)
        gemm = np.ascontiguousarray(
            np.concatenate([s0[:, None], st[:, None], fb], axis=1).reshape(n_a, k + 2, 3 * n_max)
        )
        return FusedAreas(
            s0,
            st,
            fb,
            acoef,
            tcoef,
            hab,
            hab_tone,
            counts,
            qn,
            np.array([a.n for a in areas], dtype=np.int64),
            np.asarray(blocked, dtype=np.intp),
            float(q),
            gemm,
            cell_blocks(gemm),
            counts.sum(axis=1),
        )


def _deepest_first(strain: Array) -> NDArray[np.intp]:
    r"""The cells of ``strain`` ``(3, n)`` in decreasing order of their compression
    :math:`\sqrt{((\epsilon_{xx} - \epsilon_{yy})/2)^2 + \epsilon_{xy}^2} - (\epsilon_{xx} +
    \epsilon_{yy})/2` (ties in cell order)."""
    exx, eyy, exy = strain
    compression = np.hypot(0.5 * (exx - eyy), exy) - 0.5 * (exx + eyy)
    return np.argsort(-compression, kind="stable")


#: cells per block of the grading GEMM (:func:`_grade_blocks`)
CELL_BLOCK = 128


def cell_blocks(m: F32) -> F32:
    r"""The columns ``(A, R, 3 n)`` (component-major: :math:`\epsilon_{xx}` of every cell, then
    :math:`\epsilon_{yy}`, :math:`\epsilon_{xy}`) by blocks of :data:`CELL_BLOCK` cells, each
    component-major: ``(A, n_blocks, R, 3 CELL_BLOCK)``, the last block padded with zeros."""
    n_a, rows, n3 = m.shape
    n = n3 // 3
    n_blocks = -(-n // CELL_BLOCK)
    padded = np.zeros((n_a, rows, 3, n_blocks * CELL_BLOCK), dtype=np.float32)
    padded[..., :n] = m.reshape(n_a, rows, 3, n)
    split = padded.reshape(n_a, rows, 3, n_blocks, CELL_BLOCK).transpose(0, 3, 1, 2, 4)
    return np.ascontiguousarray(split.reshape(n_a, n_blocks, rows, 3 * CELL_BLOCK))


_FM = {"nnan", "ninf"}  # no NaN or infinity in these loops: lets max() vectorise
#: also no signed zeros: where only comparisons follow (grading), max() becomes one instruction
_FM_GRADE = {"nnan", "ninf", "nsz"}


@nb.njit(inline="always")
def _excess(exx, eyy, exy, scale, e0, ec):  # type: ignore[no-untyped-def]
    r"""A cell's buckling excess :math:`x = \max(\max(c\,s - e_0, 0)/e_c - 1, 0)` (float32) of
    its compression :math:`c` at strain ``(exx, eyy, exy)``: its depth is :math:`h\sqrt{x}`
    (the arithmetic of :func:`rhytid._kernels.area_depth`; inlined, so compiled with the caller's
    flags)."""
    half = np.float32(0.5)
    zero = np.float32(0.0)
    mean = half * (exx + eyy)
    d = (exx - eyy) * half
    d = np.sqrt(d * d + exy * exy) - mean
    d = max(d, zero) * scale
    d = max(d - e0, zero) / ec
    return max(d - np.float32(1.0), zero)


def _depths_py(strain, n, scale, e0, ec, h1000, static, keep, out):  # type: ignore[no-untyped-def]
    """Cell depths (µm, float32) of one row: strain ``(3, ≥n)`` → ``out[:n]`` (the arithmetic of
    :func:`rhytid._kernels.area_depth`), plus ``static × keep``."""
    for j in range(n):
        x = _excess(strain[0, j], strain[1, j], strain[2, j], scale, e0, ec)
        out[j] = np.sqrt(x) * h1000 + static[j] * keep


#: bit for bit the numpy arithmetic, signed zeros included (simulate's JSON)
_depths = nb.njit(nogil=True, cache=True, fastmath=_FM)(_depths_py)
#: the same for grading (a zero's sign changes no comparison)
_depths_grade = nb.njit(nogil=True, cache=True, fastmath=_FM_GRADE)(_depths_py)
#: the same, inlined into the grading loop of each block of cells (no call per row and block)
_depths_inline = nb.njit(nogil=True, cache=True, fastmath=_FM_GRADE, inline="always")(_depths_py)


@nb.njit(nogil=True, cache=True)
def _bin(w, w0, dw, n_w):  # type: ignore[no-untyped-def]
    """Bin ``g0`` and fraction of ``w`` on the grid ``w0 + g dw`` of ``n_w`` points; ``g0 = -1``
    below it (also NaN: no active toxin), the last bin's value beyond it."""
    g = (w - w0) / dw
    if not g >= 0.0:
        return -1, 0.0
    if g > n_w - 1.000001:
        g = n_w - 1.000001
    g0 = int(g)
    return g0, g - g0


@nb.njit(nogil=True, cache=True)
def _at(table, r, k, g0, frac):  # type: ignore[no-untyped-def]
    """Block of table row ``(r, k)`` in bin ``g0`` at ``frac`` (:func:`_bin`; 0 below the grid)."""
    if g0 < 0:
        return 0.0
    return table[r, g0, k] * (1.0 - frac) + table[r, g0 + 1, k] * frac


def _table(table: F32 | Array) -> F32 | Array:
    """The block table as the kernels read it: float32 tables stay float32 (no float64 copy; the
    arithmetic is float64 either way)."""
    t = np.asarray(table)
    return np.ascontiguousarray(t if t.dtype in (np.float32, np.float64) else t.astype(np.float64))


@nb.njit(nogil=True, cache=True)
def _lookup_rows(table, r, w, segments, w0, dw, out):  # type: ignore[no-untyped-def]
    n_w = table.shape[1]
    for i in range(w.shape[0]):
        for t in range(w.shape[1]):
            g0, frac = _bin(w[i, t], w0, dw, n_w)
            for j in range(len(segments)):
                out[i, t, j] = _at(table, r[i], segments[j], g0, frac)


def table_lookup(
    table: F32 | Array, r: NDArray[np.intp], w: Array, w0: float, dw: float, segments: NDArray[np.intp]
) -> Array:
    """Blocks ``(N, T, len(segments))`` of table rows ``r`` ``(N,)`` at ``w`` ``(N, T)``, linear
    in ``w`` on the grid ``w0 + g dw`` (0 below it or where ``w`` is NaN, the last bin's value
    beyond it): :meth:`rhytid.trial._engine.BlockTables.lookup` in one pass."""
    w = np.ascontiguousarray(w, dtype=np.float64)
    out = np.empty((*w.shape, len(segments)))
    _lookup_rows(
        _table(table),
        np.ascontiguousarray(r, dtype=np.int64),
        w,
        np.ascontiguousarray(segments, dtype=np.int64),
        float(w0),
        float(dw),
        out,
    )
    return out


@nb.njit(nogil=True, cache=True)
def _coefs(pid, w, r, tone, table, cols, w0, dw, acoef, tcoef, out):  # type: ignore[no-untyped-def]
    """Row coefficients ``[1, τ − 1, −b_k (A_k + (τ − 1) T_k)]`` of the strain GEMM (module
    docstring); ``b_k`` from table column ``cols[k]`` (increasing; a run of consecutive columns
    is read as one slice)."""
    n_w = table.shape[1]
    contiguous = len(cols) > 0 and cols[-1] - cols[0] == len(cols) - 1  # sorted: a run of columns
    for i in range(len(pid)):
        p = pid[i]
        tm1 = tone[p] - 1.0
        g0, frac = _bin(w[i], w0, dw, n_w)
        out[i, 0] = np.float32(1.0)
        out[i, 1] = np.float32(tm1)
        if g0 < 0:  # below the grid: no block (as _at)
            for k in range(acoef.shape[0]):
                out[i, 2 + k] = -np.float32(0.0 * (acoef[k] + tm1 * tcoef[k]))
            continue
        lo = table[r[p], g0]
        hi = table[r[p], g0 + 1]
        if contiguous:
            lo = lo[cols[0] : cols[0] + len(cols)]
            hi = hi[cols[0] : cols[0] + len(cols)]
            for k in range(acoef.shape[0]):
                b = lo[k] * (1.0 - frac) + hi[k] * frac
                out[i, 2 + k] = -np.float32(b * (acoef[k] + tm1 * tcoef[k]))
        else:
            for k in range(acoef.shape[0]):
                c = cols[k]
                b = lo[c] * (1.0 - frac) + hi[c] * frac
                out[i, 2 + k] = -np.float32(b * (acoef[k] + tm1 * tcoef[k]))


@nb.njit(nogil=True, cache=True, fastmath=_FM_GRADE, inline="always")
def _tally(dep, n, counts, e, t0, t1, t2, below):  # type: ignore[no-untyped-def]
    """Adds the cluster counts of ``dep[:n]`` whose depth times ``e`` lies below each threshold
    to ``below``; returns their total count. A row's grade is the number of thresholds with
    fewer than ``qn`` below (module docstring)."""
    seen = 0
    b_0 = 0
    b_1 = 0
    b_2 = 0
    for j in range(n):
        v = np.float64(dep[j]) * e
        c = counts[j]
        seen += c
        b_0 += c if v < t0 else 0
        b_1 += c if v < t1 else 0
        b_2 += c if v < t2 else 0
    below[0] += b_0
    below[1] += b_1
    below[2] += b_2
    return seen


@nb.njit(nogil=True, cache=True, inline="always")
def _known(below, rest, qn, floor):  # type: ignore[no-untyped-def]
    """Whether the side of every threshold from ``floor`` up is known with ``rest`` counts still
    unseen: above it when even all of them below would leave fewer than ``qn`` below, under it
    once ``qn`` are. (The thresholds below ``floor``, a grade the row already has from another
    area, cannot raise it; and ``below`` grows with the threshold, so a threshold known to lie
    below the area's statistic implies every lower one.)"""
    return (
        (floor > 0 or below[0] + rest < qn or below[0] >= qn)
        and (floor > 1 or below[1] + rest < qn or below[1] >= qn)
        and (floor > 2 or below[2] + rest < qn or below[2] >= qn)
    )


#: patient-timepoints per GEMM block: the strains of a block of cells (48 KB at 32 rows of 128
#: cells) stay in cache between the GEMM and the depths (in one GEMM of all 384 cells, 32 rows
#: took 870 ns per row against 1,075 at 128 rows, 1,060 at 48 and 890 at 16; AMD Zen 4, OpenBLAS
#: 0.3.30 SkylakeX kernels)
_ROWS = 32


@nb.njit(nogil=True, cache=True, fastmath=_FM_GRADE)
def _grade_blocks(rows, kernel, grades):  # type: ignore[no-untyped-def]
    """Grades (the larger over the areas, into ``grades``) of the ``rows``: patient ``pid``,
    log-activity ``w``, static share ``keep`` ``(A, M)``, rater factor ``e``; in blocks of
    :data:`_ROWS` rows, coefficients → float32 GEMMs per area and block of cells → depths and
    counts, holding no GIL. ``kernel`` (:func:`_kernel_args`): ``patients`` (r, tone, scale,
    e0, ec, h1000), ``static`` ``(A, N, n)``, ``blocks`` (table,
    its columns of the blocked segments, w0, dw), ``areas`` (gemm by blocks of cells, acoef,
    tcoef, n, counts, qn, total count), ``modes`` (projection ``(A, K + 2, r)``, modes by blocks
    of cells ``(A, n_blocks, r, 3 CELL_BLOCK)``; ``r`` = 0: the full GEMM).

    Each row's strains are formed one block of cells at a time (deepest first: the cell order of
    :class:`FusedAreas`) and its counts below the thresholds tallied; a row leaves once the side
    of each threshold is known whatever its unseen cells hold (:func:`_known`), so the grade is
    that of every cell's count."""
    pid, w, keep, e = rows
    patients, static, blocks, thr, areas, modes = kernel
    r, tone, scale, e0, ec, h1000 = patients
    table, cols, w0, dw = blocks
    gemm_blocks, acoef, tcoef, n_cells, counts, qn, total = areas
    proj, mode_blocks = modes
    n_a, n_blocks, k2, w3 = gemm_blocks.shape
    nb_ = w3 // 3
    rank = proj.shape[2]
    width = rank if rank else k2
    t0, t1, t2 = thr[0], thr[1], thr[2]
    coef = np.empty((_ROWS, k2), dtype=np.float32)
    amp = np.empty((_ROWS, max(rank, 1)), dtype=np.float32)
    packed = np.empty((_ROWS, width), dtype=np.float32)
    strain = np.empty((_ROWS, w3), dtype=np.float32)
    dep = np.empty(nb_, dtype=np.float32)
    below = np.zeros((_ROWS, 3), dtype=np.int64)
    seen = np.zeros(_ROWS, dtype=np.int64)
    live = np.empty(_ROWS, dtype=np.int64)
    for lo in range(0, len(pid), _ROWS):
        hi = min(lo + _ROWS, len(pid))
        m = hi - lo
        c = coef[:m]
        for a in range(n_a):
            _coefs(pid[lo:hi], w[lo:hi], r, tone, table, cols, w0, dw, acoef[a], tcoef[a], c)
            if rank:
                z = amp[:m]
                np.dot(c, proj[a], z)
                basis = mode_blocks[a]
            else:
                z = c
                basis = gemm_blocks[a]
            below[:m] = 0
            seen[:m] = 0
            n_live = 0
            for i in range(m):
                if grades[lo + i] < 3:  # a row severe in another area needs no more
                    live[n_live] = i
                    n_live += 1
            for b in range(n_blocks):
                j0 = b * nb_
                if j0 >= n_cells[a] or n_live == 0:
                    break
                n = min(nb_, n_cells[a] - j0)
                src = z
                if n_live < m:
                    for ii in range(n_live):
                        packed[ii] = z[live[ii]]
                    src = packed[:n_live]
                s = strain[:n_live]
                np.dot(src, basis[b], s)
                kept = 0
                for ii in range(n_live):
                    i = live[ii]
                    row = lo + i
                    p = pid[row]
                    _depths_inline(
                        s[ii].reshape(3, nb_),
                        n,
                        scale[p],
                        e0[a, p],
                        ec[a, p],
                        h1000[a, p],
                        static[a, p, j0 : j0 + n],
                        keep[a, row],
                        dep,
                    )
                    seen[i] += _tally(dep, n, counts[a, j0 : j0 + n], e[row], t0, t1, t2, below[i])
                    if not _known(below[i], total[a] - seen[i], qn[a], grades[row]):
                        live[kept] = i
                        kept += 1
                n_live = kept
            for i in range(m):
                rest = total[a] - seen[i]
                g = 0
                for k in range(3):
                    g += 1 if below[i, k] + rest < qn[a] else 0
                if g > grades[lo + i]:
                    grades[lo + i] = g


def _kernel_args(
    fa: FusedAreas,
    r: NDArray[np.int64],
    tone: Array,
    per_patient: tuple[F32, F32, F32, F32],
    static: F32,
    table: F32 | Array,
    w0: float,
    dw: float,
    thr: Array,
    modes: StrainModes | None,
) -> tuple[Any, Any, Any, Any, Any, Any]:
    """The arguments of :func:`_grade_blocks` after its rows: ``patients``, ``static``,
    ``blocks``, ``thr``, ``areas`` and ``modes`` (empty for the full GEMM)."""
    areas = (fa.gemm_blocks, fa.acoef, fa.tcoef, fa.n, fa.counts, fa.qn, fa.total)
    blocks = (table, np.asarray(fa.segments, dtype=np.int64), float(w0), float(dw))
    if modes is None:
        n_a, n_blocks, k2, w3 = fa.gemm_blocks.shape
        factors = (
            np.zeros((n_a, k2, 0), dtype=np.float32),
            np.zeros((n_a, n_blocks, 0, w3), dtype=np.float32),
        )
    else:
        factors = (modes.projection, modes.blocks)
    return (r, tone, *per_patient), static, blocks, thr, areas, factors


@nb.njit(nogil=True, cache=True)
def _follow_up(w_fol, k_fol, e_fol, b0, stop, kernel, rated):  # type: ignore[no-untyped-def]
    """The follow-up of :func:`treated_grades`, one visit at a time for the patients whose
    durations are not yet known (all with ``stop`` false), through :func:`_grade_blocks`; rated
    grades into ``rated`` ``(N, Tf)``; returns the patient-timepoints evaluated."""
    n, tf = w_fol.shape
    n_a = k_fol.shape[0]
    nm = np.zeros(n, dtype=np.int8)  # 0: not yet none-or-mild, 1: reached, 2: lost again (known)
    base = np.zeros(n, dtype=np.int8)  # the same for "at least one grade better than baseline"
    who = np.empty(n, dtype=np.int64)
    evaluated = 0
    for v in range(tf):
        m = 0
        for i in range(n):
            if not (stop and nm[i] == 2 and base[i] == 2):
                who[m] = i
                m += 1
        if m == 0:
            break
        pid = who[:m].copy()
        w = np.empty(m)
        e = np.empty(m)
        keep = np.empty((n_a, m), dtype=np.float32)
        for j in range(m):
            w[j] = w_fol[pid[j], v]
            e[j] = e_fol[pid[j], v]
            for a in range(n_a):
                keep[a, j] = k_fol[a, pid[j], v]
        g = np.zeros(m, dtype=np.int64)
        _grade_blocks((pid, w, keep, e), kernel, g)
        evaluated += m
        for j in range(m):
            i = pid[j]
            rated[i, v] = g[j]
            if nm[i] == 0 and g[j] <= 1:
                nm[i] = 1
            elif nm[i] == 1 and g[j] >= 2:
                nm[i] = 2
            if base[i] == 0 and g[j] <= b0[i] - 1:
                base[i] = 1
            elif base[i] == 1 and g[j] >= b0[i]:
                base[i] = 2
    return evaluated


@dataclass(frozen=True)
class StrainModes:
    r"""A low-rank form of the strain GEMM of :class:`FusedAreas` for one trial's block tables:
    the strain rows :math:`c\,G` (coefficients :math:`c` ``(K + 2,)``, :data:`FusedAreas.gemm`
    :math:`G` ``(K + 2, 3 n)``) lie close to the span of the ``rank`` leading right singular
    vectors :math:`V_r` of the strains of a sample of the trial's states (proper orthogonal
    decomposition), so :math:`c\,G \approx (c\,G V_r^T)\,V_r` — two GEMMs of width ``rank``
    instead of one of width :math:`K + 2`.

    projection: ``(A, K + 2, rank)`` :math:`G V_r^T`; modes: ``(A, rank, 3 n)`` :math:`V_r`;
    max_error, p99_error: of the states of a check sample drawn apart from the sample the modes
    came from, the largest and the 99th percentile of each state's largest absolute strain error
    (any cell, component and area); tolerance: the largest error allowed on the fitting sample
    (``rank`` is the least that meets it)."""

    projection: F32
    modes: F32
    rank: int
    max_error: float
    p99_error: float
    tolerance: float

    @cached_property
    def blocks(self) -> F32:
        """The modes by blocks of cells ``(A, n_blocks, rank, 3 CELL_BLOCK)`` (:func:`cell_blocks`)."""
        return cell_blocks(self.modes)


def state_coefficients(
    fa: FusedAreas,
    table: F32 | Array,
    w0: float,
    dw: float,
    realisation: NDArray[np.intp],
    w: Array,
    tone: Array,
) -> F32:
    """The rows of the strain GEMM ``(A, M, K + 2)`` of ``M`` states: realisation, log-activity
    ``w`` and tone factor of each (the coefficients :func:`_grade_blocks` builds)."""
    m = len(w)
    out = np.empty((len(fa.n), m, fa.gemm.shape[1]), dtype=np.float32)
    pid = np.arange(m, dtype=np.int64)
    cols = np.asarray(fa.segments, dtype=np.int64)
    args = (
        pid,
        np.ascontiguousarray(w, dtype=np.float64),
        np.ascontiguousarray(realisation, dtype=np.int64),
        np.ascontiguousarray(tone, dtype=np.float64),
        _table(table),
        cols,
        float(w0),
        float(dw),
    )
    for a in range(len(fa.n)):
        _coefs(*args, fa.acoef[a], fa.tcoef[a], out[a])
    return out


def strain_modes(fa: FusedAreas, fit: F32, check: F32, tolerance: float) -> StrainModes:
    r""":class:`StrainModes` of ``fa`` from the coefficient rows of two samples of states ``(A, M,
    K + 2)`` (:func:`state_coefficients`): the modes of ``fit`` (by the eigen-decomposition of its
    Gram matrix :math:`C^T C = Q \Lambda Q^T`, the right singular vectors of :math:`C G` are those
    of :math:`\Lambda^{1/2} Q^T G`), the least rank whose largest strain error on ``fit`` is at
    most ``tolerance`` (the same for every area), the errors measured on ``check``."""
    n_a, k2 = fa.gemm.shape[:2]
    # a sample's strains C G have amplitudes Z = C (G V^T) on the modes V, and their error at rank
    # r is what the modes past r carry: Z[:, r:] V[r:] (no strain field is formed)
    full, tail = [], []  # per area: G V^T and V (float32)
    for a in range(n_a):
        g = fa.gemm[a].astype(np.float64)
        c = fit[a].astype(np.float64)
        lam, q = np.linalg.eigh(c.T @ c)
        _, _, vt = np.linalg.svd(np.sqrt(np.maximum(lam, 0.0))[:, None] * (q.T @ g), full_matrices=False)
        full.append((g @ vt.T).astype(np.float32))
        tail.append(vt.astype(np.float32))

    def worst(sample: F32, rank: int) -> F32:
        """Each state's largest strain error over the areas' cells and components at ``rank``."""
        per_state = np.zeros(sample.shape[1], dtype=np.float32)
        for a in range(n_a):
            residual = (sample[a] @ full[a][:, rank:]) @ tail[a][rank:]
            np.maximum(per_state, np.abs(residual, out=residual).max(axis=1), out=per_state)
        return per_state

    lo, hi = 0, k2  # the least rank meeting the tolerance lies in (lo, hi]: errors fall with rank
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if worst(fit, mid).max() <= tolerance else (mid, hi)
    rank = hi
    err = worst(check, rank)
    return StrainModes(
        np.ascontiguousarray(np.stack([f[:, :rank] for f in full])),
        np.ascontiguousarray(np.stack([v[:rank] for v in tail])),
        rank,
        float(err.max()),
        float(np.percentile(err, 99)),
        float(tolerance),
    )


def treated_grades(
    fa: FusedAreas,
    r: NDArray[np.intp],
    tone: Array,
    scale: Array,
    buckling: tuple[Array, Array, Array],
    static: F32,
    table: F32 | Array,
    w0: float,
    dw: float,
    thresholds: tuple[float, float, float],
    visits: tuple[Array, Array, Array],
    follow: tuple[Array, Array, Array],
    baseline: NDArray[np.intp],
    stop: bool = True,
    modes: StrainModes | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """Rated grades of treated patients at their visits ``(N, Tv)`` and follow-up visits
    ``(N, Tf)``, and the number of patient-timepoints evaluated.

    ``r``: each patient's realisation; ``tone``, ``scale``: ``(N,)``; ``buckling``: film thickness
    (mm), critical strain and pre-strain ``(A, N)``; ``static``: ``(A, N, n)`` etched depths;
    ``table``: the block tables ``(R, n_w, n_seg)`` on ``w0 + g dw`` (the kernels read the columns
    of the blocked segments, ``fa.segments``);
    ``visits``/``follow``: (log-activity ``w`` ``(N, T)``, eased share ``(A, N, T)``, rater factor
    ``(N, T)``); ``baseline``: the baseline ratings. ``stop``: end the follow-up once both
    durations are known (module docstring). ``modes``: the strains through these
    (:class:`StrainModes`) instead of the full GEMM."""
    h, ec, e0 = buckling
    n, tv = visits[0].shape
    tf = follow[0].shape[1]
    per_patient = (
        np.ascontiguousarray(scale, dtype=np.float32),
        np.ascontiguousarray(e0, dtype=np.float32),
        np.ascontiguousarray(ec, dtype=np.float32),
        np.ascontiguousarray((1000.0 * np.asarray(h, dtype=np.float64)).astype(np.float32)),
    )
    kernel = _kernel_args(
        fa,
        np.ascontiguousarray(r, dtype=np.int64),
        np.ascontiguousarray(tone, dtype=np.float64),
        per_patient,
        np.ascontiguousarray(static, dtype=np.float32),
        _table(table),
        float(w0),
        float(dw),
        np.asarray(thresholds, dtype=np.float64),
        modes,
    )

    def keep(ease: Array) -> F32:
        return np.ascontiguousarray(np.float32(1.0) - np.asarray(ease, dtype=np.float32))

    # the visits: every patient at every visit, rows patient-major
    pid = np.repeat(np.arange(n, dtype=np.int64), tv)
    rated_vis = np.zeros(n * tv, dtype=np.int64)
    rows = (pid, np.ascontiguousarray(visits[0].reshape(-1)), keep(visits[1]).reshape(len(fa.n), -1))
    _grade_blocks((*rows, np.ascontiguousarray(visits[2].reshape(-1))), kernel, rated_vis)
    # the follow-up, one visit at a time for the patients whose durations are not yet known
    rated_fol = np.full((n, tf), 3, dtype=np.int64)
    evaluated = _follow_up(
        np.ascontiguousarray(follow[0], dtype=np.float64),
        keep(follow[1]),
        np.ascontiguousarray(follow[2], dtype=np.float64),
        np.asarray(baseline, dtype=np.int64),
        stop,
        kernel,
        rated_fol,
    )
    return rated_vis.reshape(n, tv), rated_fol, n * tv + evaluated


@nb.njit(nogil=True, cache=True, fastmath=_FM_GRADE)
def _baseline(  # type: ignore[no-untyped-def]
    tone, scale, e0, ec, h1000, rate, s0, st, hab, hab_tone, n_cells, static, dep
):
    r"""The static depth is ``rate`` times the deepest habitual depth, :math:`h\sqrt{\max_k
    x_k}`: the square root and the scale are monotone, so the largest excess gives the deepest
    depth exactly, with one square root instead of one per habitual expression."""
    n_a = s0.shape[0]
    n_h = hab.shape[1]
    n_max = s0.shape[2]
    buf = np.empty((3, n_max), dtype=np.float32)
    m = np.empty(n_max, dtype=np.float32)
    one = np.float32(1.0)
    for a in range(n_a):
        n = n_cells[a]
        for p in range(len(tone)):
            t32 = np.float32(tone[p]) - one
            s = scale[p]
            z, x, h = e0[a, p], ec[a, p], h1000[a, p]
            m[:n] = 0.0
            for k in range(n_h):
                for j in range(n):
                    excess = _excess(
                        hab[a, k, 0, j] + t32 * hab_tone[a, k, 0, j],
                        hab[a, k, 1, j] + t32 * hab_tone[a, k, 1, j],
                        hab[a, k, 2, j] + t32 * hab_tone[a, k, 2, j],
                        s,
                        z,
                        x,
                    )
                    m[j] = max(m[j], excess)
            rr = rate[p]
            for j in range(n):
                static[a, p, j] = rr * (np.sqrt(m[j]) * h)
            tm1 = np.float32(tone[p] - 1.0)
            for c in range(3):
                for j in range(n):
                    buf[c, j] = s0[a, c, j] + tm1 * st[a, c, j]
            _depths_grade(buf, n, s, z, x, h, static[a, p], one, dep[a, p])


def baseline_depths(
    fa: FusedAreas,
    tone: Array,
    scale: Array,
    buckling: tuple[Array, Array, Array],
    rate: Array,
) -> tuple[F32, F32]:
    """Static depths ``(A, N, n)`` and cell depths ``(A, N, n)`` of untreated patients at each
    area's expression (:func:`rhytid._kernels.static_depth` and the cells of
    :func:`rhytid._kernels.area_depth` with no block); grade them with :func:`baseline_grades`."""
    h, ec, e0 = buckling
    n = len(tone)
    shape = (fa.s0.shape[0], n, fa.s0.shape[2])
    static = np.zeros(shape, dtype=np.float32)
    dep = np.zeros(shape, dtype=np.float32)
    _baseline(
        np.ascontiguousarray(tone, dtype=np.float64),
        np.ascontiguousarray(scale, dtype=np.float32),
        np.ascontiguousarray(e0, dtype=np.float32),
        np.ascontiguousarray(ec, dtype=np.float32),
        np.ascontiguousarray((1000.0 * np.asarray(h, dtype=np.float64)).astype(np.float32)),
        np.ascontiguousarray(rate, dtype=np.float32),
        fa.s0,
        fa.st,
        fa.hab,
        fa.hab_tone,
        fa.n,
        static,
        dep,
    )
    return static, dep


def baseline_grades(
    fa: FusedAreas, dep: F32, factor: Array, thresholds: tuple[float, float, float]
) -> NDArray[np.int64]:
    """Rated grade of cell depths ``(A, N, n)`` times ``factor`` ``(N, ...)`` (one column per
    visit): the largest over the areas, ``factor``'s shape."""
    f = np.asarray(factor, dtype=np.float64)
    flat = np.ascontiguousarray(f.reshape(f.shape[0], -1))
    out = np.zeros(flat.shape, dtype=np.int64)
    for a in range(dep.shape[0]):
        n = int(fa.n[a])
        counts = np.ascontiguousarray(fa.counts[a, :n])
        _grade_counts(
            np.ascontiguousarray(dep[a]),
            n,
            counts,
            _qn(fa.q, counts),
            flat,
            np.asarray(thresholds, dtype=np.float64),
            out,
        )
    return out.reshape(f.shape)


@nb.njit(nogil=True, cache=True, fastmath=_FM_GRADE)
def _grade_counts(d, n, counts, qn, e, thr, out):  # type: ignore[no-untyped-def]
    """``out[m, v]`` keeps the larger of itself and the grade of ``e[m, v] ×`` row ``m`` of the
    depths ``d[:, :n]`` by counts (each row read once for all its factors)."""
    t = np.full(3, np.inf)
    t[: len(thr)] = thr
    below = np.zeros(3, dtype=np.int64)
    for m in range(d.shape[0]):
        for v in range(e.shape[1]):
            # a missing threshold (fewer than 3) counts every cell below it, so never adds a grade
            below[:] = 0
            _tally(d[m], n, counts, e[m, v], t[0], t[1], t[2], below)
            g = (1 if below[0] < qn else 0) + (1 if below[1] < qn else 0) + (1 if below[2] < qn else 0)
            if g > out[m, v]:
                out[m, v] = g


def grade_by_counts(
    depth: NDArray[np.floating],
    counts: NDArray[np.int64],
    q: float,
    factor: Array,
    thresholds: tuple[float, ...],
) -> NDArray[np.int64]:
    """Grade of ``factor × (weighted q-th percentile of each row of depth)`` at ``thresholds``
    (increasing) by weighted counts below each threshold, without the percentile (module
    docstring): ``(M,)`` for cell depths ``(M, n)``, cluster counts ``(n,)``, factors ``(M,)``."""
    if len(thresholds) > 3:
        raise ValueError("at most 3 thresholds (the Facial Wrinkle Scale)")
    d = np.ascontiguousarray(depth)
    out = np.zeros((d.shape[0], 1), dtype=np.int64)
    _grade_counts(
        d,
        d.shape[1],
        np.ascontiguousarray(counts, dtype=np.int64),
        _qn(q, counts),
        np.ascontiguousarray(np.broadcast_to(factor, d.shape[:1]), dtype=np.float64)[:, None],
        np.asarray(thresholds, dtype=np.float64),
        out,
    )
    return out[:, 0]


@nb.njit(nogil=True, cache=True, inline="always")
def _bolus_constants(units, a, kappa):  # type: ignore[no-untyped-def]
    """The screened-diffusion bolus of ``units`` in a sphere of radius ``a`` (mm), screening
    ``kappa`` (1/mm): the uniform density ``pref`` = 3 U / (4 pi a^3) and the coefficients of the
    outer (``outer`` e^(-kd)/d) and inner (pref (1 - ``inner`` sinh(kd)/(kd))) solutions."""
    ka = kappa * a
    pref = 3.0 * units / (4.0 * np.pi * a**3)
    outer = pref / kappa * (ka * np.cosh(ka) - np.sinh(ka))
    inner = (1.0 + ka) * np.exp(-ka)
    return pref, outer, inner


@nb.njit(nogil=True, cache=True, fastmath=_FM)
def _bound_uptake(xy, depth, units, radius, px, py, pz, trans, kappa, cap, out):  # type: ignore[no-untyped-def]
    n_r, n_i = depth.shape
    n_p = len(px)
    for r in range(n_r):
        q = out[r]
        q[:] = 0.0
        for i in range(n_i):
            x0, y0, z0 = xy[r, i, 0], xy[r, i, 1], depth[r, i]
            a = radius[r, i]
            pref, outer, inner = _bolus_constants(units[i], a, kappa)
            for p in range(n_p):
                dx = px[p] - x0
                dy = py[p] - y0
                dz = pz[p] - z0
                d = max(np.sqrt(dx * dx + dy * dy + dz * dz), 1e-9)
                kd = kappa * d
                ekd = np.exp(-kd)  # one exponential: sinh(kd) = (1/ekd - ekd)/2 inside the bolus
                v = pref * (1.0 - inner * (0.5 * (1.0 / ekd - ekd)) / kd) if d < a else outer * (ekd / d)
                q[p] += v * trans[p]
        for p in range(n_p):
            q[p] = q[p] / (1.0 + max(q[p], 0.0) / cap)


def bound_uptake(
    xy: Array,
    depth_mm: Array,
    units_ona: Array,
    radius_mm: Array,
    points_xy: Array,
    points_depth_mm: Array,
    transmission: Array,
    length_mm: float,
    capacity_u_per_mm3: float,
) -> Array:
    """Bound uptake density ``(R, P)`` of ``R`` realisations of one day's injections (positions
    ``(R, I, 2)``, depths and bolus radii ``(R, I)``, units ``(I,)``) at the points: the summed
    :func:`rhytid.toxin.uptake_density` × septum ``transmission``, bound as
    :func:`rhytid.toxin.bound_uptake` — :func:`rhytid._kernels.injection_uptake` summed over the
    injections of one day, in one pass."""
    n_r = depth_mm.shape[0]
    out = np.empty((n_r, len(points_xy)))
    _bound_uptake(
        np.ascontiguousarray(xy, dtype=np.float64),
        np.ascontiguousarray(depth_mm, dtype=np.float64),
        np.ascontiguousarray(units_ona, dtype=np.float64),
        np.ascontiguousarray(radius_mm, dtype=np.float64),
        np.ascontiguousarray(points_xy[:, 0], dtype=np.float64),
        np.ascontiguousarray(points_xy[:, 1], dtype=np.float64),
        np.ascontiguousarray(points_depth_mm, dtype=np.float64),
        np.ascontiguousarray(transmission, dtype=np.float64),
        1.0 / float(length_mm),
        float(capacity_u_per_mm3),
        out,
    )
    return out


@nb.njit(nogil=True, cache=True)
def _deposit(lq, lo, dw, n_q, indptr, indices, data, mass):  # type: ignore[no-untyped-def]
    n_r, n_p = lq.shape
    top = n_q - 1.000001
    for r in range(n_r):
        m = mass[r]
        for p in range(n_p):
            f = (lq[r, p] - lo) / dw
            if not f >= 0.0:  # below the table (or no uptake, ln 0): blocks nothing
                continue
            f = min(f, top)
            k = int(f)
            f = f - k
            for e in range(indptr[p], indptr[p + 1]):
                s = indices[e]
                w = data[e]
                m[s, k] += w * (1.0 - f)
                m[s, k + 1] += w * f


def deposit_mass(
    lq: Array,
    lo: float,
    dw: float,
    n_q: int,
    indptr: NDArray[np.int32],
    indices: NDArray[np.int32],
    data: Array,
    n_seg: int,
) -> Array:
    """Endplate mass ``(R, n_seg, n_q)`` on the log-uptake bins ``lo + k dw``: point ``p`` of
    realisation ``r`` lies at bin :math:`(\\ln Q_{rp} - lo)/dw` (``lq`` = :math:`\\ln Q`,
    ``(R, P)``; below the first bin: not deposited; beyond the last: in it) and carries the sparse
    endplate weights (CSR ``indptr``, ``indices``, ``data``, a row per point) of its segments,
    split linearly between the two neighbouring bins
    (:meth:`rhytid.trial._engine.BlockTables.build`)."""
    mass = np.zeros((lq.shape[0], n_seg, n_q))
    _deposit(
        np.ascontiguousarray(lq, dtype=np.float64),
        float(lo),
        float(dw),
        int(n_q),
        indptr,
        indices,
        np.ascontiguousarray(data, dtype=np.float64),
        mass,
    )
    return mass


@nb.njit(nogil=True, cache=True)
def _cell_depths(strain, scale, e0, ec, h1000, static, keep, out):  # type: ignore[no-untyped-def]
    n = strain.shape[2]
    for i in range(strain.shape[0]):
        # per-row values of length 1 stand for every row (a batch of one patient)
        st = static[0] if static.shape[0] == 1 else static[i]
        r = 0 if len(scale) == 1 else i
        _depths(strain[i], n, scale[r], e0[r], ec[r], h1000[r], st, keep[i], out[i])


@nb.njit(nogil=True, cache=True)
def _percentile_rows(d, lo, hi, frac, out):  # type: ignore[no-untyped-def]
    """``numpy.percentile`` (linear) of each row from its order statistics ``lo`` and ``hi``
    (``hi`` = ``lo`` + 1, or ``lo`` at the end): with a pivot from a sorted sample, the cells
    below it are counted, those equal to it counted, and only those above it gathered and
    partitioned (all of the row when the pivot lies above the ``lo``-th)."""
    n = d.shape[1]
    step = max(n // 256, 1)
    buf = np.empty(n, dtype=d.dtype)
    for i in range(d.shape[0]):
        x = d[i]
        sample = np.sort(x[::step])
        pivot = sample[max(int(len(sample) * lo / n) - 8, 0)]
        below = 0
        equal = 0
        m = 0
        for v in x:
            if v < pivot:
                below += 1
            elif v == pivot:
                equal += 1
            else:
                buf[m] = v
                m += 1
        if below > lo:  # the pivot lies above the lo-th order statistic: the whole row
            part = np.partition(x, lo)
            a = np.float64(part[lo])
            b = np.float64(part[lo + 1 :].min()) if hi > lo else a
        elif lo < below + equal:  # the lo-th is the pivot
            a = np.float64(pivot)
            b = a if hi == lo or hi < below + equal else np.float64(buf[:m].min())
        else:
            k = lo - below - equal
            part = np.partition(buf[:m], k)
            a = np.float64(part[k])
            b = np.float64(part[k + 1 :].min()) if hi > lo else a
        out[i] = a + (b - a) * frac


def cell_depths(
    strain: F32, scale: Array, h: Array, ec: Array, e0: Array, static: F32, eased: Array | None
) -> F32:
    """Depth (µm, float32) of every cell ``(M, n)`` for strains ``(M, 3, n)``: the arithmetic of
    :func:`rhytid._kernels.area_depth` (bit for bit) in one pass instead of a dozen."""
    m = strain.shape[0]
    out = np.empty((m, strain.shape[2]), dtype=np.float32)
    keep = (
        np.ones(m, dtype=np.float32)
        if eased is None
        else np.float32(1.0) - np.asarray(eased, dtype=np.float32).reshape(m)
    )

    def rows(x: Array) -> F32:
        return np.ascontiguousarray(np.asarray(x).astype(np.float32).reshape(-1))

    st = np.asarray(static, dtype=np.float32)
    _cell_depths(
        np.ascontiguousarray(strain, dtype=np.float32),
        rows(np.asarray(scale, dtype=np.float32)),
        rows(np.asarray(e0, dtype=np.float64)),
        rows(np.asarray(ec, dtype=np.float64)),
        rows(1000.0 * np.asarray(h, dtype=np.float64)),
        np.ascontiguousarray(st if st.shape[0] == 1 else np.broadcast_to(st, (m, strain.shape[2]))),
        np.ascontiguousarray(keep),
        out,
    )
    return out


def percentile_rows(d: F32, q: float) -> Array:
    """:func:`numpy.percentile` (linear interpolation) of each row of ``d`` ``(M, n)``, by
    selection (the same two order statistics, the same interpolation as
    :func:`rhytid._kernels.percentile`)."""
    n = d.shape[-1]
    k = q / 100.0 * (n - 1)
    lo = int(np.floor(k))
    hi = min(lo + 1, n - 1)
    out = np.empty(d.shape[0])
    _percentile_rows(np.ascontiguousarray(d), lo, hi, k - lo, out)
    return out


def weighted_percentile_rows(d: F32, counts: NDArray[np.int64], q: float) -> Array:
    """The smallest value of each row of ``d`` ``(M, n)`` whose cells at or below it hold at least
    ``q`` % of the integer cluster ``counts`` ``(n,)`` — the weighted percentile of
    :func:`rhytid._kernels.percentile`, by a weighted quickselect of each row in one numba pass
    (expected O(n) per row; ties give the same value in any order)."""
    c = np.ascontiguousarray(counts, dtype=np.int64)
    out = np.empty(d.shape[0])
    _weighted_rows(np.ascontiguousarray(d), c, q / 100.0 * float(np.sum(c)), out)
    return out


@nb.njit(nogil=True, cache=True)
def _weighted_rows(d, counts, target, out):  # type: ignore[no-untyped-def]
    n = d.shape[1]
    vals = np.empty(n, dtype=d.dtype)
    wts = np.empty(n, dtype=np.int64)
    for i in range(d.shape[0]):
        vals[:] = d[i]
        wts[:] = counts
        out[i] = _weighted_select(vals, wts, n, target)


@nb.njit(nogil=True, cache=True)
def _weighted_select(vals, wts, n, target):  # type: ignore[no-untyped-def]
    """Weighted quickselect in place: the smallest value of ``vals[:n]`` whose ``wts`` at or below it
    reach ``target`` (the largest value when none does). Three-way partitions around a median of
    three, so equal depths (the many cells at zero) are settled in one pass; expected O(n)."""
    lo, hi = 0, n  # the answer lies in vals[lo:hi]; ``target`` counts from lo
    while hi - lo > 1:
        a, b, c = vals[lo], vals[(lo + hi) // 2], vals[hi - 1]
        pivot = max(min(a, b), min(max(a, b), c))
        # [lo, lt) < pivot, [lt, j) == pivot, (gt, hi) > pivot
        lt, j, gt = lo, lo, hi - 1
        below, equal = 0, 0
        while j <= gt:
            v = vals[j]
            if v < pivot:
                vals[lt], vals[j] = v, vals[lt]
                wts[lt], wts[j] = wts[j], wts[lt]
                below += wts[lt]
                lt += 1
                j += 1
            elif v > pivot:
                vals[gt], vals[j] = v, vals[gt]
                wts[gt], wts[j] = wts[j], wts[gt]
                gt -= 1
            else:
                equal += wts[j]
                j += 1
        if below >= target and lt > lo:
            hi = lt
        elif below + equal >= target or gt + 1 >= hi:
            return pivot
        else:
            target -= below + equal
            lo = gt + 1
    return vals[lo]


@nb.njit(nogil=True, cache=True)
def _uptake_rows(xy, depth, units, radius, px, py, pz, trans, kappa, out):  # type: ignore[no-untyped-def]
    n_r, n_i = depth.shape
    for r in range(n_r):
        for i in range(n_i):
            x0, y0, z0 = xy[r, i, 0], xy[r, i, 1], depth[r, i]
            a = radius[r, i]
            pref, outer, inner = _bolus_constants(units[i], a, kappa)
            q = out[r, i]
            for p in range(len(px)):
                dx = px[p] - x0
                dy = py[p] - y0
                dz = pz[p] - z0
                d = max(np.sqrt(dx * dx + dy * dy + dz * dz), 1e-9)
                kd = kappa * d
                v = pref * (1.0 - inner * np.sinh(kd) / kd) if d < a else outer * (np.exp(-kd) / d)
                q[p] = v * trans[p]


def uptake_rows(
    xy: Array,
    depth_mm: Array,
    units_ona: Array,
    radius_mm: Array,
    points_xy: Array,
    points_depth_mm: Array,
    transmission: Array,
    length_mm: float,
) -> Array:
    """Unbound uptake density ``(R, I, P)`` of each injection at each point × the septum
    ``transmission`` (:func:`rhytid.toxin.uptake_density`; the first step of
    :func:`rhytid._kernels.injection_uptake`) in one pass."""
    n_r, n_i = depth_mm.shape
    out = np.empty((n_r, n_i, len(points_xy)))
    _uptake_rows(
        np.ascontiguousarray(xy, dtype=np.float64),
        np.ascontiguousarray(depth_mm, dtype=np.float64),
        np.ascontiguousarray(units_ona, dtype=np.float64),
        np.ascontiguousarray(radius_mm, dtype=np.float64),
        np.ascontiguousarray(points_xy[:, 0], dtype=np.float64),
        np.ascontiguousarray(points_xy[:, 1], dtype=np.float64),
        np.ascontiguousarray(points_depth_mm, dtype=np.float64),
        np.ascontiguousarray(np.broadcast_to(transmission, (len(points_xy),)), dtype=np.float64),
        1.0 / float(length_mm),
        out,
    )
    return out


@nb.njit(nogil=True, cache=True)
def _eased(r, kr, log_sens, k, log_ec50, folds, w0, dw, grid, steps, decay, tau, e_max, days, out):  # type: ignore[no-untyped-def]
    n_w = folds.shape[1]
    n_g = len(grid)
    w = np.empty(n_g)
    relaxed = np.empty(n_g)
    eased = np.zeros(n_g)
    step = grid[1] - grid[0]
    top = n_g - 1.000001
    for p in range(len(r)):
        for g in range(n_g):
            w[g] = math.log(active_at(grid[g], k, kr[p])) - log_sens[p] - log_ec50
        for a in range(folds.shape[2]):
            for g in range(n_g):
                g0, frac = _bin(w[g], w0, dw, n_w)
                relaxed[g] = _at(folds, r[p], a, g0, frac)
            relax_row(relaxed, steps, decay, tau, eased)
            for t in range(days.shape[1]):
                d = days[p, t]
                q = min(max(d / step, 0.0), top)
                i = int(q)
                f = q - i
                out[a, p, t] = 0.0 if d < 0 else e_max * (eased[i] * (1.0 - f) + eased[i + 1] * f)


def eased_shares(
    r: NDArray[np.intp],
    recovery_rate: Array,
    sensitivity: Array,
    onset_rate: float,
    ec50: float,
    folds: Array,
    w0: float,
    dw: float,
    grid: Array,
    tau_days: float,
    ease_max: float,
    days: Array,
) -> Array:
    """Eased share of the etched depth ``(A, N, T)`` at ``days`` ``(N, T)`` of patients on
    realisation ``r`` with recovery rates and sensitivities ``(N,)``:
    :meth:`rhytid.trial._engine.FaceModel.static_ease` of each area whose fold relaxation is
    tabulated in ``folds`` ``(R, n_w, A)`` (on ``w0 + g dw``; ``Readouts.folds``), in one pass
    per patient — its log-activity on the relaxation ``grid`` (:func:`rhytid.model.relaxation_grid`,
    uniform), the read-out, :func:`rhytid.tissue.fold_relaxation` and the interpolation at the days
    of :func:`rhytid.model.eased_share` — with no ``(N, G)`` intermediates."""
    n, t = days.shape
    out = np.zeros((folds.shape[2], n, t))
    if len(grid) < 2:
        return out
    steps, decay = relaxation_steps(grid, tau_days)
    _eased(
        np.ascontiguousarray(r, dtype=np.int64),
        np.ascontiguousarray(recovery_rate, dtype=np.float64),
        np.log(np.ascontiguousarray(sensitivity, dtype=np.float64)),
        float(onset_rate),
        math.log(ec50),
        np.ascontiguousarray(folds, dtype=np.float64),
        float(w0),
        float(dw),
        np.ascontiguousarray(grid, dtype=np.float64),
        steps,
        decay,
        float(tau_days),
        float(ease_max),
        np.ascontiguousarray(days, dtype=np.float64),
        out,
    )
    return out


@nb.njit(nogil=True, cache=True)
def _adverse(r, w, table, w0, dw, n_brow, tone, scale, lev_mm, n_vis, droop, drop, block):  # type: ignore[no-untyped-def]
    n_w = table.shape[1]
    for p in range(len(r)):
        tm1 = tone[p] - 1.0
        d_max = -np.inf
        b_max = -np.inf
        for t in range(w.shape[1]):
            g0, frac = _bin(w[p, t], w0, dw, n_w)
            for k in range(n_brow):
                v = _at(table, r[p], k, g0, frac) + tm1 * _at(table, r[p], n_brow + k, g0, frac)
                b_max = max(b_max, scale[p] * v)
            for i in range(len(lev_mm)):
                d_max = max(d_max, lev_mm[i] * _at(table, r[p], 2 * n_brow + 1 + i, g0, frac))
            if t < n_vis:
                block[t] += _at(table, r[p], 2 * n_brow, g0, frac)
        droop[p] = d_max
        drop[p] = b_max


def adverse_and_block(
    r: NDArray[np.intp],
    w: Array,
    readouts: Array,
    w0: float,
    dw: float,
    n_brow: int,
    tone: Array,
    scale: Array,
    levator_mm: Array,
    n_visits: int,
) -> tuple[Array, Array, Array]:
    """For patients on realisation ``r`` at log-activities ``w`` ``(N, T)``, from the read-outs
    of the block tables ``readouts`` ``(R, n_w, F)`` on ``w0 + g dw``
    (:meth:`rhytid.trial._engine.FaceModel.readout_weights`: each brow point's drop per unit scale
    from the rest activation, ``n_brow`` columns, and from the tone, ``n_brow``; the target
    muscles' mean block; the levators' block): the largest lid droop (mm) and brow drop at rest
    (mm) over the days, and the sum over patients of the target muscles' mean block on the first
    ``n_visits`` days — the droop is :math:`E\\,a_{rest}\\,b_{lev}` (``levator_mm`` :math:`=
    E\\,a_{rest}`), the drop :math:`s\\,(D_A + (\\tau - 1) D_T)` with the patient's scale
    :math:`s` and tone :math:`\\tau`."""
    n = len(r)
    droop = np.empty(n)
    drop = np.empty(n)
    block = np.zeros(n_visits)
    _adverse(
        np.ascontiguousarray(r, dtype=np.int64),
        np.ascontiguousarray(w, dtype=np.float64),
        _table(readouts),
        float(w0),
        float(dw),
        int(n_brow),
        np.ascontiguousarray(tone, dtype=np.float64),
        np.ascontiguousarray(scale, dtype=np.float64),
        np.ascontiguousarray(levator_mm, dtype=np.float64),
        int(n_visits),
        droop,
        drop,
        block,
    )
    return droop, drop, block
