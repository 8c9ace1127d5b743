"""Follow-up schedule after a treatment: review visit, earliest retreatment, recall reminder.

- review about ``review_after_days`` (14) days after treatment, when the effect peaks;
- earliest retreatment after the product's label retreatment interval (90 days);
- recall at the typical duration of effect for the product and dose (``typical_duration_days``),
  never before the earliest retreatment.

All numbers and sources: clinic.yaml.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rhytid.clinic._rules import PRODUCTS, rules
from rhytid.errors import ClinicError

__all__ = ["FollowUp", "follow_up", "typical_duration_days"]


@dataclass(frozen=True)
class FollowUp:
    """Dates after one treatment and the sources of the intervals."""

    treatment_date: dt.date
    review_date: dt.date
    earliest_retreatment: dt.date
    recall_date: dt.date
    typical_duration_days: int
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "treatment_date": self.treatment_date.isoformat(),
            "review_date": self.review_date.isoformat(),
            "earliest_retreatment": self.earliest_retreatment.isoformat(),
            "recall_date": self.recall_date.isoformat(),
            "typical_duration_days": self.typical_duration_days,
            "sources": list(self.sources),
        }


def typical_duration_days(product: str, units: float) -> tuple[int, str]:
    """Typical duration (days) of the effect of ``units`` of ``product``, and its source."""
    if product not in PRODUCTS:
        raise ClinicError(f"product: unknown product {product!r}; allowed: {', '.join(PRODUCTS)}")
    if not units > 0:
        raise ClinicError(f"units: must be > 0, got {units!r}")
    matches = [r for r in rules().typical_duration_days if r.product == product and r.min_units <= units]
    best = max(matches, key=lambda r: r.min_units)
    return best.value, best.source


def follow_up(treatment_date: dt.date, product: str, units: float) -> FollowUp:
    """The follow-up dates after treating with ``units`` of ``product`` on ``treatment_date``."""
    duration, duration_source = typical_duration_days(product, units)
    review = rules().schedule["review_after_days"]
    interval = rules().products[product].retreatment_interval_days
    earliest = treatment_date + dt.timedelta(days=int(interval.value))
    recall = treatment_date + dt.timedelta(days=max(duration, int(interval.value)))
    return FollowUp(
        treatment_date=treatment_date,
        review_date=treatment_date + dt.timedelta(days=int(review.value)),
        earliest_retreatment=earliest,
        recall_date=recall,
        typical_duration_days=duration,
        sources=(review.source, interval.source, duration_source),
    )
