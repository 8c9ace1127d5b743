"""Fixtures of the clinical-rule tests: the reference face, a complete history, a fixed today."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from rhytid.anatomy import Face, reference_face

TODAY = dt.date(2025, 6, 1)
NOTHING_TO_REPORT = Path(__file__).resolve().parents[2] / "examples" / "histories" / "nothing-to-report.json"


@pytest.fixture(scope="session")
def face() -> Face:
    return reference_face("female")


def complete_history(**changes: Any) -> dict[str, Any]:
    """A fully answered history with nothing to report, then ``changes`` applied."""
    base: dict[str, Any] = json.loads(NOTHING_TO_REPORT.read_text())
    base.update(changes)
    return base
