"""Regression guard: the pinned predictions of tests/golden/predictions.json.

A change that moves a prediction by more than its tolerance (half of its 90 % predictive
interval's half-width) fails here; if the move is intended, regenerate the file on purpose
(`python -m rhytid.trial._golden tests/golden/predictions.json`) and say why in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rhytid.trial._golden import PATIENTS, SEED, predictions

GOLDEN = Path(__file__).parent / "golden" / "predictions.json"


@pytest.fixture(scope="module")
def now() -> dict[str, dict[str, float]]:
    return predictions()


def _cases() -> list[tuple[str, str]]:
    doc = json.loads(GOLDEN.read_text())
    return [(t, k) for t, entry in doc["predictions"].items() for k in entry]


def test_golden_file_is_for_this_design() -> None:
    doc = json.loads(GOLDEN.read_text())
    assert doc["patients"] == PATIENTS and doc["seed"] == SEED
    assert len(_cases()) >= 10
    for entry in doc["predictions"].values():
        for v in entry.values():
            lo, hi = v["pi90"]
            assert lo <= v["value"] <= hi and v["tolerance"] > 0


@pytest.mark.parametrize(("trial", "key"), _cases(), ids=[f"{t}.{k}" for t, k in _cases()])
def test_prediction_stays_within_its_tolerance(
    now: dict[str, dict[str, float]], trial: str, key: str
) -> None:
    pinned = json.loads(GOLDEN.read_text())["predictions"][trial][key]
    assert now[trial][key] == pytest.approx(pinned["value"], abs=pinned["tolerance"]), (
        f"{trial}.{key} moved from {pinned['value']} to {now[trial][key]} (tolerance {pinned['tolerance']}); "
        "if intended, regenerate tests/golden/predictions.json and say why in the commit"
    )
