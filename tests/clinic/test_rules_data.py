"""clinic.yaml: every rule carries a published source, and the tables are complete."""

from __future__ import annotations

import pytest

from rhytid._data import load_yaml
from rhytid.clinic import PRODUCTS
from rhytid.clinic._rules import rules
from rhytid.clinic._triage import symptom_codes

CONTRACT_SYMPTOMS = [
    "injection_site_pain",
    "swelling",
    "bruising",
    "redness",
    "bump",
    "headache",
    "severe_sudden_headache",
    "eyelid_droop",
    "brow_droop",
    "asymmetry",
    "double_vision",
    "blurred_vision",
    "vision_loss",
    "dry_eye",
    "facial_droop",
    "arm_weakness",
    "speech_difficulty",
    "confusion",
    "trouble_swallowing",
    "trouble_breathing",
    "hoarseness",
    "generalized_weakness",
    "rash",
    "hives",
    "wheezing",
    "face_or_throat_swelling",
    "fever",
    "hot_painful_swelling",
]


def _leaves_with_value(node: object, path: str = "") -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = []
    if isinstance(node, dict):
        if "value" in node or "severity" in node or "level" in node:
            found.append((path, node))
        else:
            for k, v in node.items():
                found += _leaves_with_value(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _leaves_with_value(v, f"{path}[{i}]")
    return found


LEAVES = _leaves_with_value(load_yaml("clinic.yaml"))


def test_rules_validate() -> None:
    assert rules().schema_version.value == 1


@pytest.mark.parametrize(("path", "entry"), LEAVES, ids=[p for p, _ in LEAVES])
def test_every_rule_has_a_source(path: str, entry: dict[str, object]) -> None:
    assert str(entry.get("source", "")).strip(), f"{path} has no source"


def test_products_match_the_plan_contract() -> None:
    assert set(rules().products) == set(PRODUCTS)


#: the hyaluronic-acid filler red flags added to the contract's codes (issue 10)
FILLER_SYMPTOMS = ["skin_blanching", "severe_pain", "mottled_skin"]


def test_symptom_codes_are_exactly_the_contract() -> None:
    assert set(symptom_codes()) == set(CONTRACT_SYMPTOMS + FILLER_SYMPTOMS)


def test_every_symptom_has_a_plain_question() -> None:
    assert set(rules().triage.questions.value) == set(CONTRACT_SYMPTOMS + FILLER_SYMPTOMS)


def test_every_product_has_a_duration_from_zero_units() -> None:
    for product in PRODUCTS:
        assert any(r.product == product and r.min_units == 0 for r in rules().typical_duration_days)


def test_public_names_are_deliberate() -> None:
    import types

    import rhytid.clinic as clinic

    public = {
        n for n, v in vars(clinic).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert set(clinic.__all__) == public
