"""Regression guard: simulate()'s JSON on the plans of tests/golden/_simulate_plans.py (the examples
and seeded random plans, exact and reduced cells) stays that of tests/golden/simulate_outcomes.json:
every string, integer and grade identical, every float within 1e-9 relative (1e-9 absolute near
zero). Regenerate the file only for an intended change of the outputs and say why in the commit."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

import rhytid

GOLDEN = Path(__file__).parent / "golden"


def _plans() -> Any:
    spec = importlib.util.spec_from_file_location("_simulate_plans", GOLDEN / "_simulate_plans.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.plans()


PLANS = _plans()
PINNED = json.loads((GOLDEN / "simulate_outcomes.json").read_text())


def _same(a: Any, b: Any, path: str) -> None:
    if isinstance(b, float) and isinstance(a, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {a} != {b}"
    elif isinstance(b, dict):
        assert isinstance(a, dict) and a.keys() == b.keys(), path
        for k in b:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert type(a) is type(b) and a == b, f"{path}: {a!r} != {b!r}"


def test_golden_covers_the_examples_and_random_plans() -> None:
    assert PINNED.keys() == PLANS.keys()
    assert sum(k.startswith("random-") for k in PLANS) >= 10


@pytest.mark.parametrize("name", sorted(PLANS))
@pytest.mark.parametrize("exact", ["exact", "reduced"])
def test_simulate_json_matches_the_pinned_outcome(name: str, exact: str) -> None:
    now = json.loads(json.dumps(rhytid.simulate(PLANS[name], exact=exact == "exact").to_dict()))
    _same(now, PINNED[name][exact], f"{name}.{exact}")
