"""The same trial on a Dask cluster gives exactly the single-machine result."""

from __future__ import annotations

import json

import pytest

import rhytid.trial._run as trial_run
from rhytid.trial import TrialDesign, TrialParameters, run_trial

distributed = pytest.importorskip("distributed")


@pytest.mark.parametrize(
    ("chunk", "patients", "shared"),
    [
        (300, 800, False),  # 3 chunks, each with its own realisations and tables
        (100, 900, True),  # 9 x 256 > 2048: the trial's shared tables and their strain modes
    ],
)
def test_cluster_run_equals_local_run(chunk: int, patients: int, shared: bool) -> None:
    tp = TrialParameters.from_data().replace(chunk_patients=chunk)
    design = TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=patients, seed=9)
    assert trial_run.shares_realisations(design, tp) == shared and tp.strain_mode_tolerance > 0
    local = run_trial(design, tp, workers=2)
    assert len(local.chunks) == -(-patients // chunk)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = run_trial(design, tp, scheduler=client)  # the shared tables built again there
    assert json.dumps(remote.to_dict()) == json.dumps(local.to_dict())
