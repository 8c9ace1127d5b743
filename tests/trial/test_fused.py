"""The fused kernels (rhytid._fused) against the arithmetic they replace: grading by weighted
counts equals grading the weighted percentile, the fused trial equals the numpy one, the early
end of the follow-up changes no duration, simulate's one-pass kernels equal the numpy ones, and
the strain modes of large trials keep the least rank that meets their tolerance (against a direct
SVD) and grade as the full GEMM."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhytid import default_parameters
from rhytid._fused import (
    FusedAreas,
    StrainModes,
    cell_depths,
    grade_by_counts,
    percentile_rows,
    strain_modes,
    table_lookup,
    treated_grades,
    uptake_rows,
    weighted_percentile_rows,
)
from rhytid._kernels import percentile
from rhytid.model import relaxation_grid, static_ease
from rhytid.tissue import grade_from_depth
from rhytid.toxin import bolus_radius_mm, uptake_density
from rhytid.trial import TrialDesign, run_trial
from rhytid.trial._engine import BlockTables, Readouts, draw_technique, face_model
from rhytid.trial._population import draw_population
from rhytid.trial._run import TrialResult, durations, follow_up_days, run_chunk

depths = st.lists(
    st.one_of(st.sampled_from([0.0, 100.0, 250.0]), st.floats(0.0, 3000.0, width=32)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    d=depths,
    data=st.data(),
    q=st.one_of(st.sampled_from([0.0, 50.0, 90.0, 100.0]), st.floats(0.0, 100.0)),
    factor=st.floats(0.2, 5.0),
    thresholds=st.lists(st.floats(1.0, 4000.0), min_size=3, max_size=3),
)
def test_grade_from_counts_equals_grade_from_weighted_percentile(
    d: list[float], data: st.DataObject, q: float, factor: float, thresholds: list[float]
) -> None:
    counts = np.array(data.draw(st.lists(st.integers(1, 30), min_size=len(d), max_size=len(d))))
    x = np.array([d], dtype=np.float32)
    thr = tuple(sorted(thresholds))
    stat = percentile(x, q, counts / counts.sum(), counts)
    expected = grade_from_depth(stat * factor, thr)
    got = grade_by_counts(x, counts, q, np.array([factor]), thr)
    assert got[0] == expected[0]


@pytest.mark.parametrize(
    ("row", "counts", "q", "expected"),
    [
        ([1, 2, 3, 4], [1, 1, 1, 1], 50.0, 2.0),  # the counts reach half exactly at 2, not at 3
        ([4, 3, 2, 1], [1, 1, 1, 1], 75.0, 3.0),
        ([0, 0, 0, 5, 7], [1, 1, 2, 4, 2], 40.0, 0.0),  # four of ten at zero
        ([0, 0, 0, 5, 7], [1, 1, 2, 4, 2], 41.0, 5.0),
        ([2, 2, 2], [3, 1, 1], 0.0, 2.0),
        ([9, 1], [1, 1], 100.0, 9.0),
    ],
)
def test_weighted_percentile_at_an_exact_share(
    row: list[float], counts: list[int], q: float, expected: float
) -> None:
    x = np.array([row], dtype=np.float32)
    assert weighted_percentile_rows(x, np.array(counts, dtype=np.int64), q).tolist() == [expected]


@settings(max_examples=300, deadline=None)
@given(
    d=st.lists(depths, min_size=1, max_size=4),
    data=st.data(),
    # round shares too: counts that reach the target exactly (a tie of the cumulative count)
    q=st.one_of(st.sampled_from([0.0, 25.0, 50.0, 75.0, 90.0, 100.0]), st.floats(0.0, 100.0)),
)
def test_weighted_percentile_is_the_first_value_whose_counts_reach_q(
    d: list[list[float]], data: st.DataObject, q: float
) -> None:
    """The weighted percentile of a reduced cell set: the smallest depth with at least ``q`` % of
    the cluster counts at or below it (here by a Python sort of each row, ties included)."""
    n = min(len(r) for r in d)
    x = np.array([r[:n] for r in d], dtype=np.float32)
    counts = np.array(data.draw(st.lists(st.integers(1, 30), min_size=n, max_size=n)), dtype=np.int64)
    target = q / 100.0 * float(counts.sum())
    expected = []
    for row in x:
        pairs = sorted(zip(row.tolist(), counts.tolist(), strict=True))
        total, value = 0, pairs[-1][0]
        for v, c in pairs:
            total += c
            if total >= target:
                value = v
                break
        expected.append(value)
    assert weighted_percentile_rows(x, counts, q).tolist() == expected
    assert percentile(x, q, counts / counts.sum(), counts).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float32, np.float64]))
def test_table_lookup_interpolates_each_row_as_numpy_interp(seed: int, dtype: type) -> None:
    """Blocks ``table[r, g, s]`` (segments side by side per bin) at ``w``: linear in ``w`` on the
    grid, 0 below it and for NaN (no active toxin), the last value beyond it."""
    rng = np.random.default_rng(seed)
    n_r, n_w, n_s = 3, int(rng.integers(2, 12)), 4
    table = rng.random((n_r, n_w, n_s)).astype(dtype)
    w0, dw = float(rng.normal()), float(rng.uniform(0.05, 0.5))
    w = rng.uniform(w0 - 2 * dw, w0 + (n_w + 2) * dw, (5, 6))
    w[0, :3] = (np.nan, -np.inf, np.inf)
    r = rng.integers(0, n_r, 5)
    segs = np.array([3, 0, 2])
    got = table_lookup(table, r, w, w0, dw, segs)
    grid = w0 + dw * np.arange(n_w)
    for i in range(5):
        for j, s in enumerate(segs):
            ref = np.interp(np.nan_to_num(w[i], nan=-np.inf), grid, table[r[i], :, s].astype(np.float64))
            ref[~(w[i] >= w0)] = 0.0
            assert np.allclose(got[i, :, j], ref, rtol=1e-12, atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(d=st.lists(depths, min_size=1, max_size=4), q=st.floats(0.0, 100.0))
def test_percentile_by_sampled_pivot_equals_the_order_statistics(d: list[list[float]], q: float) -> None:
    n = min(len(r) for r in d)
    x = np.array([r[:n] for r in d], dtype=np.float32)
    k = q / 100.0 * (n - 1)
    lo = int(np.floor(k))
    hi = min(lo + 1, n - 1)
    part = np.partition(x, (lo, hi), axis=-1)
    a, b = part[:, lo].astype(np.float64), part[:, hi].astype(np.float64)
    assert np.array_equal(percentile_rows(x, q), a + (b - a) * (k - lo))
    big = np.repeat(x, 300, axis=1)  # long rows go through the pivot
    assert np.array_equal(percentile_rows(big, q), np.percentile(big.astype(np.float64), q, axis=1))


def _trial_json(area: str, product: str, units: float, n: int, fused: bool) -> str:
    design = TrialDesign(area, product, units, patients=n, seed=4)
    tp = default_parameters()
    seed = np.random.SeedSequence(4).spawn(1)[0]
    return json.dumps(TrialResult(design, [run_chunk(design, tp, n, seed, fused=fused)], tp).to_dict())


@pytest.mark.parametrize(
    ("area", "product", "units"),
    [("glabellar", "daxibotulinumtoxinA", 40.0), ("lateral-canthal", "onabotulinumtoxinA", 24.0)],
)
def test_fused_trial_equals_the_numpy_trial(area: str, product: str, units: float) -> None:
    """Screening, visits, follow-up (stopped early), durations and adverse events: the same JSON."""
    assert _trial_json(area, product, units, 160, True) == _trial_json(area, product, units, 160, False)


def _toy_treated(
    blocked: np.ndarray,  # type: ignore[type-arg]
    table: np.ndarray,  # type: ignore[type-arg]
    n: int,
    tv: int,
    tf: int,
    fields: np.ndarray | None = None,  # type: ignore[type-arg]
    more_areas: int = 0,
    only: int | None = None,
) -> tuple:  # type: ignore[type-arg]
    """Arguments of :func:`treated_grades` for a toy area of 24 cells over 4 skin segments, with
    the ``blocked`` segments, block ``table`` ``(5, 40, 4)`` and unit ``fields`` ``(4, 72)``
    (default: random); ``more_areas``: that many more graded areas of random fields after it;
    ``only``: of these areas, only this one graded."""
    from rhytid._kernels import AreaCells

    rng = np.random.default_rng(3)
    n_cells = 24
    skin = np.arange(4)
    act = np.array([[0.9, 0.6, 0.3, 0.5]])

    def area(name: str, fields: np.ndarray, counts: np.ndarray) -> AreaCells:  # type: ignore[type-arg]
        return AreaCells(
            name=name,
            expression=0,
            skin_region="forehead",
            targets=(),
            target_index=np.zeros(0, dtype=np.intp),
            cells=np.arange(n_cells),
            fields=fields,
            habitual=np.zeros((1, 3 * n_cells), dtype=np.float32),
            habitual_tone=np.zeros((1, 3 * n_cells), dtype=np.float32),
            habitual_c=np.zeros((1, n_cells), dtype=np.float32),
            h_ref=0.1,
            critical_ref=0.01,
            prestrain_ref=0.0,
            weights=counts / counts.sum(),
            counts=counts,
        )

    drawn = rng.normal(0.0, 0.05, (4, 3 * n_cells)).astype(np.float32)
    fields = drawn if fields is None else np.asarray(fields, dtype=np.float32)
    areas = [area("a", fields, rng.integers(1, 9, n_cells))]
    w_follow = np.sort(rng.uniform(-2.0, 40.0, (n, tf)), axis=1)[:, ::-1]  # recovering over time
    r, tone, scale = rng.integers(0, 5, n), rng.lognormal(0.0, 0.3, n), rng.lognormal(0.0, 0.2, n)
    static = rng.uniform(0.0, 50.0, (1, n, n_cells)).astype(np.float32)
    w_vis = rng.uniform(0.0, 40.0, (n, tv))
    e_vis = rng.lognormal(0.0, 0.2, (n, tv))
    ease_fol = rng.uniform(0.0, 0.3, (1, n, tf))
    e_fol = rng.lognormal(0.0, 0.2, (n, tf))
    baseline = rng.integers(2, 4, n)
    more = np.random.default_rng(5)
    for k in range(more_areas):
        areas.append(
            area(
                f"b{k}",
                more.normal(0.0, 0.05, (4, 3 * n_cells)).astype(np.float32),
                more.integers(1, 9, n_cells),
            )
        )
    static = np.concatenate([static, more.uniform(0.0, 50.0, (more_areas, n, n_cells)).astype(np.float32)])
    ease_fol = np.concatenate([ease_fol, more.uniform(0.0, 0.3, (more_areas, n, tf))])
    if only is not None:
        areas, static, ease_fol = [areas[only]], static[only : only + 1], ease_fol[only : only + 1]
    n_a = len(areas)
    return (
        FusedAreas.build(areas, act, np.zeros_like(act), skin, blocked, 90.0),
        r,
        tone,
        scale,
        (np.full((n_a, n), 0.1), np.full((n_a, n), 0.01), np.zeros((n_a, n))),
        static,
        table,
        0.0,
        1.0,
        (120.0, 250.0, 400.0),
        (w_vis, np.zeros((n_a, n, tv)), e_vis),
        (w_follow, ease_fol, e_fol),
        baseline,
    )


def _toy_table(seed: int) -> np.ndarray:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    return np.clip(np.linspace(0.0, 1.0, 40)[None, :, None] * rng.random((5, 1, 4)), 0.0, 0.95)


def test_the_kernels_read_the_blocked_segments_columns_of_the_tables() -> None:
    """The tables hold every segment; the kernels read only the blocked ones' columns (here 0, 2
    and 3): what an unblocked segment's column holds changes no grade, and moving a blocked
    segment's column does."""
    n, tv, tf = 300, 3, 6
    table = _toy_table(7)
    other = table.copy()
    other[:, :, 1] = 0.95  # segment 1 is not among the blocked: its column is never read
    blocked = np.array([0, 2, 3])
    got = treated_grades(*_toy_treated(blocked, table, n, tv, tf))
    assert all(
        np.array_equal(a, b)
        for a, b in zip(got[:2], treated_grades(*_toy_treated(blocked, other, n, tv, tf))[:2], strict=True)
    )
    moved = table.copy()
    moved[:, :, 2] = 0.0  # a blocked segment's column is read
    changed = treated_grades(*_toy_treated(blocked, moved, n, tv, tf))
    assert not np.array_equal(got[0], changed[0])


def test_stopping_the_follow_up_changes_no_duration() -> None:
    n, tv, tf = 300, 3, 16
    args = _toy_treated(np.arange(4), _toy_table(3), n, tv, tf)
    vis_a, fol_a, evaluated_a = treated_grades(*args, stop=True)
    vis_b, fol_b, evaluated_b = treated_grades(*args, stop=False)
    assert np.array_equal(vis_a, vis_b)
    assert evaluated_a < evaluated_b == n * (tv + tf)
    days = np.cumsum(np.full((n, tf), 28.0), axis=1)
    for got, want in zip(
        durations(days, fol_a, args[-1], 450.0), durations(days, fol_b, args[-1], 450.0), strict=True
    ):
        assert np.array_equal(got, want)
    assert len(durations(days, fol_b, args[-1], 450.0)[0]) > n // 4  # the test has responders


def test_one_pass_cell_depths_equal_the_numpy_arithmetic() -> None:
    rng = np.random.default_rng(5)
    m, n = 6, 50
    strain = rng.normal(0.0, 0.05, (m, 3, n)).astype(np.float32)
    scale, h = rng.lognormal(0.0, 0.2, m), rng.uniform(0.05, 0.2, m)
    ec, e0 = rng.uniform(0.005, 0.02, m), rng.uniform(0.0, 0.01, m)
    static = rng.uniform(0.0, 30.0, (m, n)).astype(np.float32)
    eased = rng.uniform(0.0, 0.5, m)
    exx, eyy, exy = strain[:, 0].copy(), strain[:, 1].copy(), strain[:, 2].copy()
    mean = np.float32(0.5) * (exx + eyy)
    d = np.sqrt(((exx - eyy) * np.float32(0.5)) ** 2 + exy**2) - mean
    d = np.maximum(d, np.float32(0.0)) * scale.astype(np.float32)[:, None]
    d = np.maximum(d - e0.astype(np.float32)[:, None], np.float32(0.0)) / ec.astype(np.float32)[:, None]
    d = np.sqrt(np.maximum(d - np.float32(1.0), np.float32(0.0))) * (1000.0 * h).astype(np.float32)[:, None]
    d += static * (np.float32(1.0) - eased.astype(np.float32))[:, None]
    assert np.array_equal(cell_depths(strain, scale, h, ec, e0, static, eased), d)


def test_one_pass_uptake_equals_uptake_density() -> None:
    rng = np.random.default_rng(6)
    pts = rng.uniform(-20.0, 20.0, (400, 2))
    pz = rng.uniform(0.5, 4.0, 400)
    trans = np.where(rng.random(400) < 0.2, 0.3, 1.0)
    xy = rng.uniform(-10.0, 10.0, (2, 3, 2))
    depth = rng.uniform(0.5, 4.0, (2, 3))
    units = np.array([4.0, 8.0, 2.5])
    volume = rng.uniform(0.02, 0.2, (2, 3))
    radius = np.asarray(bolus_radius_mm(volume, 0.2))
    got = uptake_rows(xy, depth, units, radius, pts, pz, trans, 3.0)
    for r in range(2):
        for i in range(3):
            dist = np.sqrt(((pts - xy[r, i]) ** 2).sum(axis=1) + (pz - depth[r, i]) ** 2)
            want = uptake_density(dist, units[i], radius[r, i], 3.0) * trans
            assert np.allclose(got[r, i], want, rtol=1e-12, atol=0.0)


def _forehead_glabellar_tables(tp, rng, targets):  # type: ignore[no-untyped-def]
    """The female face model of forehead + glabellar 40 U, block tables of 6 realisations drawn
    from ``rng`` and their read-outs with the ``targets`` muscles' mean block."""
    design = TrialDesign("forehead+glabellar", "onabotulinumtoxinA", 40, patients=8)
    fm = face_model("female", design.graded_areas, tp.area_cells_max, tp.quadrature_stride, tp.tissue)
    pattern = design.pattern("female")
    techs = draw_technique(rng, 6, len(pattern.sites), tp.population)
    tables = BlockTables.build(fm, fm.uptake(pattern, techs, tp), tp, -np.log(tp.ec50_u_per_mm3) + 3.0)
    muscles = [fm.engine.muscles.index(m) for m in targets]
    return fm, tables, Readouts.build(tables, *fm.readout_weights(muscles, tp.tissue))


def test_read_outs_of_the_tables_equal_the_segment_blocks_read_out() -> None:
    """The adverse events, the mean block and the fold relaxation read out of the block tables
    (:class:`Readouts`: interpolation and the linear read-out commute) equal those computed from
    every segment's interpolated block, as the numpy engine does."""
    tp = default_parameters()
    rng = np.random.default_rng(11)
    fm, tables, readouts = _forehead_glabellar_tables(tp, rng, ("corrugator_l", "procerus", "frontalis_l"))
    targets = [fm.engine.muscles.index(m) for m in ("corrugator_l", "procerus", "frontalis_l")]
    n = 40
    r = rng.integers(0, 6, n)
    w = tables.w0 + rng.uniform(-3.0, 1.1, (n, 7)) * (tables.table.shape[1] * tables.dw)  # some off the grid
    seg = tables.lookup(r, w)
    pop = draw_population(rng, n, tp.population, tp.tissue.reference_age)

    droop, drop, block = fm.adverse(pop, r, w, readouts, 4, tp.tissue)
    want_droop = fm.lid_droop_mm(seg, tp.tissue).max(axis=(1, 2))
    brow = fm.brow_mm(pop, seg, tp.tissue) - fm.brow_mm(pop, np.zeros((n, 1, seg.shape[2])), tp.tissue)
    want_block = fm.muscle_block(seg)[:, :4, targets].mean(axis=2).sum(axis=0)
    assert np.allclose(droop, want_droop, rtol=1e-9, atol=1e-12)
    assert np.allclose(drop, (-brow).max(axis=(1, 2)), rtol=1e-9, atol=1e-12)
    assert np.allclose(block, want_block, rtol=1e-9, atol=1e-12)
    assert want_droop.max() > 0.0 and (-brow).max() > 0.0  # the test has droops and drops

    for a, area in enumerate(fm.areas):
        days = np.sort(rng.uniform(0.0, 200.0, (n, 5)), axis=1)

        def log_active(grid: np.ndarray) -> np.ndarray:
            return np.broadcast_to(np.linspace(tables.w0 + 1.0, -2.0, len(grid)), (n, len(grid)))

        grid = relaxation_grid(float(days.max()), tp.tissue)
        muscles = tables.lookup(r, log_active(grid)) @ fm.engine.aggregate
        want = static_ease(tp.tissue, area.target_index, grid, muscles, days)
        got = fm.static_ease(a, readouts, r, log_active, days, tp.tissue)
        assert np.allclose(got, want, rtol=1e-9, atol=1e-12)
        assert want.max() > 0.0


def test_one_pass_eased_shares_equal_the_static_ease_of_each_area() -> None:
    """Every area's eased share in one pass per patient (:func:`rhytid._fused.eased_shares`: the
    log-activity on the relaxation grid, the read-out, the relaxation and the interpolation) equals
    :meth:`FaceModel.static_ease` area by area, before treatment (day < 0) and after it too."""
    from rhytid.toxin._kinetics import onset_rate
    from rhytid.trial._run import _log_active

    tp = default_parameters()
    rng = np.random.default_rng(12)
    fm, _, readouts = _forehead_glabellar_tables(tp, rng, ("procerus",))
    n, onset = 50, 3.0
    r = rng.integers(0, 6, n)
    kr = 0.0173 * rng.lognormal(0.0, 0.3, n)
    sens = rng.lognormal(0.0, 0.4, n)
    days = np.sort(rng.uniform(-10.0, 300.0, (n, 6)), axis=1)

    def log_active(grid: np.ndarray) -> np.ndarray:
        t = np.broadcast_to(grid, (n, len(grid)))
        return _log_active(t, onset, kr[:, None], sens, tp.ec50_u_per_mm3)

    got = fm.eased_shares(readouts, r, (onset_rate(onset), kr), sens, days, tp)
    want = np.stack(
        [fm.static_ease(a, readouts, r, log_active, days, tp.tissue) for a in range(len(fm.areas))]
    )
    assert got.shape == want.shape == (len(fm.areas), n, 6)
    assert np.allclose(got, want, rtol=1e-13, atol=1e-15)
    assert want.max() > 0.05 and np.all(got[:, days < 0] == 0.0)  # eased after treatment, not before


def test_simulated_visits_count_screening_scheduled_and_the_follow_up_held() -> None:
    """Every treated patient is followed at every duration visit by the numpy engine; the fused
    one ends a patient's follow-up once both durations are known, so it holds fewer; the trial's
    simulated visits are the screening visits, the scheduled visits and those follow-up visits."""
    design = TrialDesign("glabellar", "onabotulinumtoxinA", 20.0, patients=160, seed=4)
    tp = default_parameters()
    seed = np.random.SeedSequence(4).spawn(1)[0]
    fused = run_chunk(design, tp, 160, seed, fused=True)
    ref = run_chunk(design, tp, 160, seed, fused=False)
    assert ref.follow_up_visits == ref.n_arm[1] * len(follow_up_days(tp))
    assert 0 < fused.follow_up_visits < ref.follow_up_visits
    result = TrialResult(design, [fused], tp)
    assert result.simulated_visits == 160 * len(design.visits) + fused.screened + fused.follow_up_visits


@pytest.mark.parametrize("fused", [True, False])
def test_screening_in_blocks_enrols_the_patients_of_the_whole_batch(
    monkeypatch: pytest.MonkeyPatch, fused: bool
) -> None:
    """Screening stops evaluating a batch of candidates once enough are eligible: the chunk is the
    same whether its candidates are evaluated one at a time, seven at a time or all at once."""
    import rhytid.trial._run as run

    design = TrialDesign("glabellar", "onabotulinumtoxinA", 20.0, patients=120, seed=2)
    tp = default_parameters()
    seed = np.random.SeedSequence(2).spawn(1)[0]

    def chunk(block: int) -> str:
        monkeypatch.setattr(run, "_SCREENING_BLOCK", block)
        return json.dumps(TrialResult(design, [run_chunk(design, tp, 120, seed, fused=fused)], tp).to_dict())

    whole = chunk(10**6)
    assert chunk(1) == whole
    assert chunk(7) == whole
    assert json.loads(whole)["design"]["n_screened"] > 120  # some candidates were not eligible


# --- strain modes (rhytid._fused.StrainModes) ---------------------------------------------------


def _toy_fused(fields: np.ndarray | None = None) -> tuple:  # type: ignore[type-arg]
    """The toy area with every segment blocked, and the arguments of :func:`treated_grades`."""
    args = _toy_treated(np.arange(4), _toy_table(3), 300, 4, 5, fields)
    return args[0], args


def _coefficients(fa: FusedAreas, m: int, seed: int) -> np.ndarray:  # type: ignore[type-arg]
    """Coefficient rows ``[1, τ − 1, −b_k (A_k + (τ − 1) T_k)]`` of random states ``(A, m, K + 2)``
    (the same states in every area)."""
    rng = np.random.default_rng(seed)
    k = fa.gemm.shape[1] - 2
    tm1 = rng.lognormal(0.0, 0.4, m) - 1.0
    b = rng.random((m, k))
    out = np.empty((len(fa.n), m, k + 2), dtype=np.float32)
    out[:, :, 0] = 1.0
    out[:, :, 1] = tm1
    for a in range(len(fa.n)):
        out[a, :, 2:] = -b * (fa.acoef[a][None, :] + tm1[:, None] * fa.tcoef[a][None, :])
    return out


def _modes(fa: FusedAreas, tolerance: float) -> StrainModes:
    return strain_modes(fa, _coefficients(fa, 400, 1), _coefficients(fa, 400, 2), tolerance)


def test_the_strain_modes_of_a_gemm_of_low_rank_are_its_rank_without_error() -> None:
    rng = np.random.default_rng(0)
    fields = rng.normal(0.0, 1.0, (4, 2)) @ rng.normal(0.0, 0.05, (2, 72))  # 4 fields, 2 dimensions
    fa, _ = _toy_fused(fields)
    modes = _modes(fa, 1e-5)
    assert modes.rank == 2
    assert modes.projection.shape == (1, 6, 2) and modes.modes.shape == (1, 2, 72)
    assert modes.max_error < 1e-5 and modes.p99_error <= modes.max_error


@pytest.mark.parametrize("share", [0.2, 0.05, 0.01])
def test_the_rank_of_the_strain_modes_is_the_least_meeting_the_tolerance(share: float) -> None:
    """Against a direct SVD of the fitting sample's strains (not the Gram matrix the modes come
    from); tolerances a ``share`` of the largest strain."""
    rng = np.random.default_rng(5)
    fa, _ = _toy_fused(rng.normal(0.0, 0.05, (4, 72)) * (0.3 ** np.arange(4))[:, None])
    fit = _coefficients(fa, 400, 1)
    strain = fit[0].astype(np.float64) @ fa.gemm[0].astype(np.float64)
    tolerance = share * float(np.abs(strain).max())
    modes = _modes(fa, tolerance)
    _, _, vt = np.linalg.svd(strain, full_matrices=False)

    def worst(rank: int) -> float:
        v = vt[:rank]
        return float(np.abs(strain - strain @ v.T @ v).max())

    assert 1 <= modes.rank < 5
    assert worst(modes.rank) <= tolerance * 1.001
    assert modes.rank == 1 or worst(modes.rank - 1) > tolerance
    v = modes.modes[0].astype(np.float64)  # the direct SVD's subspace
    assert np.allclose(v @ vt[: modes.rank].T @ vt[: modes.rank], v, atol=1e-4)


def test_grades_through_full_strain_modes_are_the_gemm_s_and_through_too_few_are_not() -> None:
    fa, args = _toy_fused()
    full = np.concatenate(treated_grades(*args, stop=False)[:2], axis=1)
    assert len(np.unique(full)) >= 3  # the toy reaches several grades

    def through(modes: StrainModes) -> np.ndarray:  # type: ignore[type-arg]
        return np.concatenate(treated_grades(*args, stop=False, modes=modes)[:2], axis=1)

    every = _modes(fa, 0.0)
    assert every.rank == fa.gemm.shape[1]
    assert np.mean(through(every) != full) <= 0.002  # float32 rounding at a threshold, at most
    one = _modes(fa, 1e3)
    assert one.rank == 1
    assert np.mean(through(one) != full) > 0.05


@pytest.mark.parametrize("order", ["deepest first", "shuffled"])
@pytest.mark.parametrize("through_modes", [False, True])
def test_grading_by_blocks_of_cells_that_stops_once_known_equals_grading_every_cell(
    monkeypatch: pytest.MonkeyPatch, through_modes: bool, order: str
) -> None:
    """A row leaves the grading once each threshold's side is known whatever its unseen cells
    hold: the grades are those of one block of every cell, for any block size and any cell order
    (the stacked order, deepest first at no toxin, only makes rows leave sooner), through the full
    GEMM and through strain modes, with one graded area and with two (the second needs only the
    thresholds above the grade of the first)."""
    import rhytid._fused as fused

    if order == "shuffled":
        monkeypatch.setattr(
            fused, "_deepest_first", lambda s: np.random.default_rng(9).permutation(s.shape[1])
        )

    def grades(block: int, more_areas: int, only: int | None = None) -> np.ndarray:  # type: ignore[type-arg]
        monkeypatch.setattr(fused, "CELL_BLOCK", block)
        args = _toy_treated(np.arange(4), _toy_table(3), 1000, 4, 5, more_areas=more_areas, only=only)
        fa = args[0]
        modes = _modes(fa, 0.02) if through_modes else None
        assert fa.gemm_blocks.shape[:2] == (len(fa.n), -(-24 // block))
        return np.concatenate(treated_grades(*args, stop=False, modes=modes)[:2], axis=1)

    for more_areas in (0, 1):
        every = grades(24, more_areas)
        assert len(np.unique(every)) >= 3  # the toy reaches several grades
        for block in (1, 5, 8):
            assert np.array_equal(grades(block, more_areas), every)
    # two areas: the larger of each area's grade alone (no grade from another area to build on)
    each = [grades(5, 1, only=a) for a in (0, 1)]
    assert np.array_equal(every, np.maximum(*each))
    assert np.mean(each[1] > each[0]) > 0.003  # the second area raises some grades (~0.7 %)


def test_the_fused_areas_stack_their_cells_deepest_first_with_no_toxin() -> None:
    fa, _ = _toy_fused()
    s0 = fa.s0[0, :, : fa.n[0]]
    compression = np.hypot(0.5 * (s0[0] - s0[1]), s0[2]) - 0.5 * (s0[0] + s0[1])
    assert np.all(np.diff(compression) <= 1e-6)
    assert np.std(compression) > 0.01  # the toy's cells differ: the order is not trivial


def test_a_large_trial_through_its_strain_modes_grades_as_through_the_full_gemm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trial on shared tables (more chunks than realisations) through the modes of the default
    tolerance and with them turned off: fewer modes than GEMM rows, the error measured on the
    check sample near the tolerance, the same placebo arm and ptosis, the responder rates within
    1 point at every visit."""
    import rhytid.trial._run as trial_run

    monkeypatch.setattr(trial_run, "_REALISATIONS_MAX", 256)  # 2 chunks x 256 > 256: shared
    design = TrialDesign("forehead+glabellar", "onabotulinumtoxinA", 40, patients=4000, seed=3)
    tp = default_parameters()
    built: list[StrainModes | None] = []
    fit = trial_run._strain_modes

    def kept(*args: object) -> StrainModes | None:
        out = fit(*args)  # type: ignore[arg-type]
        built.append(out)
        return out

    monkeypatch.setattr(trial_run, "_strain_modes", kept)
    trial_run._TOXIN.clear()
    through = run_trial(design, tp, workers=1)
    assert len(built) == 2  # one per sex
    for m in built:
        assert m is not None
        assert m.rank < m.projection.shape[1]
        assert m.max_error <= 2.0 * tp.strain_mode_tolerance and m.p99_error < m.max_error
    # modes that need nearly every GEMM row are not used (two GEMMs would cost more than one)
    fm = face_model("female", design.graded_areas, tp.area_cells_max, tp.quadrature_stride, tp.tissue)
    trial_run.run_chunk(design, tp, 8, np.random.SeedSequence(0))  # the shared tables, cached
    shared = trial_run._TOXIN[trial_run._toxin_key(design, tp, "female", False)]
    assert shared.tables is not None and shared.blocked is not None and shared.modes is not None
    rows = shared.modes.projection.shape[1]
    for rank, used in ((rows - 2, True), (rows - 1, False), (rows, False)):
        monkeypatch.setattr(
            trial_run, "strain_modes", lambda *a, r=rank: dataclasses.replace(shared.modes, rank=r)
        )
        got = fit(fm, shared.tables, shared.blocked, tp, shared.w_max, np.random.default_rng(0))
        assert (got is not None) == used
    built.clear()
    trial_run._TOXIN.clear()
    full = run_trial(design, tp.replace(trial={"strain_mode_tolerance": 0.0}), workers=1)
    assert built == [None, None]
    assert through.rate("none_or_mild", "placebo").tolist() == full.rate("none_or_mild", "placebo").tolist()
    for endpoint in ("none_or_mild", "improve1", "improve2"):
        assert np.abs(through.rate(endpoint) - full.rate(endpoint)).max() <= 0.01
    assert through.adverse_rate("eyelid_ptosis") == full.adverse_rate("eyelid_ptosis")
    trial_run._TOXIN.clear()
