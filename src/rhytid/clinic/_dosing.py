"""Dosing rules: label doses per site, area and session; reconstitution and volume per point;
approximate unit conversion; vial age; retreatment interval; cumulative dose over 3 months.

Units (U) always travel with their product: units of different products are not
interchangeable, so :func:`convert_units` returns a range flagged ``approximate`` with the
published ratio's source, never a silent number. All label values come from ``clinic.yaml``
(section ``products``) with their sources.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rhytid.anatomy import Face
from rhytid.clinic._findings import PlanFinding, PlanSeverity
from rhytid.clinic._plan_view import PlanView, injection_area
from rhytid.clinic._rules import PRODUCTS, ProductRules, number, rules, text
from rhytid.errors import ClinicError, PlanError

__all__ = [
    "PreviousDose",
    "UnitConversion",
    "check_cumulative_dose",
    "check_doses",
    "check_reconstitution",
    "check_retreatment",
    "check_vial_age",
    "convert_plan_units",
    "convert_units",
    "vial_use_by",
    "volume_per_point_ml",
]


def _product(name: str) -> ProductRules:
    if name not in PRODUCTS:
        raise ClinicError(f"product: unknown product {name!r}; allowed: {', '.join(PRODUCTS)}")
    return rules().products[name]


@dataclass(frozen=True)
class UnitConversion:
    """An approximate dose range of ``to_product`` for a dose of ``from_product``."""

    units: float
    from_product: str
    to_product: str
    low: float
    high: float
    approximate: bool
    warning: str
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "from_product": self.from_product,
            "to_product": self.to_product,
            "low": round(self.low, 1),
            "high": round(self.high, 1),
            "approximate": self.approximate,
            "warning": self.warning,
            "sources": list(self.sources),
        }


def convert_units(units: float, from_product: str, to_product: str) -> UnitConversion:
    """Approximate equivalent dose of ``to_product`` for ``units`` of ``from_product``.

    Via onabotulinumtoxinA units: ``u_to = u_from / r_from * r_to`` where ``r`` is the product's
    range of units per onabotulinumtoxinA unit (clinic.yaml). The result is a range (low, high)
    and is always flagged approximate.
    """
    if units <= 0:
        raise ClinicError(f"units: must be > 0, got {units}")
    a, b = _product(from_product), _product(to_product)
    from_lo, from_hi = (float(r) for r in a.units_per_ona_unit.value)
    to_lo, to_hi = (float(r) for r in b.units_per_ona_unit.value)
    same = from_product == to_product
    low, high = (units, units) if same else (units / from_hi * to_lo, units / from_lo * to_hi)
    return UnitConversion(
        units=units,
        from_product=from_product,
        to_product=to_product,
        low=low,
        high=high,
        approximate=not same,
        warning="" if same else text("dosing", "unit_conversion_warning"),
        sources=(a.units_per_ona_unit.source, b.units_per_ona_unit.source),
    )


#: The planner's step of units per point (its inputs move in steps of 0.5 U).
UNIT_STEP = 0.5


def convert_plan_units(units: Sequence[float], from_product: str, to_product: str) -> dict[str, Any]:
    """Each point's units converted when a plan's product is switched (:func:`convert_units`).

    Each point gets the **low end** of its range (the conservative choice: a switch never adds
    toxin beyond the conversion's lower bound), rounded down to :data:`UNIT_STEP` and at least one
    step. ``approximate`` is True for any change of product; ``warning`` and ``sources`` say why.
    """
    conversions = [convert_units(u, from_product, to_product) for u in units]
    chosen = [max(UNIT_STEP, math.floor(c.low / UNIT_STEP + 1e-9) * UNIT_STEP) for c in conversions]
    first = conversions[0]
    return {
        "from_product": from_product,
        "to_product": to_product,
        "approximate": first.approximate,
        "warning": first.warning,
        "sources": list(first.sources),
        "rule": "low end of the range, rounded down to 0.5 U",
        "points": [
            {"units": c.units, "low": round(c.low, 2), "high": round(c.high, 2), "chosen": u}
            for c, u in zip(conversions, chosen, strict=True)
        ],
    }


def volume_per_point_ml(units: float, vial_units: float, diluent_ml: float) -> float:
    """Volume (mL) that carries ``units`` at ``vial_units`` reconstituted in ``diluent_ml``."""
    if vial_units <= 0 or diluent_ml <= 0:
        raise PlanError(f"product: vial_units and diluent_ml must be > 0, got {vial_units} and {diluent_ml}")
    return units * diluent_ml / vial_units


def check_reconstitution(product: str, concentration: float) -> list[PlanFinding]:
    """Compare the concentration (U/mL) with the label's; a non-label dilution is a note."""
    p = _product(product)
    if not concentration > 0:
        raise PlanError(f"units_per_ml: must be > 0, got {concentration!r}")
    label = [float(c) for c in p.label_units_per_ml.value]
    tolerance = number("dosing_tolerances", "label_concentration_rel")
    if not label:
        return [
            PlanFinding(
                "dilution_unverified",
                "note",
                f"{concentration:.1f} U/mL: no label dilution for {product} in the evidence",
                p.label_units_per_ml.source,
            )
        ]
    if any(abs(concentration - c) <= tolerance * c for c in label):
        return []
    listed = ", ".join(f"{c:g}" for c in label)
    return [
        PlanFinding(
            "non_label_dilution",
            "note",
            f"reconstitution gives {concentration:.1f} U/mL; label: {listed} U/mL",
            p.label_units_per_ml.source,
        )
    ]


def _site_findings(plan: PlanView, p: ProductRules) -> list[PlanFinding]:
    out: list[PlanFinding] = []
    per_site = p.label_units_per_site.value
    per_volume = p.label_volume_per_site_ml.value
    severity: PlanSeverity = rules().dosing["volume_above_label_severity"].value
    for n, inj in enumerate(plan.injections, start=1):
        if per_site is not None and inj.units > float(per_site):
            out.append(
                PlanFinding(
                    "site_units_above_label",
                    "warning",
                    f"{inj.units:g} U at one point; the {plan.product} label gives {per_site} U",
                    p.label_units_per_site.source,
                    injection=n,
                    site=inj.site,
                )
            )
        if per_volume is not None and inj.volume_ml > float(per_volume) * (
            1 + number("dosing_tolerances", "label_volume_rel")
        ):
            out.append(
                PlanFinding(
                    "site_volume_above_label",
                    severity,
                    f"{inj.volume_ml:.3g} mL at one point spreads farther than the label's {per_volume} mL",
                    p.label_volume_per_site_ml.source,
                    injection=n,
                    site=inj.site,
                )
            )
    return out


def check_doses(plan: PlanView, face: Face) -> list[PlanFinding]:
    """Per-site, per-area and per-session label doses and the reconstitution of a plan.

    The label maximum over 3 months is :func:`check_cumulative_dose` (it needs the record).
    """
    p = _product(plan.product)
    out = check_reconstitution(plan.product, plan.units_per_ml)
    out += _site_findings(plan, p)
    by_area: dict[str | None, float] = defaultdict(float)
    for inj in plan.injections:
        by_area[injection_area(face, inj)] += inj.units
    label_area: dict[str, float] = {k: float(v) for k, v in p.label_area_units.value.items()}
    for area, units in sorted(by_area.items(), key=lambda kv: str(kv[0])):
        if area is None:
            out.append(
                PlanFinding(
                    "outside_treatment_areas",
                    "warning",
                    f"{units:g} U lie outside the glabellar, forehead and lateral canthal areas",
                    "anatomy.yaml areas (upper-face indications of the labels)",
                )
            )
        elif area not in label_area:
            out.append(
                PlanFinding(
                    "area_off_label",
                    "note",
                    f"{area}: no label dose for {plan.product} in this area ({units:g} U planned)",
                    p.label_area_units.source,
                )
            )
        elif units > label_area[area]:
            out.append(
                PlanFinding(
                    "area_units_above_label",
                    "warning",
                    f"{area}: {units:g} U planned; the {plan.product} label gives {label_area[area]:g} U",
                    p.label_area_units.source,
                )
            )
    total = plan.total_units
    session = p.label_session_units.value
    if session is not None and total > float(session):
        out.append(
            PlanFinding(
                "session_units_above_label",
                "warning",
                f"{total:g} U in total; the {plan.product} label's upper-face total is {session} U",
                p.label_session_units.source,
            )
        )
    return out


def vial_use_by(product: str, reconstituted_at: dt.datetime) -> dt.datetime:
    """When a vial reconstituted at ``reconstituted_at`` must be used by: its label shelf life
    after reconstitution (24 h; 72 h daxibotulinumtoxinA) later."""
    hours = float(_product(product).shelf_life_after_reconstitution_h.value)
    return reconstituted_at + dt.timedelta(hours=hours)


def check_vial_age(product: str, reconstituted_at: dt.datetime, used_at: dt.datetime) -> list[PlanFinding]:
    """A reconstituted vial is usable until :func:`vial_use_by` (24 h; 72 h daxibotulinumtoxinA)."""
    p = _product(product)
    if used_at < reconstituted_at:
        raise ClinicError(
            f"used_at: {used_at.isoformat()} is before reconstituted_at {reconstituted_at.isoformat()}"
        )
    hours = (used_at - reconstituted_at).total_seconds() / dt.timedelta(hours=1).total_seconds()
    limit = float(p.shelf_life_after_reconstitution_h.value)
    if used_at <= vial_use_by(product, reconstituted_at):
        return []
    return [
        PlanFinding(
            "vial_expired",
            "blocking",
            f"vial reconstituted {hours:.1f} h ago; {product} must be used within {limit:g} h",
            p.shelf_life_after_reconstitution_h.source,
        )
    ]


def check_retreatment(product: str, last_treatment: dt.date, planned: dt.date) -> list[PlanFinding]:
    """Treatments at least the label interval apart (90 days for every product in clinic.yaml)."""
    p = _product(product)
    if last_treatment > planned:
        raise ClinicError(
            f"last_treatment: {last_treatment.isoformat()} is after the planned date {planned.isoformat()}"
        )
    days = (planned - last_treatment).days
    interval = int(p.retreatment_interval_days.value)
    if days >= interval:
        return []
    earliest = last_treatment + dt.timedelta(days=interval)
    return [
        PlanFinding(
            "retreatment_too_soon",
            "blocking",
            f"last treatment {days} days before; at least {interval} days apart "
            f"(earliest {earliest.isoformat()})",
            p.retreatment_interval_days.source,
        )
    ]


@dataclass(frozen=True)
class PreviousDose:
    """A dose given earlier: date, product and units."""

    date: dt.date
    product: str
    units: float


def check_cumulative_dose(
    product: str, previous: Iterable[PreviousDose], planned: dt.date, planned_units: float
) -> list[PlanFinding]:
    """Same-product units in the 3 months up to ``planned`` plus this plan vs the label maximum.

    Only doses of the same product are summed (units are not interchangeable); doses of other
    products within the window are reported as a note.
    """
    p = _product(product)
    window = int(number("schedule", "cumulative_window_days"))
    recent = [d for d in previous if 0 <= (planned - d.date).days < window]
    same = sum(d.units for d in recent if d.product == product)
    others = sorted({d.product for d in recent if d.product != product})
    out: list[PlanFinding] = []
    limit = p.max_units_in_3_months.value
    total = same + planned_units
    if limit is not None and total > float(limit):
        out.append(
            PlanFinding(
                "cumulative_dose_above_max",
                "blocking",
                f"{total:g} U of {product} within {window} days; the label maximum is {limit} U",
                p.max_units_in_3_months.source,
            )
        )
    if others:
        out.append(
            PlanFinding(
                "other_products_in_window",
                "note",
                f"other toxin products within {window} days: {', '.join(others)} "
                "(units not interchangeable; not added)",
                rules().dosing["unit_conversion_warning"].source,
            )
        )
    return out
