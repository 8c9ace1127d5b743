"""Finding a patient by what people say on the phone: name, date of birth, phone number."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func

__all__ = ["parse_birth_date", "phone_digits", "phone_key", "query_words"]

_DMY = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")
_PHONE_PART = re.compile(r"^[\d+()\-/.]+$")


def query_words(query: str) -> list[str]:
    """The words of a search; neighbouring parts of one phone number (``0170 555 0199``) join up."""
    out: list[str] = []
    for word in query.split():
        phoneish = _PHONE_PART.match(word) and parse_birth_date(word) is None
        if phoneish and out and _PHONE_PART.match(out[-1]) and parse_birth_date(out[-1]) is None:
            out[-1] += word
        else:
            out.append(word)
    return out


def phone_key(word: str) -> str | None:
    """The digits to look for in stored phone numbers, without trunk or international prefix zeros
    (``0170…`` matches ``+49 170…``); None unless the word is a phone number of 4 digits or more."""
    if not _PHONE_PART.match(word) or parse_birth_date(word) is not None:
        return None
    digits = "".join(ch for ch in word if ch.isdigit()).lstrip("0")
    return digits if len(digits) >= 4 else None


def parse_birth_date(word: str) -> dt.date | None:
    """A date written 2001-02-03 (ISO) or 3.2.2001 / 3/2/2001 (day first), else None."""
    if len(word) == 10 and word[4] == "-":
        try:
            return dt.date.fromisoformat(word)
        except ValueError:
            return None
    hit = _DMY.match(word)
    if hit is None:
        return None
    try:
        return dt.date(int(hit[3]), int(hit[2]), int(hit[1]))
    except ValueError:
        return None


def phone_digits(column: Any) -> Any:
    """SQL expression: the column with spaces, dashes, dots, brackets, slashes and plus signs removed."""
    expr: Any = func.coalesce(column, "")
    for ch in (" ", "-", ".", "(", ")", "/", "+"):
        expr = func.replace(expr, ch, "")
    return expr
