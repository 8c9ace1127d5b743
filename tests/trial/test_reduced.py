"""The reduced-order area evaluation: within its stored error bound, and a trial through it within
the exact engine's interval; the same seed gives the same trial serially and in threads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rhytid import default_parameters
from rhytid._reduced import measure_error
from rhytid.trial import TrialDesign, run_trial, wilson
from rhytid.trial._engine import face_model


@pytest.mark.parametrize("sex", ["female", "male"])
def test_reduced_cells_stay_within_the_error_stored_at_build(sex: str) -> None:
    """Fresh activation states (another seed than the build's) stay within the stored bounds; the
    bound is under a third of a grade band; the set is weighted and no larger than asked."""
    tp = default_parameters()
    areas = ("glabellar", "forehead")
    reduced = face_model(sex, areas, tp.area_cells_max, tp.quadrature_stride, tp.tissue)
    exact = face_model(sex, areas, tp.area_cells_max, tp.quadrature_stride, tp.tissue, exact=True)
    t1, t2, _ = tp.grade_thresholds_um
    for full, small in zip(exact.areas, reduced.areas, strict=True):
        stored = reduced.errors[small.name]
        assert small.n <= tp.area_cells_max < full.n
        assert small.weights is not None and small.weights.sum() == pytest.approx(1.0)
        assert set(small.cells) <= set(full.cells)
        assert stored.p99_um <= stored.max_um < (t2 - t1) / 3  # a third of the narrowest grade band
        ex, approx, differs = measure_error(exact.engine, full, small, tp.tissue, 128, seed=7)
        err = np.abs(ex - approx)
        # the stored max and 99th percentile come from 256 states drawn alike: a fresh state
        # exceeds them with a chance of about 1/257 and 1/100
        assert np.mean(err > stored.max_um) <= 0.03, small.name
        assert np.mean(err > stored.p99_um) <= 0.05, small.name
        assert differs.mean() <= max(3 * stored.grade_disagreement, 4 / 128), small.name


def test_representative_cells_beat_as_many_cells_taken_evenly() -> None:
    """The clustering and its weights matter: as many cells taken evenly through the area (in
    raster order, unweighted) err more on the same states."""
    tp = default_parameters()
    reduced = face_model("female", ("glabellar",), tp.area_cells_max, tp.quadrature_stride, tp.tissue)
    exact = face_model(
        "female", ("glabellar",), tp.area_cells_max, tp.quadrature_stride, tp.tissue, exact=True
    )
    full, small = exact.areas[0], reduced.areas[0]
    naive = full.subset(np.linspace(0, full.n - 1, small.n).astype(np.intp))
    p99 = []
    for cells in (small, naive):
        ex, approx, _ = measure_error(exact.engine, full, cells, tp.tissue, 128, seed=7)
        p99.append(np.percentile(np.abs(ex - approx), 99))
    assert p99[0] < 0.85 * p99[1]


def test_label_trial_rates_with_reduced_cells_lie_in_the_exact_engines_interval() -> None:
    design = TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=240, seed=11)
    tp = default_parameters().replace(chunk_patients=240)
    fast = run_trial(design, tp, workers=1)
    exact = run_trial(design, tp, workers=1, exact=True)
    assert fast.n_treated == exact.n_treated
    n = exact.n_treated
    for endpoint in ("none_or_mild", "improve1"):
        for k, rate in enumerate(fast.rate(endpoint)):
            lo, hi = wilson(round(exact.rate(endpoint)[k] * n), n)
            assert lo <= rate <= hi, (endpoint, design.visits[k])


def test_same_seed_same_trial_serial_and_threaded() -> None:
    design = TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=300, seed=5)
    tp = default_parameters().replace(chunk_patients=100)
    serial = run_trial(design, tp, workers=1).to_dict()
    threaded = run_trial(design, tp, workers=3).to_dict()
    assert json.dumps(serial) == json.dumps(threaded)
