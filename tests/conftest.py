"""Shared fixtures: the reference faces, their bases and the bundled example plans."""

from __future__ import annotations

from pathlib import Path

import pytest

import rhytid
from rhytid.anatomy import Face, reference_face
from rhytid.tissue import Basis, get_basis

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def pytest_configure(config: pytest.Config) -> None:
    """Compile the numba kernels and build the bases on disk once, before xdist starts its workers.

    A cold start costs about 20 s of compiling and 5 s of basis building; paid inside a test's
    HTTP request (the first plan a test server previews) on a slow CI host, it ran past the
    client's 30 s timeout, and both workers paid it at once. Workers then load the caches.
    """
    if hasattr(config, "workerinput"):
        return
    from rhytid.trial import TrialDesign, run_trial

    for example in ("glabellar-20U.toml", "forehead-glabellar-40U.toml"):
        plan = rhytid.load_plan(EXAMPLES / example)
        for sex in ("female", "male"):
            patient = rhytid.Patient(sex=sex)
            rhytid.simulate(plan, patient)
            rhytid.simulate(plan, patient, exact=False)
    run_trial(TrialDesign("glabellar", "onabotulinumtoxinA", 20.0, patients=8))


@pytest.fixture(scope="session")
def female() -> Face:
    return reference_face("female")


@pytest.fixture(scope="session")
def basis(female: Face) -> Basis:
    return get_basis(female)


@pytest.fixture(scope="session")
def glabellar_plan() -> rhytid.Plan:
    return rhytid.load_plan(EXAMPLES / "glabellar-20U.toml")


@pytest.fixture(scope="session")
def glabellar_outcome(glabellar_plan: rhytid.Plan) -> rhytid.Outcome:
    return rhytid.simulate(glabellar_plan)
