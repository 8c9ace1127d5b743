"""Dosing rules: label doses, reconstitution, conversion, vial age, interval, 3-month dose."""

from __future__ import annotations

import datetime as dt

import pytest

from rhytid.anatomy import Face
from rhytid.clinic import (
    PlannedInjection,
    PlanView,
    PreviousDose,
    check_cumulative_dose,
    check_doses,
    check_reconstitution,
    check_retreatment,
    check_vial_age,
    convert_units,
    volume_per_point_ml,
)
from rhytid.clinic._rules import rules
from rhytid.errors import ClinicError, PlanError

GLABELLAR_SITES = (
    "procerus",
    "corrugator_medial_l",
    "corrugator_medial_r",
    "corrugator_lateral_l",
    "corrugator_lateral_r",
)


def label_plan(
    face: Face, product: str = "onabotulinumtoxinA", units: float = 4, per_ml: float = 40
) -> PlanView:
    injections = tuple(
        PlannedInjection(*face.sites[s].xy, units=units, volume_ml=units / per_ml, site=s)
        for s in GLABELLAR_SITES
    )
    return PlanView(product=product, units_per_ml=per_ml, injections=injections)


def codes(findings: list) -> set[str]:  # type: ignore[type-arg]
    return {f.code for f in findings}


@pytest.mark.parametrize(
    ("product", "units", "per_ml"),
    [
        ("onabotulinumtoxinA", 4, 40),
        ("abobotulinumtoxinA", 10, 120),
        ("incobotulinumtoxinA", 4, 40),
        ("prabotulinumtoxinA", 4, 40),
        ("daxibotulinumtoxinA", 8, 80),
    ],
)
def test_label_glabellar_pattern_has_no_warning(
    face: Face, product: str, units: float, per_ml: float
) -> None:
    findings = check_doses(label_plan(face, product, units, per_ml), face)
    assert [f for f in findings if f.severity != "note"] == []


def test_label_values_carry_their_sources() -> None:
    for product in rules().products.values():
        assert "label" in product.label_area_units.source.lower()


@pytest.mark.parametrize(
    ("units", "per_ml", "expected"),
    [
        (6, 40, {"site_units_above_label", "area_units_above_label"}),
        (4, 20, {"site_volume_above_label", "non_label_dilution"}),
    ],
    ids=["6U-per-point", "double-dilution"],
)
def test_above_label(face: Face, units: float, per_ml: float, expected: set[str]) -> None:
    findings = check_doses(label_plan(face, units=units, per_ml=per_ml), face)
    assert expected <= codes(findings)
    for f in findings:
        if f.code.startswith("site_"):
            assert f.injection is not None and f.site in GLABELLAR_SITES


def test_session_total_above_label(face: Face) -> None:
    findings = check_doses(label_plan(face, "incobotulinumtoxinA", units=5), face)
    assert "session_units_above_label" in codes(findings)


def test_off_label_area_is_a_note(face: Face) -> None:
    plan = PlanView(
        "abobotulinumtoxinA",
        200,
        (PlannedInjection(*face.sites["forehead_c"].xy, units=10, volume_ml=0.05),),
    )
    findings = check_doses(plan, face)
    assert [(f.code, f.severity) for f in findings] == [("area_off_label", "note")]


def test_point_far_from_every_area(face: Face) -> None:
    plan = PlanView("onabotulinumtoxinA", 40, (PlannedInjection(0, -40, units=2, volume_ml=0.05),))
    assert "outside_treatment_areas" in codes(check_doses(plan, face))


@pytest.mark.parametrize(
    ("product", "per_ml", "finding"),
    [
        ("onabotulinumtoxinA", 40.0, None),
        ("abobotulinumtoxinA", 200.0, None),
        ("abobotulinumtoxinA", 120.0, None),
        ("abobotulinumtoxinA", 125 / 0.63, None),
        ("daxibotulinumtoxinA", 80.0, None),
        ("onabotulinumtoxinA", 100.0, "non_label_dilution"),
        ("incobotulinumtoxinA", 40.0, "dilution_unverified"),
    ],
)
def test_reconstitution(product: str, per_ml: float, finding: str | None) -> None:
    assert codes(check_reconstitution(product, per_ml)) == ({finding} if finding else set())


def test_volume_per_point() -> None:
    assert volume_per_point_ml(4, 100, 2.5) == pytest.approx(0.1)
    assert volume_per_point_ml(10, 300, 1.5) == pytest.approx(0.05)
    with pytest.raises(PlanError, match="diluent_ml"):
        volume_per_point_ml(4, 100, 0)


# --- conversion ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "dst", "low", "high"),
    [
        ("onabotulinumtoxinA", "abobotulinumtoxinA", 50.0, 60.0),
        ("abobotulinumtoxinA", "onabotulinumtoxinA", 50 / 3, 20.0),
        ("onabotulinumtoxinA", "incobotulinumtoxinA", 20.0, 20.0),
        ("onabotulinumtoxinA", "daxibotulinumtoxinA", 40.0, 40.0),
    ],
    ids=lambda v: str(v)[:4] if isinstance(v, str) else None,
)
def test_conversion_is_a_flagged_range(src: str, dst: str, low: float, high: float) -> None:
    units = 20.0 if src == "onabotulinumtoxinA" else 50.0
    c = convert_units(units, src, dst)
    assert (c.low, c.high) == (pytest.approx(low), pytest.approx(high))
    assert c.approximate and "APPROXIMATE" in c.warning and "not interchangeable" in c.warning
    assert all(s.strip() for s in c.sources)


def test_same_product_is_exact() -> None:
    c = convert_units(20, "abobotulinumtoxinA", "abobotulinumtoxinA")
    assert (c.low, c.high, c.approximate) == (20, 20, False)


def test_conversion_round_trip_brackets_the_dose() -> None:
    there = convert_units(20, "onabotulinumtoxinA", "abobotulinumtoxinA")
    back_low = convert_units(there.low, "abobotulinumtoxinA", "onabotulinumtoxinA").low
    back_high = convert_units(there.high, "abobotulinumtoxinA", "onabotulinumtoxinA").high
    assert back_low <= 20 <= back_high


def test_conversion_errors() -> None:
    with pytest.raises(ClinicError, match="allowed"):
        convert_units(20, "botox", "abobotulinumtoxinA")
    with pytest.raises(ClinicError, match="units"):
        convert_units(0, "onabotulinumtoxinA", "abobotulinumtoxinA")


# --- time rules ------------------------------------------------------------------------------

T0 = dt.datetime(2025, 6, 1, 8, 0)


@pytest.mark.parametrize(
    ("product", "hours", "expired"),
    [
        ("onabotulinumtoxinA", 23.5, False),
        ("onabotulinumtoxinA", 25, True),
        ("abobotulinumtoxinA", 25, True),
        ("daxibotulinumtoxinA", 48, False),
        ("daxibotulinumtoxinA", 73, True),
    ],
)
def test_vial_age(product: str, hours: float, expired: bool) -> None:
    findings = check_vial_age(product, T0, T0 + dt.timedelta(hours=hours))
    assert bool(findings) == expired
    if expired:
        assert findings[0].severity == "blocking"
        assert findings[0].source == rules().products[product].shelf_life_after_reconstitution_h.source


def test_vial_used_before_reconstitution_is_an_error() -> None:
    with pytest.raises(ClinicError, match="before reconstituted_at"):
        check_vial_age("onabotulinumtoxinA", T0, T0 - dt.timedelta(hours=1))


@pytest.mark.parametrize(("days", "blocked"), [(89, True), (90, False), (200, False)])
def test_retreatment_interval(days: int, blocked: bool) -> None:
    planned = dt.date(2025, 6, 1)
    findings = check_retreatment("prabotulinumtoxinA", planned - dt.timedelta(days=days), planned)
    assert bool(findings) == blocked


def test_cumulative_dose_over_three_months() -> None:
    planned = dt.date(2025, 6, 1)
    previous = [
        PreviousDose(planned - dt.timedelta(days=30), "onabotulinumtoxinA", 200),
        PreviousDose(planned - dt.timedelta(days=60), "onabotulinumtoxinA", 150),
        PreviousDose(planned - dt.timedelta(days=120), "onabotulinumtoxinA", 300),
    ]
    assert check_cumulative_dose("onabotulinumtoxinA", previous, planned, 40) == []
    over = check_cumulative_dose("onabotulinumtoxinA", previous, planned, 64)
    assert [(f.code, f.severity) for f in over] == [("cumulative_dose_above_max", "blocking")]
    assert "414 U" in over[0].reason


def test_cumulative_dose_keeps_products_apart() -> None:
    planned = dt.date(2025, 6, 1)
    previous = [PreviousDose(planned - dt.timedelta(days=10), "abobotulinumtoxinA", 500)]
    findings = check_cumulative_dose("onabotulinumtoxinA", previous, planned, 20)
    assert [(f.code, f.severity) for f in findings] == [("other_products_in_window", "note")]


def _glabellar(face: Face, product: str, units: list[float]) -> PlanView:
    per_ml = ([float(c) for c in rules().products[product].label_units_per_ml.value] or [40.0])[0]
    injections = tuple(
        PlannedInjection(*face.sites[s].xy, units=u, volume_ml=u / per_ml, site=s)
        for s, u in zip(GLABELLAR_SITES, units, strict=True)
    )
    return PlanView(product=product, units_per_ml=per_ml, injections=injections)


@pytest.mark.parametrize("product", sorted(rules().products))
def test_label_doses_are_limits_reached_not_exceeded(face: Face, product: str) -> None:
    """Each label dose (per point, per area, per session) is allowed exactly and warned 0.1 U above."""
    p = rules().products[product]
    cases = []
    if p.label_units_per_site.value is not None:
        site = float(p.label_units_per_site.value)
        cases.append(("site_units_above_label", [site] * 5, [site + 0.1] + [site] * 4))
    area = float(p.label_area_units.value["glabellar"])
    cases.append(("area_units_above_label", [area / 5] * 5, [area / 5 + 0.1] + [area / 5] * 4))
    if p.label_session_units.value is not None:
        session = float(p.label_session_units.value)
        cases.append(
            ("session_units_above_label", [session / 5] * 5, [session / 5 + 0.1] + [session / 5] * 4)
        )
    for code, at_limit, above in cases:
        assert code not in codes(check_doses(_glabellar(face, product, at_limit), face)), code
        assert code in codes(check_doses(_glabellar(face, product, above), face)), code


@pytest.mark.parametrize(
    "product", sorted(k for k, v in rules().products.items() if v.max_units_in_3_months.value is not None)
)
def test_the_cumulative_window_and_maximum_are_boundaries(product: str) -> None:
    """A dose given window - 1 days before counts and one given window days before does not; the
    label maximum itself is allowed."""
    limit = float(rules().products[product].max_units_in_3_months.value)
    window = int(rules().schedule["cumulative_window_days"].value)
    planned = dt.date(2025, 6, 1)

    def findings(days_before: int, planned_units: float) -> set[str]:
        previous = [PreviousDose(planned - dt.timedelta(days=days_before), product, limit - 20)]
        return codes(check_cumulative_dose(product, previous, planned, planned_units))

    assert findings(window - 1, 20) == set()  # exactly the maximum
    assert findings(window - 1, 20.1) == {"cumulative_dose_above_max"}
    assert findings(window, 20.1) == set()  # outside the window
