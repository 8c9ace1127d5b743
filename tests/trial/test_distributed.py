"""The same trial on a Dask cluster gives exactly the single-machine result."""

from __future__ import annotations

import json

import pytest

from rhytid.trial import TrialDesign, TrialParameters, run_trial

distributed = pytest.importorskip("distributed")


def test_cluster_run_equals_local_run() -> None:
    tp = TrialParameters.from_data().replace(chunk_patients=300)
    design = TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=800, seed=9)
    local = run_trial(design, tp)
    assert len(local.chunks) == 3
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = run_trial(design, tp, scheduler=client)
    assert json.dumps(remote.to_dict()) == json.dumps(local.to_dict())
