"""The questionnaire schema: coded answers, impossible input, missing answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rhytid.clinic import load_history, parse_history
from rhytid.clinic._history import ANSWERED_FIELDS
from rhytid.errors import ScreeningError

from .conftest import complete_history

BAD = [
    pytest.param({"medications": ["gentamycin"]}, "medications[0]", id="misspelt-medicine"),
    pytest.param({"conditions": ["flu"]}, "conditions[0]", id="unknown-condition"),
    pytest.param({"allergies": [{"substance": "peanut"}]}, "allergies[0].substance", id="allergen"),
    pytest.param({"previous_toxin": [{"date": "2024-02-30"}]}, "previous_toxin[0].date", id="feb-30"),
    pytest.param(
        {"previous_toxin": [{"date": "2024-01-01", "units": -4}]},
        "previous_toxin[0].units",
        id="negative-units",
    ),
    pytest.param(
        {"previous_toxin": [{"date": "2024-01-01", "product": "botox"}]},
        "previous_toxin[0].product",
        id="brand-name",
    ),
    pytest.param(
        {"previous_toxin": [{"date": "2024-01-01", "side_effects": ["sneezing"]}]},
        "previous_toxin[0].side_effects[0]",
        id="side-effect",
    ),
    pytest.param({"pregnant": "no"}, "pregnant", id="string-for-yes-no"),
    pytest.param({"pregant": False}, "pregant", id="misspelt-field"),
    pytest.param({"schema_version": 2}, "schema_version", id="schema-version"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
def test_bad_answers_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ScreeningError) as info:
        parse_history(complete_history(**change))
    message = str(info.value)
    assert message.startswith(field)
    assert "\n" not in message


def test_unknown_medicine_lists_the_allowed_codes() -> None:
    with pytest.raises(ScreeningError, match="allowed: gentamicin"):
        parse_history(complete_history(medications=["gentamycin"]))


def test_not_a_json_object() -> None:
    with pytest.raises(ScreeningError, match="expected a JSON object"):
        parse_history([1, 2])


def test_absent_and_null_answers_are_not_answered() -> None:
    history = parse_history({"schema_version": 1, "pregnant": None})
    for name in ANSWERED_FIELDS:
        assert getattr(history, name) is None


def test_empty_list_means_none_not_unanswered() -> None:
    history = parse_history(complete_history())
    assert history.medications == ()


def test_load_history_errors(tmp_path: Path) -> None:
    with pytest.raises(ScreeningError, match="cannot be read"):
        load_history(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScreeningError, match="not valid JSON"):
        load_history(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(complete_history()), encoding="utf-8")
    assert load_history(good).pregnant is False


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).resolve().parents[2] / "examples" / "histories").glob("*.json")),
    ids=lambda p: p.stem,
)
def test_example_histories_parse_or_fail_clearly(path: Path) -> None:
    try:
        load_history(path)
    except ScreeningError as exc:
        assert path.stem in ("unknown-medicine",), exc
