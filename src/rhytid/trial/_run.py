r"""Running a virtual trial: screening, randomisation, visits, endpoints, durations, adverse events.

**Chunks.** The ``patients`` randomised are split into chunks of ``chunk_patients``; chunk ``j``
draws everything from its own generator ``default_rng(SeedSequence(seed).spawn(n)[j])``. Chunks
are independent, so they run in threads on one machine or as tasks on a Dask cluster
(``scheduler``) with identical results for the same seed.

**Fused evaluation.** On the reduced cell sets the chunk is evaluated by the fused kernels of
:mod:`rhytid._fused` (numba, GIL released, so the chunk threads run on all cores): every rating
is a grade by weighted counts at the thresholds (equal to grading the weighted percentile), the
placebo arm and the screening are graded from the baseline cell depths, the day of peak block
serves the adverse events only, and a patient's follow-up stops once both durations are known.
``run_chunk(..., fused=False)`` evaluates the same through :func:`rhytid._kernels.area_depth`
(the same results; tested); ``exact`` uses every cell and point, unfused.

**Technique realisations** (:mod:`rhytid.trial._engine`) are drawn per sex and chunk
(``realisations_per_chunk``, split by the sexes' shares). A trial with more chunks than
``_REALISATIONS_MAX`` realisations need draws that many once, from its own seed
(:func:`technique_seed`), and all its chunks share them, their uptake and their block tables
(computed once per process: threads and Dask workers get the same); each chunk still draws its
own, unused, so that its patients and ratings are those of the unshared trial. The sampling error
of the technique on a responder rate is then about ``sqrt(0.0035 / 2048)`` = 0.0013 (the variance
of a patient's day-30 response between realisations, measured, over the realisations). The
strains of such a trial run through the strain modes of its shared tables
(:class:`rhytid._fused.StrainModes`, fitted once with the tables to a sample of their states,
within ``strain_mode_tolerance``; ``benchmarks/bench_reduced.py`` prints their error and what
they change in the rates).

**Per chunk.** Candidates
are drawn (:mod:`rhytid.trial._population`) and rated at maximum contraction at baseline;
those rated moderate or severe (grade ≥ 2) are enrolled until the chunk is full (a batch of
candidates is drawn whole and rated in blocks, in order, until enough are eligible: the same
patients as rating all of it; a chunk that shares the trial's tables screens before it waits for
them); enrolled
patients are randomised 3:1 to toxin or placebo in permuted blocks of four. Placebo is saline in
the same pattern and volume: no toxin, so nothing is blocked and the wrinkles stay as at baseline;
only the rating varies.

**Rating.** The investigator sees the area's depth ``d`` (the largest over the graded areas: both
sides for lateral canthal lines) with multiplicative noise, :math:`d\,e^{\sigma\varepsilon}`, and
grades it with the model's thresholds (:func:`rhytid.tissue.grade_from_depth`). The noise
:math:`\varepsilon = \sqrt{\rho}\,\zeta + \sqrt{1-\rho}\,\eta` is standard normal: a part
:math:`\zeta` that stays with the patient from screening to the last visit (the same investigator
sees the same face the same way; share ``rater_persistent_share`` :math:`\rho` of the variance)
and a part :math:`\eta` new at every visit.

**Endpoints** at each visit, per arm, with Wilson 95 % intervals: ``none_or_mild`` (rated grade
0 or 1), ``improve1`` / ``improve2`` (rated at least 1 / 2 grades better than the baseline rating).

**Durations** (treated patients) are read as the duration trials read them: at follow-up visits
scheduled every ``duration_follow_up_days`` (4 weeks) up to ``duration_horizon_days``, each held
on a day drawn uniformly within ``visit_window_days`` of its schedule, on the investigator's rating
(with its noise, as at the other visits); a duration ends at the first visit at which the response
is lost, and a patient still responding at the last visit counts at the horizon:

* ``median_days_none_or_mild`` — among treated patients rated none or mild at some follow-up
  visit, the median day of the first later visit rated moderate or worse;
* ``median_days_to_baseline`` — among treated patients rated at least one grade better than their
  baseline rating at some follow-up visit, the median day of the first later visit rated at or
  above the baseline rating.

**Adverse events** arise from the mechanism (treated and placebo, with Wilson intervals):
``eyelid_ptosis`` — the upper lid droops (the model's :func:`~rhytid.model.lid_lift_mm`) by at
least the ``ptosis_level`` threshold of ``tissue.yaml risk.eyelid_droop_mm`` on either side at
the day of peak block or any visit; ``brow_ptosis`` — a brow point at rest drops by at least the
``brow_ptosis_level`` threshold of ``risk.brow_drop_mm``, at the same days.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from rhytid._fused import (
    BLOCKED,
    StrainModes,
    baseline_depths,
    baseline_grades,
    state_coefficients,
    strain_modes,
    treated_grades,
)
from rhytid._version import __version__
from rhytid.errors import TrialError
from rhytid.tissue import grade_from_depth
from rhytid.toxin import active_fraction, peak_active_day
from rhytid.toxin._kinetics import onset_rate
from rhytid.trial._design import TrialDesign
from rhytid.trial._engine import (
    BlockTables,
    FaceModel,
    Pattern,
    Readouts,
    Technique,
    draw_technique,
    face_model,
)
from rhytid.trial._params import TrialParameters
from rhytid.trial._population import Population, draw_population

__all__ = [
    "ChunkResult",
    "TrialResult",
    "durations",
    "follow_up_days",
    "median_ci",
    "run_chunk",
    "run_trial",
    "wilson",
]

Array = NDArray[np.float64]
SEXES = ("female", "male")
_Z95 = 1.959963984540054
_MAX_SCREENING_ROUNDS = 60
#: candidates evaluated at a time at screening (a batch stops once enough are eligible)
_SCREENING_BLOCK = 512


def median_ci(values: Array, z: float = _Z95) -> list[float] | None:
    r"""Distribution-free 95 % interval of a median (days, rounded): the order statistics
    :math:`x_{(j)}, x_{(k)}` with :math:`j, k = n/2 \mp z\sqrt{n}/2` (normal approximation to the
    binomial count below the median); ``None`` without values."""
    n = len(values)
    if not n:
        return None
    x = np.sort(values)
    half = z * math.sqrt(n) / 2.0
    j = max(math.floor(n / 2.0 - half), 0)
    k = min(math.ceil(n / 2.0 + half), n - 1)
    return [float(round(x[j])), float(round(x[k]))]


def wilson(k: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class ChunkResult:
    """Counts and per-patient durations of one chunk (summed/concatenated across chunks)."""

    n_arm: NDArray[np.int64]  # (2,): placebo, treated
    none_or_mild: NDArray[np.int64]  # (2, T)
    improve1: NDArray[np.int64]
    improve2: NDArray[np.int64]
    eyelid_ptosis: NDArray[np.int64]  # (2,)
    brow_ptosis: NDArray[np.int64]
    days_none_or_mild: Array
    days_to_baseline: Array
    screened: int
    baseline_grades: NDArray[np.int64]  # (4,) rated baseline grades of the enrolled
    mean_block: Array  # (T,) mean block of the graded areas' target muscles, treated
    #: duration follow-up visits held (treated; a patient's end once both durations are known)
    follow_up_visits: int = 0


@dataclass
class _Group:
    """The enrolled patients of one sex in a chunk."""

    sex: str
    index: NDArray[np.intp]
    pop: Population
    static: list[NDArray[np.float32]]
    baseline: Array  # noise-free baseline depth (µm)
    rated0: NDArray[np.intp]


def _area_depths(
    fm: FaceModel,
    pop: Population,
    seg: Array,
    static: list[NDArray[np.float32]],
    tp: TrialParameters,
    ease: list[Array] | None = None,
) -> Array:
    """Depth of the graded area(s) at maximum contraction: the largest over the areas, ``(N, T)``;
    ``ease``: the eased share of each area's etched depth ``(N, T)`` (none before treatment)."""
    eases: list[Array | None] = list(ease) if ease is not None else [None] * len(fm.areas)
    out = fm.area_depth(fm.areas[0], pop, seg, static[0], tp, ease=eases[0])
    for area, st, e in zip(fm.areas[1:], static[1:], eases[1:], strict=True):
        out = np.maximum(out, fm.area_depth(area, pop, seg, st, tp, ease=e))
    return out


def _log_active(t: Array, onset: float, kr: Array, sens: Array, ec50: float) -> Array:
    """``w = ln(a(t) / (σ EC50))`` (−inf before treatment)."""
    a = active_fraction(t, onset, kr)
    with np.errstate(divide="ignore"):
        return np.asarray(np.log(a) - np.log(sens)[..., None] - math.log(ec50))


@dataclass(frozen=True)
class _Toxin:
    """The technique realisations of a trial for one sex, their bound uptake ``q`` ``(R, P)``
    (exact only), block tables up to ``w_max``, the segments they block (``blocked``), the
    tables' read-outs and the strain modes of their states (none when exact)."""

    techs: Technique
    q: Array | None
    tables: BlockTables | None
    w_max: float
    blocked: NDArray[np.intp] | None
    readouts: Readouts | None = None
    modes: StrainModes | None = None


#: states in each of the two samples the strain modes are fitted to and checked on (at least one
#: per realisation)
_MODE_STATES = 4096


def _strain_modes(
    fm: FaceModel,
    tables: BlockTables,
    blocked: NDArray[np.intp],
    tp: TrialParameters,
    w_max: float,
    rng: np.random.Generator,
) -> StrainModes | None:
    """Strain modes of a trial's shared block tables (:class:`rhytid._fused.StrainModes`; none
    when ``strain_mode_tolerance`` is 0 or needs nearly every row of the GEMM), fitted to one
    sample of states and checked on another: :data:`_MODE_STATES` states spread evenly over the
    realisations, at log-activities uniform over the tables' grid (from no block to the least
    sensitive patient's), with tone factors of the population."""
    if tp.strain_mode_tolerance <= 0:
        return None
    fa = fm.fused(blocked, tp.tissue)
    n_r, n_w = tables.table.shape[:2]
    span = min(w_max - tables.w0, tables.dw * (n_w - 1))
    per = max(round(_MODE_STATES / n_r), 1)
    m = n_r * per
    realisation = np.repeat(np.arange(n_r), per)
    fit, check = (
        state_coefficients(
            fa,
            tables.table,
            tables.w0,
            tables.dw,
            realisation,
            tables.w0 + span * rng.random(m),
            draw_population(rng, m, tp.population, tp.tissue.reference_age).tone,
        )
        for _ in range(2)
    )
    with _blas_threads(1):  # the modes do not depend on the BLAS's thread count (its sum order)
        modes = strain_modes(fa, fit, check, tp.strain_mode_tolerance)
    # two GEMMs of width r cost r (K + 2 + 3 n) against (K + 2) 3 n for one: fewer modes pay
    return modes if modes.rank < fa.gemm.shape[1] - 1 else None


_TOXIN: dict[tuple[object, ...], _Toxin] = {}
_TOXIN_LOCK = threading.Lock()
_BUILDING: dict[tuple[object, ...], threading.Lock] = {}  # the lock of each key being built
_TECHNIQUE_KEY = 2**31 - 1  # spawn key of the technique's seed: no chunk has this index
_W_MAX_SD = 6.5  # shared tables reach a sensitivity this many SD of ln σ below the median
#: model choice: technique realisations of a trial at most (realisations_per_chunk per chunk up to
#: this): their sampling error of a responder rate, about sqrt(0.0035 / 2048) = 0.0013, stays below
#: the patients' binomial error up to ~100,000 patients
_REALISATIONS_MAX = 2048


def technique_seed(seed: int) -> np.random.SeedSequence:
    """The seed of a trial's technique realisations (shared by all its chunks)."""
    return np.random.SeedSequence(seed, spawn_key=(_TECHNIQUE_KEY,))


def trial_realisations(design: TrialDesign, tp: TrialParameters, sex: str) -> int:
    """Technique realisations of the trial for ``sex``: ``realisations_per_chunk`` per chunk, at
    most :data:`_REALISATIONS_MAX` in all, split by the sexes' shares (at least 16 each)."""
    pp = tp.population
    n_chunks = len(chunk_sizes(design.patients, tp.chunk_patients))
    total = min(pp.realisations * n_chunks, max(pp.realisations, _REALISATIONS_MAX))
    share = pp.female_fraction if sex == "female" else 1.0 - pp.female_fraction
    return max(16, round(total * share))


def shares_realisations(design: TrialDesign, tp: TrialParameters) -> bool:
    """Whether the trial's chunks share one set of realisations (their own would exceed
    :data:`_REALISATIONS_MAX`)."""
    n_chunks = len(chunk_sizes(design.patients, tp.chunk_patients))
    return tp.population.realisations * n_chunks > _REALISATIONS_MAX


def _toxin_key(design: TrialDesign, tp: TrialParameters, sex: str, exact: bool) -> tuple[object, ...]:
    d = design
    return (d.area, d.product, d.dose_units, d.seed, d.patients, sex, exact, tp.digest())


def _shared_toxin(
    design: TrialDesign, tp: TrialParameters, fm: FaceModel, pattern: Pattern, sex: str, exact: bool
) -> _Toxin:
    """The technique realisations of the trial for ``sex`` (:func:`trial_realisations`, drawn
    from :func:`technique_seed`: the same for every chunk), their uptake and block tables:
    computed once per process and cached, so that the chunks in threads and on a Dask worker
    share them. The uptake is computed in blocks of ``realisations_per_chunk`` realisations on
    the cores (each realisation's uptake and table row is independent of the others: the same
    numbers however they are split). One thread builds each key (a lock per key), so the two
    sexes' tables can be built at once: :func:`run_trial` starts both before its chunks."""
    key = _toxin_key(design, tp, sex, exact)
    with _TOXIN_LOCK:
        hit = _TOXIN.get(key)
        if hit is not None:
            return hit
        building = _BUILDING.setdefault(key, threading.Lock())
    with building:  # one thread builds each sex's tables; the other sex's may be built meanwhile
        with _TOXIN_LOCK:
            hit = _TOXIN.get(key)
        if hit is not None:
            return hit
        try:
            out = _build_toxin(design, tp, fm, pattern, sex, exact)
            with _TOXIN_LOCK:
                if len(_TOXIN) >= 4:
                    _TOXIN.pop(next(iter(_TOXIN)), None)
                _TOXIN[key] = out
        finally:
            with _TOXIN_LOCK:
                _BUILDING.pop(key, None)
        return out


def _build_toxin(
    design: TrialDesign, tp: TrialParameters, fm: FaceModel, pattern: Pattern, sex: str, exact: bool
) -> _Toxin:
    """The realisations, uptake, tables, read-outs and strain modes of :func:`_shared_toxin`,
    computed (not cached)."""
    pp = tp.population
    n_real = trial_realisations(design, tp, sex)
    rng = np.random.default_rng(technique_seed(design.seed).spawn(2)[SEXES.index(sex)])
    techs = draw_technique(rng, n_real, len(pattern.sites), pp)
    step = max(pp.realisations, 1)
    parts = [np.arange(lo, min(lo + step, n_real)) for lo in range(0, n_real, step)]
    sigma = math.sqrt(math.log1p(pp.toxin_sensitivity_cv**2))
    w_max = _W_MAX_SD * sigma - math.log(tp.ec50_u_per_mm3) + 0.5

    def uptake(i: NDArray[np.intp]) -> Array:
        q = fm.uptake(pattern, techs.take(i), tp)
        if not exact:  # the tables need ln Q only: in place, on the worker
            with np.errstate(divide="ignore"):
                np.log(q, out=q)
        return q

    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, len(parts))) as pool:
        q_parts = list(pool.map(uptake, parts))
        if exact:
            out = _Toxin(techs, np.concatenate(q_parts), None, w_max, None)
        else:
            hi = max(float(np.max(lq)) for lq in q_parts)
            phi, levator_mm, n_brow = fm.readout_weights(_target_muscles(fm), tp.tissue)
            # the parts write their rows of the whole's tables and read-outs (one grid)
            w0, n_w = BlockTables.grid(tp, w_max, hi)
            table = np.empty((n_real, n_w, len(fm.engine.basis.segments)), dtype=np.float32)
            read = np.empty((n_real, n_w, phi.shape[1]))

            def tabulate(i: NDArray[np.intp], lq: Array) -> Array:
                """A part's table rows and their read-outs; returns each segment's largest block."""
                rows = slice(int(i[0]), int(i[-1]) + 1)
                part = BlockTables.from_log(fm, lq, tp, w_max, hi, out=table[rows])
                Readouts.build(part, phi, levator_mm, n_brow, out=read[rows])
                return np.asarray(part.table.max(axis=(0, 1)))

            largest = list(pool.map(tabulate, parts, q_parts))
    if not exact:
        del q_parts
        tables = BlockTables(w0, tp.log_bin_width, table)
        readouts = Readouts(w0, tp.log_bin_width, read, levator_mm, n_brow)
        blocked = np.flatnonzero(np.max(largest, axis=0) > BLOCKED)
        modes = _strain_modes(fm, tables, blocked, tp, w_max, rng)
        out = _Toxin(techs, None, tables, w_max, blocked, readouts, modes)
    return out


def run_chunk(
    design: TrialDesign,
    tp: TrialParameters,
    n: int,
    seed: np.random.SeedSequence,
    exact: bool = False,
    fused: bool = True,
) -> ChunkResult:
    """One chunk of ``n`` randomised patients (module docstring); ``exact``: every raster cell and
    nerve-ending point, blocks point by point (the kernels of :func:`rhytid.simulate`).
    ``fused``: the reduced cell sets through the fused kernels (:mod:`rhytid._fused`: grades by
    counts, follow-up stopped once the durations are known); ``False``: through
    :func:`rhytid._kernels.area_depth`, every follow-up visit (the reference the fused path is
    tested against)."""
    fast = fused and not exact
    rng = np.random.default_rng(seed)
    pp = tp.population
    tissue = tp.tissue
    thr = tp.grade_thresholds_um
    visits = np.asarray(design.visits, dtype=float)
    n_visits = len(visits)
    fms = {
        s: face_model(s, design.graded_areas, tp.area_cells_max, tp.quadrature_stride, tissue, exact)
        for s in SEXES
    }
    n_seg = len(fms["female"].engine.basis.segments)
    patterns = {s: design.pattern(s) for s in SEXES}
    n_inj = len(patterns["female"].sites)
    share = {"female": pp.female_fraction, "male": 1.0 - pp.female_fraction}
    n_real = {s: max(16, round(pp.realisations * share[s])) for s in SEXES}
    own = {s: draw_technique(rng, n_real[s], n_inj, pp) for s in SEXES}

    # --- screening: enrol candidates rated moderate or severe at maximum contraction --------------
    n_areas = len(design.graded_areas)
    width = [max(fms[s].areas[a].n for s in SEXES) for a in range(n_areas)]
    # fused: the graded areas with nothing blocked (screening and placebo)
    unblocked = {s: fms[s].fused(np.zeros(0, dtype=np.intp), tissue) for s in SEXES} if fast else {}
    enrolled: list[Population] = []
    parts_d0: list[Array] = []
    parts_r0: list[NDArray[np.intp]] = []
    parts_static: list[list[NDArray[np.float32]]] = []
    parts_cell_d0: list[list[NDArray[np.float32]]] = []  # fused: baseline cell depths
    parts_rater: list[Array] = []
    mix = math.sqrt(pp.rater_persistent_share)
    rest = math.sqrt(1.0 - pp.rater_persistent_share)
    got, screened, rounds = 0, 0, 0
    while got < n:
        rounds += 1
        if rounds > _MAX_SCREENING_ROUNDS:
            raise TrialError(
                f"--area {design.area}: too few candidates are moderate or severe at baseline "
                f"({got} of {screened} screened); the trial cannot enrol {n} patients"
            )
        batch = math.ceil((n - got) * tp.screening_batch_factor) + 8
        cand = draw_population(rng, batch, pp, tissue.reference_age)
        persistent = rng.standard_normal(batch)
        eps0 = mix * persistent + rest * rng.standard_normal(batch)
        d0 = np.full(batch, np.nan)  # the exact engine only (fused: graded by counts)
        static = [np.zeros((batch, w), dtype=np.float32) for w in width]
        cell_d0 = [np.zeros((batch, w), dtype=np.float32) for w in width] if fast else []
        rated0 = np.zeros(batch, dtype=np.intp)
        # in blocks of candidates, in order, until enough are eligible: the rest of the batch is
        # drawn (the same random stream) but not evaluated, since none of it would be enrolled
        eligible = 0
        for lo in range(0, batch, _SCREENING_BLOCK):
            part = np.arange(lo, min(lo + _SCREENING_BLOCK, batch))
            for s in SEXES:
                idx = part[cand.male[part] == (s == "male")]
                if not len(idx):
                    continue
                sub = cand.take(idx)
                fm = fms[s]
                if not fast:
                    mine = [fm.static_um(area, sub, tp) for area in fm.areas]
                    for a, m in enumerate(mine):
                        static[a][idx, : m.shape[1]] = m
                    d0[idx] = _area_depths(fm, sub, np.zeros((len(idx), 1, n_seg)), mine, tp)[:, 0]
                    rated0[idx] = grade_from_depth(d0[idx] * np.exp(pp.rater_noise_sd * eps0[idx]), thr)
                else:  # graded by counts: the baseline statistic itself is never needed
                    scale, _ = fm.scales(sub, tissue)
                    fa = unblocked[s]
                    stacked, dep = baseline_depths(
                        fa, sub.tone, scale, fm.buckling(sub, tissue), fm.etch_rate(sub, tp)
                    )
                    for a, area in enumerate(fm.areas):
                        static[a][idx, : area.n] = stacked[a, :, : area.n]
                        cell_d0[a][idx, : area.n] = dep[a, :, : area.n]
                    rated0[idx] = baseline_grades(fa, dep, np.exp(pp.rater_noise_sd * eps0[idx]), thr)
            eligible += int(np.count_nonzero(rated0[part] >= 2))
            if eligible >= n - got:
                break
        take = np.flatnonzero(rated0 >= 2)[: n - got]
        screened += int(take[-1]) + 1 if len(take) == n - got else batch
        if not len(take):
            continue
        enrolled.append(cand.take(take))
        parts_d0.append(d0[take])
        parts_r0.append(rated0[take])
        parts_static.append([st[take] for st in static])
        parts_cell_d0.append([c[take] for c in cell_d0])
        parts_rater.append(persistent[take])
        got += len(take)
    pop = Population.concat(enrolled)
    d0_all = np.concatenate(parts_d0)
    r0_all = np.concatenate(parts_r0)
    static_all = [_joined([p[a] for p in parts_static]) for a in range(n_areas)]
    cell_d0_all = [] if not fast else [_joined([p[a] for p in parts_cell_d0]) for a in range(n_areas)]
    rater = mix * np.concatenate(parts_rater)[:, None]  # the rater's lasting view of each face

    # the technique: after screening, which needs none (a chunk screens while shared tables are built)
    if shares_realisations(design, tp):
        # the trial's realisations instead (the chunk's own draws are kept: its patients stay the same)
        toxin = {s: _shared_toxin(design, tp, fms[s], patterns[s], s, exact) for s in SEXES}
    else:  # the chunk's own realisations, uptake and tables (computed below)
        toxin = {s: _Toxin(own[s], None, None, -math.inf, None) for s in SEXES}
    n_real = {s: toxin[s].techs.size for s in SEXES}

    # --- randomisation, technique, rater noise -----------------------------------------------------
    block = np.asarray(tp.randomisation_block, dtype=bool)
    n_blocks = -(-n // len(block))
    treated = rng.permuted(np.tile(block, (n_blocks, 1)), axis=1).ravel()[:n]
    u_tech = rng.random(n)
    eps = rater + rest * rng.standard_normal((n, n_visits))
    schedule = follow_up_days(tp)
    follow = schedule + tp.visit_window_days * rng.uniform(-1.0, 1.0, (n, len(schedule)))
    eps_follow = rater + rest * rng.standard_normal(follow.shape)

    product = design.product
    onset = tp.onset_days[product]
    kr0 = tp.recovery_rate_per_day[product]
    depth = np.repeat(d0_all[:, None], n_visits, axis=1)  # placebo: as at baseline
    rated_treated = np.zeros((n, n_visits), dtype=np.intp)  # graded by the fused kernels
    eyelid = np.zeros(n, dtype=bool)
    brow = np.zeros(n, dtype=bool)
    dur_nm: list[Array] = []
    dur_base: list[Array] = []
    block_sum = np.zeros(n_visits)
    follow_up_visits = 0
    droop_thr = tissue.risk_eyelid_droop_mm[tp.ptosis_level]
    brow_thr = tissue.risk_brow_drop_mm[tp.brow_ptosis_level]
    for s in SEXES:
        fm = fms[s]
        idx = np.flatnonzero(treated & (pop.male == (s == "male")))
        if not len(idx):
            continue
        g = pop.take(idx)
        cells = [a.n for a in fm.areas]
        r = np.minimum((u_tech[idx] * n_real[s]).astype(np.intp), n_real[s] - 1)
        kr = kr0 * g.recovery
        t_star = peak_active_day(onset, kr)
        w_max = float(np.max(-np.log(g.sensitivity))) - math.log(tp.ec50_u_per_mm3) + 0.5
        shared = w_max <= toxin[s].w_max
        q = toxin[s].q
        if q is None and (exact or not shared):
            q = fm.uptake(patterns[s], toxin[s].techs, tp)
        times = np.concatenate(
            [
                np.broadcast_to(visits, (len(idx), n_visits)),
                t_star[:, None],
                follow[idx],
            ],
            axis=1,
        )
        if exact:
            assert q is not None  # the exact toxin keeps its uptake

            def kin_of(days: Array, kr: Array = kr, g: Population = g) -> Array:
                return active_fraction(np.broadcast_to(days, (len(g), len(days))), onset, kr[:, None])

            seg = fm.exact_segment_block(q, r, active_fraction(times, onset, kr[:, None]), g.sensitivity, tp)
            ease = [fm.exact_static_ease(a, q, r, kin_of, g.sensitivity, times, tp) for a in fm.areas]
        else:
            pooled = toxin[s].tables
            if shared and pooled is not None:
                tables = pooled
            else:  # the chunk's own, or a patient less sensitive than the trial's tables reach
                assert q is not None
                tables = BlockTables.build(fm, q, tp, w_max)
            w_all = _log_active(times, onset, kr[:, None], g.sensitivity, tp.ec50_u_per_mm3)
            if not fast:
                seg = tables.lookup(r, w_all)

            def log_active(days: Array, kr: Array = kr, g: Population = g) -> Array:
                t = np.broadcast_to(days, (len(g), len(days)))
                return _log_active(t, onset, kr[:, None], g.sensitivity, tp.ec50_u_per_mm3)

            pooled_readouts = toxin[s].readouts
            readouts = (
                pooled_readouts
                if shared and pooled is not None and pooled_readouts is not None
                else Readouts.build(tables, *fm.readout_weights(_target_muscles(fm), tissue))
            )
            if fast:  # every area's ease in one pass per patient
                ease = list(fm.eased_shares(readouts, r, (onset_rate(onset), kr), g.sensitivity, times, tp))
            else:
                ease = [
                    fm.static_ease(a, readouts, r, log_active, times, tissue) for a in range(len(fm.areas))
                ]
        if not fast:
            # the day of peak block serves the adverse events only: no area depth is evaluated there
            graded = np.delete(np.arange(times.shape[1]), n_visits)
            st_t = [static_all[a][idx, : cells[a]] for a in range(len(cells))]
            d = _area_depths(fm, g, seg[:, graded], st_t, tp, [e[:, graded] for e in ease])
            depth[idx] = d[:, :n_visits]
            rated_follow = grade_from_depth(
                d[:, n_visits:] * np.exp(pp.rater_noise_sd * eps_follow[idx]), thr
            )
            follow_up_visits += rated_follow.size
        else:
            # fused: block → grade per patient-timepoint; the day of peak block (column n_visits)
            # serves the adverse events only, and follow-up stops once both durations are known
            mine_blocked = toxin[s].blocked
            if shared and mine_blocked is not None:
                blocked = mine_blocked
            else:
                blocked = np.flatnonzero(tables.table.max(axis=(0, 1)) > BLOCKED)
            fa = fm.fused(blocked, tissue)
            n_max = fa.s0.shape[2]
            st_pad = np.zeros((len(fm.areas), len(idx), n_max), dtype=np.float32)
            for a, n_a in enumerate(cells):
                st_pad[a, :, :n_a] = static_all[a][idx, :n_a]
            ease_all = np.stack(ease)
            scale, _ = fm.scales(g, tissue)
            rated_vis, rated_follow, evaluated = treated_grades(
                fa,
                r,
                g.tone,
                scale,
                fm.buckling(g, tissue),
                st_pad,
                tables.table,
                tables.w0,
                tables.dw,
                thr,
                (w_all[:, :n_visits], ease_all[:, :, :n_visits], np.exp(pp.rater_noise_sd * eps[idx])),
                (
                    w_all[:, n_visits + 1 :],
                    ease_all[:, :, n_visits + 1 :],
                    np.exp(pp.rater_noise_sd * eps_follow[idx]),
                ),
                r0_all[idx],
                # the shared tables' strain modes (a chunk's own tables: the full GEMM)
                modes=toxin[s].modes if shared and pooled is not None else None,
            )
            rated_treated[idx] = rated_vis
            follow_up_visits += evaluated - len(idx) * n_visits
        targets = _target_muscles(fm)
        if fast:  # droop, brow drop and mean block read out of the tables, without (N, T, n_seg) blocks
            assert readouts is not None  # built with the tables above
            droop, drop, summed = fm.adverse(g, r, w_all, readouts, n_visits, tissue)
            eyelid[idx] = droop >= droop_thr
            brow[idx] = drop >= brow_thr
            block_sum += summed
        else:
            muscles = fm.muscle_block(seg)
            eyelid[idx] = fm.lid_droop_mm(seg, tissue).max(axis=(1, 2)) >= droop_thr
            b = fm.brow_mm(g, seg, tissue) - fm.brow_mm(g, np.zeros((len(idx), 1, seg.shape[2])), tissue)
            brow[idx] = (-b).max(axis=(1, 2)) >= brow_thr
            block_sum += muscles[:, :n_visits, targets].mean(axis=2).sum(axis=0)
        dn, db = durations(follow[idx], rated_follow, r0_all[idx], tp.horizon_days)
        dur_nm.append(dn)
        dur_base.append(db)

    if not fast:
        rated = grade_from_depth(depth * np.exp(pp.rater_noise_sd * eps), thr)
    else:  # treated graded by the fused kernels; placebo: the baseline cells at each visit's rating
        rated = rated_treated
        for s in SEXES:
            fm = fms[s]
            idx = np.flatnonzero(~treated & (pop.male == (s == "male")))
            if not len(idx):
                continue
            fa = unblocked[s]
            dep = np.zeros((len(fm.areas), len(idx), fa.s0.shape[2]), dtype=np.float32)
            for a, area in enumerate(fm.areas):
                dep[a, :, : area.n] = cell_d0_all[a][idx, : area.n]
            rated[idx] = baseline_grades(fa, dep, np.exp(pp.rater_noise_sd * eps[idx]), thr)
    nm = rated <= 1
    i1 = rated <= r0_all[:, None] - 1
    i2 = rated <= r0_all[:, None] - 2
    arms = [~treated, treated]
    n_treated = int(treated.sum())
    return ChunkResult(
        n_arm=np.array([int((~treated).sum()), n_treated]),
        none_or_mild=np.array([nm[a].sum(axis=0) for a in arms]),
        improve1=np.array([i1[a].sum(axis=0) for a in arms]),
        improve2=np.array([i2[a].sum(axis=0) for a in arms]),
        eyelid_ptosis=np.array([int(eyelid[a].sum()) for a in arms]),
        brow_ptosis=np.array([int(brow[a].sum()) for a in arms]),
        days_none_or_mild=np.concatenate(dur_nm) if dur_nm else np.zeros(0),
        days_to_baseline=np.concatenate(dur_base) if dur_base else np.zeros(0),
        screened=screened,
        baseline_grades=np.bincount(r0_all, minlength=4)[:4],
        mean_block=block_sum / max(n_treated, 1),
        follow_up_visits=follow_up_visits,
    )


def _joined(parts: list[NDArray[np.float32]]) -> NDArray[np.float32]:
    """The rows of ``parts`` in order (the one part itself, uncopied, when there is one)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _targets(fm: FaceModel) -> list[str]:
    out: list[str] = []
    for area in fm.engine.face.areas.values():
        if area.name in {a.name for a in fm.areas}:
            out.extend(m for m in area.targets if m not in out)
    return out


def _target_muscles(fm: FaceModel) -> list[int]:
    """The engine's muscle indices of :func:`_targets`."""
    return [fm.engine.muscles.index(m) for m in _targets(fm)]


def follow_up_days(tp: TrialParameters) -> Array:
    """Scheduled days of the follow-up visits at which durations are read (module docstring)."""
    n = int(tp.horizon_days // tp.follow_up_days)
    return tp.follow_up_days * np.arange(1, n + 1, dtype=float)


def durations(
    days: Array, rated: NDArray[np.intp], baseline: NDArray[np.intp], horizon: float
) -> tuple[Array, Array]:
    """Days to the end of none-or-mild and to the return to baseline (module docstring).

    ``days``: each patient's follow-up visit days, increasing, ``(N, V)``; ``rated``: the grades
    given at those visits, ``(N, V)``; ``baseline``: the baseline ratings, ``(N,)``. Returns, for
    the patients who responded, in patient order, the day the response was lost (``horizon`` if
    never): none-or-mild (grade ≤ 1 until grade ≥ 2) and improvement (at least one grade better
    than baseline until back at baseline or worse).
    """
    return (
        _time_to_loss(days, rated <= 1, rated >= 2, horizon),
        _time_to_loss(days, rated <= baseline[:, None] - 1, rated >= baseline[:, None], horizon),
    )


def _time_to_loss(
    days: Array, responding: NDArray[np.bool_], lost: NDArray[np.bool_], horizon: float
) -> Array:
    """For each patient responding at some visit: the day of the first later visit at which the
    response is ``lost`` (``horizon`` if never)."""
    out = np.empty(days.shape[0])
    n = _loss_days(
        np.ascontiguousarray(days, dtype=np.float64),
        np.ascontiguousarray(responding),
        np.ascontiguousarray(lost),
        float(horizon),
        out,
    )
    return out[:n]


@nb.njit(nogil=True, cache=True)
def _loss_days(days, responding, lost, horizon, out):  # type: ignore[no-untyped-def]
    """:func:`_time_to_loss` into ``out``, in patient order; returns how many responded."""
    count = 0
    for i in range(days.shape[0]):
        first = -1
        for j in range(days.shape[1]):
            if responding[i, j]:
                first = j
                break
        if first < 0:
            continue
        day = horizon
        for j in range(first + 1, days.shape[1]):
            if lost[i, j]:
                day = days[i, j]
                break
        out[count] = day
        count += 1
    return count


@dataclass
class TrialResult:
    """The outcome of a virtual trial (:meth:`to_dict` is the CONTRACTS.md JSON)."""

    design: TrialDesign
    chunks: list[ChunkResult]
    parameters: TrialParameters = field(repr=False)

    def _sum(self, name: str) -> NDArray[np.int64]:
        return np.asarray(sum(getattr(c, name) for c in self.chunks))

    @property
    def simulated_visits(self) -> int:
        """Patient-visits the trial simulated: the screening visit of every candidate, every
        enrolled patient's scheduled visits and the treated patients' duration follow-up visits
        (until both durations are known)."""
        scheduled = int(self._sum("n_arm").sum()) * len(self.design.visits)
        return scheduled + sum(c.screened + c.follow_up_visits for c in self.chunks)

    @property
    def n_placebo(self) -> int:
        return int(self._sum("n_arm")[0])

    @property
    def n_treated(self) -> int:
        return int(self._sum("n_arm")[1])

    def rate(self, endpoint: str, arm: str = "treated") -> Array:
        """Responder fraction per visit of ``none_or_mild`` | ``improve1`` | ``improve2``."""
        a = 1 if arm == "treated" else 0
        return np.asarray(self._sum(endpoint)[a] / max(int(self._sum("n_arm")[a]), 1), dtype=float)

    def adverse_rate(self, event: str, arm: str = "treated") -> float:
        a = 1 if arm == "treated" else 0
        return float(self._sum(event)[a]) / max(int(self._sum("n_arm")[a]), 1)

    @property
    def days_none_or_mild(self) -> Array:
        return np.concatenate([c.days_none_or_mild for c in self.chunks])

    @property
    def days_to_baseline(self) -> Array:
        return np.concatenate([c.days_to_baseline for c in self.chunks])

    def median_days_none_or_mild(self) -> float | None:
        d = self.days_none_or_mild
        return float(np.median(d)) if len(d) else None

    def median_days_to_baseline(self) -> float | None:
        d = self.days_to_baseline
        return float(np.median(d)) if len(d) else None

    @property
    def mean_block(self) -> Array:
        n = np.array([c.n_arm[1] for c in self.chunks], dtype=float)
        return np.asarray(
            sum(c.mean_block * k for c, k in zip(self.chunks, n, strict=True)) / max(n.sum(), 1)
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``rhytid trial --json`` (CONTRACTS.md; extra keys are additions)."""
        n = self._sum("n_arm")
        visits = []
        for j, day in enumerate(self.design.visits):
            entry: dict[str, Any] = {"day": _num(day)}
            for ep in ("none_or_mild", "improve2", "improve1"):
                k = self._sum(ep)[:, j]
                entry[ep] = {
                    "treated": _r(k[1] / max(n[1], 1)),
                    "placebo": _r(k[0] / max(n[0], 1)),
                    "treated_ci95": [_r(x) for x in wilson(int(k[1]), int(n[1]))],
                    "placebo_ci95": [_r(x) for x in wilson(int(k[0]), int(n[0]))],
                }
            visits.append(entry)
        ae = {}
        for ev in ("eyelid_ptosis", "brow_ptosis"):
            k = self._sum(ev)
            ae[ev] = {
                "treated": _r(k[1] / max(n[1], 1)),
                "placebo": _r(k[0] / max(n[0], 1)),
                "treated_ci95": [_r(x) for x in wilson(int(k[1]), int(n[1]))],
                "placebo_ci95": [_r(x) for x in wilson(int(k[0]), int(n[0]))],
            }
        mnm, mbase = self.median_days_none_or_mild(), self.median_days_to_baseline()
        grades = self._sum("baseline_grades")
        return {
            "model_version": __version__,
            "parameters_hash": self.parameters.provenance,
            "design": {
                **self.design.to_dict(),
                "n_treated": int(n[1]),
                "n_placebo": int(n[0]),
                "n_screened": int(sum(c.screened for c in self.chunks)),
                "baseline_grades": {"moderate": int(grades[2]), "severe": int(grades[3])},
                "duration_follow_up_days": _num(self.parameters.follow_up_days),
            },
            "visits": visits,
            "median_days_none_or_mild": None if mnm is None else round(mnm),
            "median_days_none_or_mild_ci95": median_ci(self.days_none_or_mild),
            "median_days_to_baseline": None if mbase is None else round(mbase),
            "median_days_to_baseline_ci95": median_ci(self.days_to_baseline),
            "adverse_events": ae,
        }


def _r(x: float) -> float:
    return round(float(x), 4)


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def _blas_threads(n: int) -> AbstractContextManager[object]:
    """Limit the BLAS libraries to ``n`` threads (threadpoolctl; unlimited where it is missing)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an environment installed before the dependency was added
        return nullcontext()
    return threadpool_limits(limits=n, user_api="blas")  # type: ignore[no-any-return]


def chunk_sizes(patients: int, chunk: int) -> list[int]:
    """Patients per chunk: full chunks and one remainder."""
    sizes = [chunk] * (patients // chunk)
    if patients % chunk:
        sizes.append(patients % chunk)
    return sizes


def run_trial(
    design: TrialDesign,
    params: TrialParameters | None = None,
    *,
    scheduler: Any = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    exact: bool = False,
) -> TrialResult:
    """Run a virtual trial (module docstring) with ``params`` (default:
    :func:`rhytid.default_parameters`). ``scheduler``: a Dask scheduler address or a
    ``distributed.Client``; ``None`` runs the chunks in threads on this machine. ``exact``: every
    raster cell and nerve-ending point (slow; the reference for the reduced sets)."""
    if params is None:
        from rhytid._parameters import default_parameters

        params = default_parameters()
    tp = params
    sizes = chunk_sizes(design.patients, tp.chunk_patients)
    seeds = np.random.SeedSequence(design.seed).spawn(len(sizes))
    results: list[ChunkResult | None] = [None] * len(sizes)
    if scheduler is not None:
        from rhytid.trial._distributed import run_on_cluster

        for j, res in run_on_cluster(scheduler, design, tp, sizes, seeds, exact):
            results[j] = res
            if progress:
                progress(sum(r is not None for r in results), len(sizes))
    else:
        # build the cached face models once, before threads share them
        fms = {
            s: face_model(s, design.graded_areas, tp.area_cells_max, tp.quadrature_stride, tp.tissue, exact)
            for s in SEXES
        }
        n_workers = max(workers or min(os.cpu_count() or 1, len(sizes)), 1)
        # workers × BLAS threads never exceed the cores (threads of a busy BLAS spin on the others);
        # the reduced engine's GEMMs are of 128 rows: one BLAS thread each, however few the workers
        blas = max((os.cpu_count() or 1) // n_workers, 1) if exact else 1
        with (
            _blas_threads(blas),
            ThreadPoolExecutor(max_workers=n_workers) as pool,
        ):
            if shares_realisations(design, tp):  # both sexes' shared tables at once, one per worker
                for s, fm in fms.items():
                    pool.submit(_shared_toxin, design, tp, fm, design.pattern(s), s, exact)
            futures = [
                pool.submit(run_chunk, design, tp, n, sq, exact) for n, sq in zip(sizes, seeds, strict=True)
            ]
            for j, fut in enumerate(futures):
                results[j] = fut.result()
                if progress:
                    progress(j + 1, len(sizes))
        with _TOXIN_LOCK:  # the trial's shared tables served its chunks only: memory stays flat
            for s in SEXES:
                _TOXIN.pop(_toxin_key(design, tp, s, exact), None)
    return TrialResult(design, [r for r in results if r is not None], tp)
