"""The `rhytid anatomy` and `rhytid simulate` commands: contracts, exit codes, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rhytid
from rhytid.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_anatomy_json_has_the_contract_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["anatomy", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["landmarks"]["nasion"] == [0.0, 0.0]
    for name in ("pupil_l", "orbital_rim_sup_r", "brow_peak_l", "lateral_canthus_r", "trichion"):
        assert name in data["landmarks"]
    assert "procerus" in data["sites"] and "corrugator_lateral_l" in data["sites"]
    assert {"glabellar", "forehead"} <= set(data["areas"])


def test_anatomy_male_differs(capsys: pytest.CaptureFixture[str]) -> None:
    _, female, _ = _run(["anatomy", "--json"], capsys)
    _, male, _ = _run(["anatomy", "--json", "--sex", "male", "--age", "60"], capsys)
    assert json.loads(male)["landmarks"]["pupil_l"] != json.loads(female)["landmarks"]["pupil_l"]


def test_anatomy_png_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "face.png"
    code, _, _ = _run(["anatomy", "--png", str(target)], capsys)
    assert code == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["anatomy", "--sex", "other"], "--sex"),
        (["anatomy", "--age", "10"], "--age"),
    ],
    ids=["bad-sex", "child"],
)
def test_anatomy_bad_options_exit_2(args: list[str], field: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(args, capsys)
    assert code == 2
    assert field in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_simulates(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["simulate", str(example), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data == json.loads(json.dumps(rhytid.simulate(rhytid.load_plan(example)).to_dict()))
    assert data["timeline"][0]["day"] == 0


def test_simulate_prints_a_table_per_visit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["simulate", str(ROOT / "examples" / "risky-lateral-corrugator.toml")], capsys)
    assert code == 0
    assert "180" in out and "eyelid_ptosis" in out


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_simulate_fits_80_columns(
    example: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _run(["simulate", str(example)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert "…" not in out  # no cell cut short
    outcome = rhytid.simulate(rhytid.load_plan(example))
    # every visit's grades are there in words, and only the muscles the plan reaches get a column
    for v in outcome.timeline:
        assert any(line.lstrip().startswith(f"{v.day:g} ") for line in lines), v.day
    peak: dict[str, float] = {}
    for v in outcome.timeline:
        for name, b in v.muscle_block.items():
            base = name.removesuffix("_l").removesuffix("_r").replace("_", " ")
            peak[base] = max(peak.get(base, 0.0), b)
    block_part = out.split("Block of the muscles")[1:] if "Block of the muscles" in out else []
    shown = " ".join(part.split("Brow height change")[0] for part in block_part)
    for base, b in peak.items():
        assert (base in shown) == (b >= 0.05), (base, b)
    assert "-0.0" not in out


def test_simulate_report_writes_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(
        ["simulate", str(ROOT / "examples" / "glabellar-20U.toml"), "--report", str(tmp_path)], capsys
    )
    assert code == 0
    assert "<html" in (tmp_path / "index.html").read_text().lower()


def test_bad_plan_exits_2_with_one_line(tmp_path: Path) -> None:
    """Through the installed console script: exit status 2, one clear line, no traceback."""
    plan = tmp_path / "bad.toml"
    plan.write_text(
        '[product]\nname = "onabotulinumtoxinA"\n[[injection]]\nsite = "procerus"\nunits = 5000\n'
    )
    script = Path(sys.executable).parent / "rhytid"
    done = subprocess.run(
        [str(script), "simulate", str(plan)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: injection 1: units: must be between 0.5 and 100, got 5000"
    assert "Traceback" not in done.stderr + done.stdout


def test_missing_argument_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["simulate"], capsys)
    assert code == 2 and "Traceback" not in err


# --- rhytid motion -----------------------------------------------------------------------------


def test_motion_json_has_the_contract_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["motion", "--expression", "raise_brows", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert (data["expression"], data["sex"], data["day"]) == ("raise_brows", "female", None)
    _, anatomy_out, _ = _run(["anatomy", "--json"], capsys)
    assert set(data["landmarks"]) == set(json.loads(anatomy_out)["landmarks"])
    assert data["landmarks"]["brow_peak_l"]["dy_mm"] > 7.0  # lifted
    assert data["landmarks"]["trichion"]["dy_mm"] < 0.0  # the hairline skin comes down
    pupil = json.loads(anatomy_out)["landmarks"]["pupil_l"][0]
    assert sorted(p["x_mm"] for p in data["profiles"]) == [-pupil, pupil]
    for p in data["profiles"]:
        pts = p["points"]
        assert len(pts) >= 20
        assert pts[0]["height_fraction"] == 0.0 and pts[-1]["height_fraction"] == 1.0
        assert pts[0]["dy_mm"] > 0 > pts[-1]["dy_mm"]
        assert 0.4 < p["c_line_height_fraction"] < 0.8


def test_motion_with_a_plan_moves_less(capsys: pytest.CaptureFixture[str]) -> None:
    plan = str(ROOT / "examples" / "forehead-glabellar-40U.toml")
    _, free, _ = _run(["motion", "--expression", "raise_brows", "--json"], capsys)
    code, treated, _ = _run(
        ["motion", "--expression", "raise_brows", "--plan", plan, "--day", "30", "--json"], capsys
    )
    assert code == 0
    t, f = json.loads(treated), json.loads(free)
    assert t["day"] == 30
    for pt, pf in zip(t["profiles"], f["profiles"], strict=True):  # mid-pupil line, brow height
        assert 0 < pt["points"][0]["dy_mm"] < 0.7 * pf["points"][0]["dy_mm"]
    assert t["landmarks"]["brow_peak_l"]["dy_mm"] < f["landmarks"]["brow_peak_l"]["dy_mm"]


def test_motion_smile_and_male(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["motion", "--expression", "smile", "--sex", "male", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["sex"] == "male"
    assert data["landmarks"]["lateral_canthus_l"]["dy_mm"] > 0.5  # the cheek pushes up


def test_motion_png_draws_arrows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "frown.png"
    code, out, _ = _run(["motion", "--expression", "frown", "--png", str(png)], capsys)
    assert code == 0 and "frown.png" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--expression", "wink"], "expression must be one of"),
        (["--expression", "frown", "--sex", "other"], "--sex"),
        (["--expression", "frown", "--day", "30"], "--plan and --day"),
        (["--expression", "frown", "--plan", "examples/glabellar-20U.toml"], "--plan and --day"),
        (["--expression", "frown", "--plan", "examples/glabellar-20U.toml", "--day", "-3"], "--day"),
    ],
    ids=["expression", "sex", "day-alone", "plan-alone", "negative-day"],
)
def test_motion_bad_input_is_one_clear_line(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["motion", *args, "--json"], capsys)
    assert code == 2 and out == ""
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
