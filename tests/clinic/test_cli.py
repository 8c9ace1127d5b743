"""The ``screen``, ``triage`` and ``check`` commands: exit codes, JSON keys, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rhytid.cli import main

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = ROOT / "examples" / "histories"
AFTERCARE = ROOT / "examples" / "aftercare"


def run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from rhytid.cli import main; sys.exit(main())", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def one_clear_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("name", "decision"),
    [
        ("complete-ok", "ok"),
        ("contract-example", "do_not_treat"),
        ("precautions", "treat_with_precautions"),
        ("incomplete", "incomplete"),
    ],
)
def test_screen_json(name: str, decision: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["screen", str(HISTORIES / f"{name}.json"), "--json", "--date", "2025-06-01"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["decision"] == decision
    assert {"decision", "findings", "missing"} <= set(out)


def test_screen_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", str(HISTORIES / "precautions.json"), "--date", "2025-06-01"]) == 0
    out = capsys.readouterr().out
    assert "treat_with_precautions" in out and "antithrombotic" in out


def test_screen_product_changes_findings(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["screen", str(HISTORIES / "contract-example.json"), "--json", "--date", "2025-06-01"]
    assert main([*args, "--product", "abobotulinumtoxinA"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    cow = next(f for f in findings if f["code"] == "formulation_allergy_cow_milk_protein")
    assert cow["severity"] == "contraindication"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["screen", str(HISTORIES / "unknown-medicine.json")], "medications[0]"),
        (["screen", str(HISTORIES / "future-date.json")], "previous_toxin[0].date"),
        (["screen", str(HISTORIES / "complete-ok.json"), "--date", "2025-02-30"], "--date"),
        (["screen", str(HISTORIES / "complete-ok.json"), "--product", "botox"], "product"),
        (["screen", str(HISTORIES / "absent.json")], "history file"),
        (["triage", str(AFTERCARE / "bad-symptom.json")], "symptoms[0].code"),
        (["triage"], "give either"),
        (["check", str(ROOT / "examples" / "absent.toml")], "plan file"),
    ],
    ids=["medicine", "future", "date", "product", "no-file", "symptom", "no-report", "no-plan"],
)
def test_bad_input_is_one_clear_line(args: list[str], field: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert field in one_clear_line(captured.err)
    assert captured.out == ""


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("expected", "expected"),
        ("eyelid-droop", "contact_clinic"),
        ("long-headache", "contact_clinic"),
        ("stroke-signs", "emergency"),
    ],
)
def test_triage_examples(name: str, level: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triage", str(AFTERCARE / f"{name}.json"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["level"] == level and out["advice"] and out["reasons"]
    assert main(["triage", str(AFTERCARE / f"{name}.json")]) == 0
    assert level in capsys.readouterr().out


def test_triage_interactive_stroke() -> None:
    # days, 3 areas, then "facial droop?" yes, "sudden?" yes, "only treated area?" no
    result = run(["triage", "--interactive", "--json"], stdin="3\ny\nn\nn\ny\ny\nn\n")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["level"] == "emergency" and "FAST" in report["advice"]


def test_check_exit_codes() -> None:
    ok = ["--history", str(HISTORIES / "complete-ok.json"), "--date", "2025-06-01"]
    safe = run(["check", "examples/glabellar-20U.toml", "--json", *ok])
    assert safe.returncode == 0, safe.stderr
    assert json.loads(safe.stdout)["blocking"] is False
    # without a medical history the same plan is blocked, never "no findings"
    bare = run(["check", "examples/glabellar-20U.toml", "--json"])
    assert bare.returncode == 1, bare.stderr
    findings = json.loads(bare.stdout)["findings"]
    assert findings[0]["code"] == "no_history" and findings[0]["severity"] == "blocking"
    assert "no medical history on file" in findings[0]["reason"]
    risky = run(["check", "examples/risky-lateral-corrugator.toml", "--json", *ok])
    assert risky.returncode == 1, risky.stderr
    out = json.loads(risky.stdout)
    assert out["blocking"] is True
    blocking = [f for f in out["findings"] if f["severity"] == "blocking"]
    assert any(f["injection"] == 4 and f["distance_mm"] < 10 for f in blocking)


def test_check_table_and_history(tmp_path: Path) -> None:
    history = tmp_path / "h.json"
    history.write_text(
        json.dumps({"schema_version": 1, "previous_toxin": [{"date": "2025-05-01"}]}),
        encoding="utf-8",
    )
    args = ["check", "examples/glabellar-20U.toml", "--history", str(history)]
    result = run([*args, "--date", "2025-06-01"])
    assert result.returncode == 1
    assert "retreatment_too_soon" in result.stdout
