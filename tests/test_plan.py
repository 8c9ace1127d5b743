"""Plan files: parsing, validation and the errors a user sees."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rhytid
from rhytid import Plan, PlanError

GOOD = """
[product]
name = "onabotulinumtoxinA"
vial_units = 100
diluent_ml = 2.5

[[injection]]
site = "procerus"
units = 4

[[injection]]
x_mm = -14.0
y_mm = 16.0
units = 4
depth = "subcutaneous"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path


def test_a_good_plan_resolves_sites_points_and_volumes(tmp_path: Path) -> None:
    plan = rhytid.load_plan(_write(tmp_path, GOOD))
    resolved = plan.resolve()
    assert plan.units_per_ml == pytest.approx(40.0)
    assert resolved[0].site == "procerus" and resolved[0].volume_ml == pytest.approx(0.1)
    assert (resolved[1].x_mm, resolved[1].y_mm) == (-14.0, 16.0)
    assert resolved[1].depth == "subcutaneous"
    assert plan.patient is None and plan.simulation.days[0] == 0


def test_volume_override_and_default_reconstitution() -> None:
    plan = Plan.model_validate(
        {
            "product": {"name": "daxibotulinumtoxinA"},
            "injection": [
                {"site": "procerus", "units": 8},
                {"site": "procerus", "units": 8, "volume_ml": 0.2},
            ],
        }
    )
    r = plan.resolve()
    assert r[0].volume_ml == pytest.approx(0.1)  # 8 U/0.1 mL label reconstitution
    assert r[1].volume_ml == pytest.approx(0.2)


BAD = [
    pytest.param(
        '[product]\nname = "botox"\n[[injection]]\nsite = "procerus"\nunits = 4\n',
        "unknown product 'botox'",
        id="unknown-product",
    ),
    pytest.param(
        '[product]\nname = "onabotulinumtoxinA"\n[[injection]]\nsite = "nose"\nunits = 4\n',
        "injection 1: unknown site 'nose'",
        id="unknown-site",
    ),
    pytest.param(
        '[product]\nname = "onabotulinumtoxinA"\n[[injection]]\nsite = "procerus"\nunits = -4\n',
        "injection 1: units: must be between 0.5 and 100, got -4",
        id="negative-units",
    ),
    pytest.param(
        '[product]\nname = "onabotulinumtoxinA"\n[[injection]]\nsite = "procerus"\nunits = 5000\n',
        "injection 1: units: must be between 0.5 and 100, got 5000",
        id="absurd-units",
    ),
    pytest.param(
        '[product]\nname = "onabotulinumtoxinA"\n[[injection]]\nx_mm = 300.0\ny_mm = 0.0\nunits = 4\n',
        "injection 1: point (300, 0) mm is off the modelled face",
        id="off-face",
    ),
    pytest.param(
        '[product]\nname = "onabotulinumtoxinA"\n[[injection]]\nsite = "procerus"\n',
        "injection 1: units is missing",
        id="missing-units",
    ),
    pytest.param('[[injection]]\nsite = "procerus"\nunits = 4\n', "product is missing", id="missing-product"),
    pytest.param('[product]\nname = "onabotulinumtoxinA"\n', "injection is missing", id="no-injections"),
    pytest.param('[product\nname = "x"', "not valid TOML", id="malformed-toml"),
    pytest.param(
        '[product]\nname = "onabotulinumtoxinA"\n[[injection]]\nsite = "procerus"\nx_mm = 1.0\n'
        "y_mm = 2.0\nunits = 4\n",
        "either site or x_mm/y_mm",
        id="site-and-point",
    ),
    pytest.param(
        '[product]\nname = "onabotulinumtoxinA"\n[[injection]]\nsite = "procerus"\nunits = 4\n'
        'depth = "deep"\n',
        "injection 1: depth",
        id="bad-depth",
    ),
    pytest.param(
        '[product]\nname = "onabotulinumtoxinA"\ndiluent_ml = 0.1\n[[injection]]\nsite = "procerus"\n'
        "units = 100\nvolume_ml = 0.001\n",
        "volume_ml",
        id="tiny-volume",
    ),
    pytest.param(
        '[patient]\nage = 12\n[product]\nname = "onabotulinumtoxinA"\n[[injection]]\n'
        'site = "procerus"\nunits = 4\n',
        "patient.age",
        id="child",
    ),
    pytest.param(
        '[product]\nname = "onabotulinumtoxinA"\ncolour = "red"\n[[injection]]\nsite = "procerus"\n'
        "units = 4\n",
        "unknown field 'product.colour'",
        id="unknown-field",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_plans_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PlanError) as info:
        rhytid.load_plan(_write(tmp_path, text))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="does not exist"):
        rhytid.load_plan(tmp_path / "nope.toml")


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
)
injection = st.dictionaries(
    st.sampled_from(["site", "x_mm", "y_mm", "units", "depth", "volume_ml", "day", "other"]),
    values,
    max_size=6,
)
plans = st.fixed_dictionaries(
    {"product": st.dictionaries(st.sampled_from(["name", "vial_units", "diluent_ml"]), values, max_size=3)},
    optional={
        "injection": st.lists(injection, max_size=3),
        "patient": st.dictionaries(st.text(max_size=5), values),
    },
)


@given(plans)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_input_gives_a_plan_or_a_plan_error(data: dict[str, Any]) -> None:
    try:
        plan = Plan.from_dict(data)
    except PlanError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert plan.injections


@given(
    st.lists(
        st.tuples(st.sampled_from(["procerus", "corrugator_medial_l", "forehead_c"]), st.floats(0.5, 100)),
        min_size=1,
        max_size=5,
    )
)
@settings(max_examples=50, deadline=None)
def test_valid_generated_plans_round_trip_through_toml(items: list[tuple[str, float]]) -> None:
    text = '[product]\nname = "onabotulinumtoxinA"\nvial_units = 100\ndiluent_ml = 1.0\n' + "".join(
        f'[[injection]]\nsite = "{s}"\nunits = {u!r}\n' for s, u in items
    )
    plan = Plan.from_dict(tomllib.loads(text))
    assert [i.units for i in plan.injections] == [u for _, u in items]
