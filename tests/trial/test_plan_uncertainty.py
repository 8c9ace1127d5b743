"""``rhytid simulate --uncertainty``: grade and risk probabilities of one plan over posterior draws."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import rhytid
from rhytid._plan import Injection, Plan
from rhytid.cli import main
from rhytid.trial._plan_uncertainty import plan_draws, simulate_with_uncertainty
from rhytid.trial._posterior import Laplace, load_posterior

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "examples" / "glabellar-20U.toml"
RISKY = ROOT / "examples" / "risky-lateral-corrugator.toml"
DRAWS = 64


def _scaled(post: Laplace, k: float) -> Laplace:
    return replace(post, cov=post.cov * k)


def _zero_units(plan: Plan) -> Plan:
    """The plan with every injection at 0 U (below what a plan file allows: built unvalidated)."""
    injections = tuple(
        Injection.model_construct(**{**i.__dict__, "units": 0.0, "volume_ml": 0.1}) for i in plan.injections
    )
    return plan.model_copy(update={"injections": injections})


@pytest.fixture(scope="module")
def risky() -> dict:
    return simulate_with_uncertainty(rhytid.load_plan(RISKY), draws=DRAWS, seed=3)


def test_grade_probabilities_have_the_contract_shape_and_sum_to_one(risky: dict) -> None:
    central = rhytid.simulate(rhytid.load_plan(RISKY)).to_dict()
    assert len(risky["timeline"]) == len(central["timeline"])
    for v in risky["timeline"]:
        assert set(v["areas"]) == {"glabellar", "forehead", "lateral_canthal_l", "lateral_canthal_r"}
        for state in v["areas"].values():
            for which in ("rest", "max"):
                p = state[which]["grade_probabilities"]
                assert len(p) == 4 and all(0.0 <= x <= 1.0 for x in p)
                assert sum(p) == pytest.approx(1.0, abs=1e-3)
                lo, hi = state[which]["depth_um_pi90"]
                assert 0.0 <= lo <= hi
        for name, m in v["muscles"].items():
            lo, hi = m["block_pi90"]
            assert 0.0 <= lo <= hi <= 1.0, name
        assert set(v["brow_height_change_mm_pi90"]) == set(v["brow_height_change_mm"])
    # the central values are rhytid.simulate's, unchanged
    assert [v["areas"]["glabellar"]["max"]["grade"] for v in risky["timeline"]] == [
        v["areas"]["glabellar"]["max"]["grade"] for v in central["timeline"]
    ]
    u = risky["uncertainty"]
    assert u["draws"] == DRAWS and u["seed"] == 3 and u["variation"] == "parameters"
    # every risk carries a probability; the plan's lid risk is likely, and every kind is listed
    kinds = {r["kind"] for r in risky["risk_probabilities"]}
    assert {"eyelid_ptosis", "brow_ptosis", "asymmetry"} <= kinds
    for r in [*risky["risks"], *risky["risk_probabilities"]]:
        levels = r["level_probabilities"]
        assert set(levels) == {"low", "moderate", "high"}
        assert sum(levels.values()) == pytest.approx(r["probability"], abs=1e-3)
    lid = next(r for r in risky["risks"] if r["kind"] == "eyelid_ptosis")
    assert lid["probability"] > 0.3


def test_same_seed_same_result_other_seed_other_draws() -> None:
    plan = rhytid.load_plan(PLAN)
    # patients: both streams of draws (parameters, and patients with their technique)
    a = simulate_with_uncertainty(plan, draws=20, seed=5, variation="patients")
    b = simulate_with_uncertainty(plan, draws=20, seed=5, variation="patients")
    c = simulate_with_uncertainty(plan, draws=20, seed=6, variation="patients")
    assert json.dumps(a) == json.dumps(b)
    assert json.dumps(a["timeline"]) != json.dumps(c["timeline"])


def test_a_wider_posterior_widens_the_predictions_monotonically() -> None:
    plan = rhytid.load_plan(PLAN)
    post = load_posterior()
    widths, modal = [], []
    for k in (0.0, 0.25, 1.0, 4.0):
        out = simulate_with_uncertainty(plan, draws=32, seed=2, posterior=_scaled(post, k))
        day30 = next(v for v in out["timeline"] if v["day"] == 30)["areas"]["glabellar"]["max"]
        lo, hi = day30["depth_um_pi90"]
        widths.append(hi - lo)
        modal.append(max(day30["grade_probabilities"]))
        if k == 0.0:  # no parameter uncertainty: one answer, the model's at the fitted parameters
            for v in out["timeline"]:
                for state in v["areas"].values():
                    for which in ("rest", "max"):
                        assert max(state[which]["grade_probabilities"]) == 1.0
    assert widths[0] == pytest.approx(0.0, abs=1e-6)
    assert all(a < b for a, b in itertools.pairwise(widths)), widths
    assert all(a >= b for a, b in itertools.pairwise(modal)), modal
    # patients like this one spread wider still than the parameters alone
    pat = simulate_with_uncertainty(plan, draws=32, seed=2, variation="patients")
    lo, hi = next(v for v in pat["timeline"] if v["day"] == 30)["areas"]["glabellar"]["max"]["depth_um_pi90"]
    assert hi - lo > widths[2]


def test_zero_units_leave_every_draw_at_its_untreated_grades() -> None:
    plan = _zero_units(rhytid.load_plan(PLAN))
    post = load_posterior()
    thetas = post.sample(np.random.default_rng(1), DRAWS)
    res = plan_draws(plan, thetas)
    for name, g in res.grades.items():
        # day 0 is before treatment: every later visit has the same grades, draw by draw
        assert np.array_equal(g, np.broadcast_to(g[:, :1], g.shape)), name
    assert np.all(res.block == 0.0)
    assert all(np.all(lv == 0) for lv in res.risks.values())
    # with the posterior shrunk to its optimum the untreated grade of the model has probability 1
    out = simulate_with_uncertainty(plan, draws=32, posterior=_scaled(post, 0.0))
    untreated = rhytid.simulate(rhytid.load_plan(PLAN)).to_dict()["timeline"][0]["areas"]
    for v in out["timeline"]:
        for name, state in v["areas"].items():
            assert state["max"]["grade_probabilities"][untreated[name]["max"]["grade"]] == 1.0
    assert all(r["probability"] == 0.0 for r in out["risk_probabilities"])


def test_cli_prints_probabilities_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", str(PLAN), "--uncertainty", "--draws", "32", "--seed", "4", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert data["uncertainty"]["draws"] == 32 and data["uncertainty"]["seed"] == 4
    assert len(data["timeline"][0]["areas"]["glabellar"]["max"]["grade_probabilities"]) == 4
    code = main(["simulate", str(PLAN), "--uncertainty", "--draws", "32", "--variation", "patients"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "Grade probability at maximum contraction" in out and "eyelid ptosis" in out
    assert "32 draws (seed 1)" in out


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--draws", "40"], "--draws goes with --uncertainty"),
        (["--uncertainty", "--draws", "3"], "--draws must be between"),
        (["--uncertainty", "--variation", "everyone"], "--variation must be"),
        (["--uncertainty", "--seed", "-1"], "--seed must be"),
    ],
    ids=["draws-alone", "few-draws", "bad-variation", "negative-seed"],
)
def test_cli_bad_uncertainty_options_are_one_line(
    args: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["simulate", str(PLAN), *args])
    _, err = capsys.readouterr()
    assert code == 2
    assert field in err and len(err.strip().splitlines()) == 1
