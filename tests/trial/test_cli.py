"""`rhytid trial` and `rhytid calibrate` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rhytid.cli import main

GLABELLAR_20U = ["trial", "--area", "glabellar", "--product", "onabotulinumtoxinA", "--dose", "20"]


def test_trial_json_follows_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*GLABELLAR_20U, "--patients", "200", "--seed", "1", "--json"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    assert d["design"]["seed"] == 1 and d["design"]["n_treated"] == 150 and d["design"]["n_placebo"] == 50
    assert len(d["visits"]) == 8


def test_trial_table_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*GLABELLAR_20U, "--patients", "200", "--report", str(tmp_path / "r")])
    assert code == 0
    out = capsys.readouterr().out
    assert "none or mild" in out and "eyelid ptosis" in out
    assert (tmp_path / "r" / "index.html").exists() and (
        tmp_path / "r" / "responders.png"
    ).stat().st_size > 1000
    assert "Published points" in (tmp_path / "r" / "index.html").read_text()


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--area", "chin", "--product", "onabotulinumtoxinA", "--dose", "20"], "--area"),
        (["--area", "glabellar", "--product", "x", "--dose", "20"], "--product"),
        (["--area", "glabellar", "--product", "onabotulinumtoxinA", "--dose", "0"], "--dose"),
        (
            ["--area", "glabellar", "--product", "onabotulinumtoxinA", "--dose", "20", "--patients", "2"],
            "--patients",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trial", *args, "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and option in err


def test_unreachable_scheduler_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*GLABELLAR_20U, "--patients", "50", "--json", "--scheduler", "tcp://127.0.0.1:1"])
    assert code == 2
    assert "--scheduler" in capsys.readouterr().err


def test_calibrate_rejects_tiny_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "--patients", "10"]) == 2
    assert "--patients" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--parts", "fit,dance"], "--parts"),
        (["--start", "yesterday"], "--start"),
        (["--sobol-n", "6"], "--sobol-n"),
        (["--max-evaluations", "0"], "--max-evaluations"),
    ],
)
def test_calibrate_bad_options_exit_2(
    args: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calibrate", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert option in err and len(err.splitlines()) == 1


def test_trial_uncertainty_reports_predictive_intervals(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*GLABELLAR_20U, "--patients", "80", "--uncertainty", "--draws", "4", "--json"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    nm = d["visits"][2]["none_or_mild"]
    lo, hi = nm["treated_pi90"]
    assert lo <= nm["treated"] <= hi and hi - lo > 0
    assert "treated_pi90" in d["adverse_events"]["eyelid_ptosis"] and d["uncertainty"]["draws"] == 4
    assert main([*GLABELLAR_20U, "--uncertainty", "--draws", "2"]) == 2
    assert "--draws" in capsys.readouterr().err
