"""Shared fixtures: the reference faces, their bases and the bundled example plans."""

from __future__ import annotations

from pathlib import Path

import pytest

import rhytid
from rhytid.anatomy import Face, reference_face
from rhytid.tissue import Basis, get_basis

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


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
