"""Fixtures of the clinical-rule tests: the reference face, a complete history, a fixed today."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rhytid.anatomy import Face, reference_face

TODAY = dt.date(2025, 6, 1)


@pytest.fixture(scope="session")
def face() -> Face:
    return reference_face("female")


def complete_history(**changes: Any) -> dict[str, Any]:
    """A fully answered history with nothing to report, then ``changes`` applied."""
    base: dict[str, Any] = {
        "schema_version": 1,
        "allergies": [],
        "conditions": [],
        "medications": [],
        "pregnant": False,
        "breastfeeding": False,
        "infection_at_injection_site": False,
        "inflammation_at_injection_site": False,
        "previous_toxin": [],
        "previous_eyelid_droop": False,
        "previous_brow_droop": False,
        "facial_surgery": False,
        "dry_eye": False,
        "bleeding_disorder": False,
    }
    base.update(changes)
    return base
