"""Everyday words for the codes the intake form offers (``data/intake_words.yaml``).

Patients read "Botox (onabotulinumtoxinA)" rather than the generic name alone, and
"Lambert–Eaton syndrome (a rare nerve-muscle condition)" rather than ``lambert_eaton``. A code
without a plain name falls back to its code with spaces, so that a new code in ``clinic.yaml``
never breaks the form (a test asserts that every offered code has its words).
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from rhytid._data import load_yaml, sourced

__all__ = ["Kind", "has_words", "plain", "product_name"]

Kind = Literal["products", "allergens", "conditions", "medicines", "side_effects", "areas"]


@cache
def _table(kind: Kind) -> dict[str, str]:
    entry = load_yaml("intake_words.yaml")[kind]
    return {str(k): str(v) for k, v in sourced(entry, f"intake_words.yaml:{kind}").items()}


def plain(kind: Kind, code: str) -> str:
    """The everyday name of ``code`` of the given kind."""
    return _table(kind).get(code) or code.replace("_", " ")


def has_words(kind: Kind, code: str) -> bool:
    """Whether ``code`` has its own everyday name."""
    return code in _table(kind)


def product_name(code: str) -> str:
    """A toxin product by brand and generic name: ``Botox (onabotulinumtoxinA)``."""
    return plain("products", code)
