"""Trial design files: arms with their own plans, placebo, inclusion, endpoints; bad input names the field."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from rhytid.cli import main
from rhytid.errors import TrialError
from rhytid.trial import TrialParameters
from rhytid.trial._design_file import parse_design, run_design

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "trials" / "forehead-dose-ranging.toml"

GLABELLAR = [
    {"site": s, "units": 4}
    for s in (
        "procerus",
        "corrugator_medial_l",
        "corrugator_medial_r",
        "corrugator_lateral_l",
        "corrugator_lateral_r",
    )
]


def _design(**changes: object) -> dict[str, object]:
    d: dict[str, object] = {
        "name": "two arms",
        "area": "glabellar",
        "visits": [14, 30, 120],
        "patients": 240,
        "arm": [
            {"name": "ona 20", "product": "onabotulinumtoxinA", "injections": GLABELLAR},
            {"name": "placebo", "placebo": True},
        ],
    }
    d.update(changes)
    return d


@pytest.fixture(scope="module")
def tp() -> TrialParameters:
    return TrialParameters.from_data().replace(chunk_patients=60)


def test_example_file_parses_with_its_arms_and_sizes() -> None:
    spec = parse_design(tomllib.loads(EXAMPLE.read_text()))
    assert [a.name for a in spec.arms] == ["40 U", "forehead 10 U", "placebo"]
    assert spec.arm_sizes(1200) == [600, 300, 300]  # ratios 2:1:1
    assert spec.arm_sizes(7 + 8 * 3) == [15, 8, 8]  # largest remainder, still sums to the total


def test_treated_arm_beats_placebo_and_placebo_blocks_nothing(tp: TrialParameters) -> None:
    r = run_design(parse_design(_design()), tp)
    d = r.to_dict()
    assert [a["n"] for a in d["arms"]] == [120, 120]
    day30 = d["visits"][1]["none_or_mild"]
    assert day30["ona 20"] > day30["placebo"] + 0.3
    assert day30["ona 20_ci95"][0] < day30["ona 20"] < day30["ona 20_ci95"][1]
    # placebo arms have no toxin: no ptosis, and no duration of response
    assert d["adverse_events"]["eyelid_ptosis"]["placebo"] == 0.0
    assert "placebo" not in d["median_days_to_baseline"]
    assert d["median_days_to_baseline"]["ona 20"] > 30


def test_more_units_per_point_work_longer(tp: TrialParameters) -> None:
    high = [dict(i, units=8) for i in GLABELLAR]
    spec = parse_design(
        _design(
            arm=[
                {"name": "20 U", "product": "onabotulinumtoxinA", "injections": GLABELLAR},
                {"name": "40 U", "product": "onabotulinumtoxinA", "diluent_ml": 5.0, "injections": high},
            ]
        )
    )
    r = run_design(spec, tp, patients=400)
    assert r.rate("40 U", "none_or_mild")[2] > r.rate("20 U", "none_or_mild")[2]
    arms = r.to_dict()["design"]["arms"]
    assert arms[1]["total_units"] == 40 and arms[1]["units_per_ml"] == 20  # 100 U in 5 mL
    assert arms[1]["injections"][0]["volume_ml"] == pytest.approx(0.4)


def test_points_in_the_face_frame_and_inclusion(tp: TrialParameters) -> None:
    points = [
        {"x_mm": 0.0, "y_mm": 8.0, "units": 4},
        {"x_mm": 13.0, "y_mm": 9.0, "units": 4, "depth": "subcutaneous"},
    ]
    spec = parse_design(
        _design(
            arm=[{"name": "two points", "product": "incobotulinumtoxinA", "injections": points}],
            inclusion={"age_min": 30, "age_max": 50, "female_fraction": 1.0},
            endpoints=["none_or_mild", "eyelid_ptosis"],
        )
    )
    assert spec.parameters(tp).population.age_max == 50
    d = run_design(spec, tp, patients=60).to_dict()
    assert set(d["visits"][0]) == {"day", "none_or_mild"}
    assert set(d["adverse_events"]) == {"eyelid_ptosis"} and "median_days_to_baseline" not in d
    assert d["design"]["arms"][0]["injections"][1]["depth"] == "subcutaneous"


def test_same_seed_same_result_serial_threaded_and_on_dask(tp: TrialParameters) -> None:
    spec = parse_design(_design())
    serial = json.dumps(run_design(spec, tp, workers=1).to_dict())
    threaded = json.dumps(run_design(spec, tp, workers=2).to_dict())
    assert serial == threaded
    assert json.dumps(run_design(spec, tp, seed=2).to_dict()) != serial
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert json.dumps(run_design(spec, tp, scheduler=client).to_dict()) == serial


BAD = [
    ("area", _design(area="chin"), "area: must be one of"),
    ("visits", _design(visits=[30, 14]), "visits: must be increasing"),
    ("patients", _design(patients=3), "patients:"),
    ("endpoint", _design(endpoints=["cure"]), "endpoints"),
    ("unknown key", _design(colour="red"), "unknown field 'colour'"),
    (
        "no treated arm",
        _design(arm=[{"name": "placebo", "placebo": True}]),
        "at least one arm must be treated",
    ),
    (
        "product",
        _design(arm=[{"name": "x", "product": "botox", "injections": GLABELLAR}]),
        "arm 1 ('x'): product.name: unknown product 'botox'",
    ),
    (
        "units",
        _design(
            arm=[
                {
                    "name": "x",
                    "product": "onabotulinumtoxinA",
                    "injections": [{"site": "procerus", "units": 500}],
                }
            ]
        ),
        "arm 1 ('x'): injection 1: units: must be between 0.5 and 100",
    ),
    (
        "site",
        _design(
            arm=[{"name": "x", "product": "onabotulinumtoxinA", "injections": [{"site": "chin", "units": 4}]}]
        ),
        "arm 1 ('x'): injection 1: unknown site 'chin'",
    ),
    (
        "off face",
        _design(
            arm=[
                {
                    "name": "x",
                    "product": "onabotulinumtoxinA",
                    "injections": [{"x_mm": 400, "y_mm": 0, "units": 4}],
                }
            ]
        ),
        "off the modelled face",
    ),
    (
        "day",
        _design(
            arm=[
                {
                    "name": "x",
                    "product": "onabotulinumtoxinA",
                    "injections": [{"site": "procerus", "units": 4, "day": 14}],
                }
            ]
        ),
        "day 0 only",
    ),
    (
        "arm without plan",
        _design(arm=[{"name": "x"}]),
        "arm 1: an arm that is not placebo needs product and injections",
    ),
    (
        "duplicate arms",
        _design(arm=[{"name": "a", "product": "onabotulinumtoxinA", "injections": GLABELLAR}] * 2),
        "arm names must be distinct",
    ),
    (
        "ratio",
        _design(arm=[{"name": "a", "ratio": 0, "product": "onabotulinumtoxinA", "injections": GLABELLAR}]),
        "arm 1: ratio:",
    ),
    ("ages", _design(inclusion={"age_min": 60, "age_max": 40}), "age_min must be below age_max"),
    (
        "arm too small",
        _design(
            patients=20,
            arm=[
                {"name": "a", "ratio": 9, "product": "onabotulinumtoxinA", "injections": GLABELLAR},
                {"name": "p", "placebo": True},
            ],
        ),
        "arm 'p' gets 2 of 20",
    ),
]


@pytest.mark.parametrize(("data", "message"), [(d, m) for _, d, m in BAD], ids=[k for k, _, _ in BAD])
def test_bad_designs_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(TrialError) as exc:
        parse_design(data)
    text = str(exc.value)
    assert message in text.replace("Value error, ", ""), text
    assert "\n" not in text


def _toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "area = 'glabellar'\n[[arm]]\nname = 'a'\nproduct = 'onabotulinumtoxinA'\ninjections = [{site = 'procerus', units = -1}]\n",
            "injection 1: units",
        ),
        ("area = 'glabellar'\npatients = 'many'\n[[arm]]\nname = 'p'\nplacebo = true\n", "patients"),
        ("area = 'glabellar\n", "not valid TOML"),
    ],
    ids=["negative units", "patients not a number", "broken toml"],
)
def test_cli_bad_design_exits_2_with_one_line(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _toml(tmp_path / "d.toml", text)
    assert main(["trial", "--design", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cli_missing_file_and_mixed_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trial", "--design", str(tmp_path / "none.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["trial", "--design", str(EXAMPLE), "--area", "glabellar"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["trial", "--product", "onabotulinumtoxinA", "--dose", "20"]) == 2
    assert "--area" in capsys.readouterr().err


def test_cli_runs_the_example_design(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trial", "--design", str(EXAMPLE), "--patients", "64", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in d["arms"]] == ["40 U", "forehead 10 U", "placebo"]
    assert set(d["visits"][2]["none_or_mild"]) >= {"40 U", "40 U_ci95", "placebo", "placebo_ci95"}
    assert main(["trial", "--design", str(EXAMPLE), "--patients", "64"]) == 0
    out = capsys.readouterr().out
    assert "forehead dose-ranging" in out and "none or mild" in out
