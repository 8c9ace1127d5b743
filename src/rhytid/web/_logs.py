"""Keep patient-link tokens out of the server's logs.

A link's token is a credential for a patient's form, and it travels in the URL path
(``/p/intake/<token>``). Uvicorn's access log writes every path; :class:`RedactLinks` rewrites the
token to ``[redacted]`` in each access record before any handler formats it. The app installs it
on the ``uvicorn.access`` logger when it starts (after uvicorn has configured its logging).
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactLinks", "install"]

_TOKEN = re.compile(r"(/p/[A-Za-z_-]+/)[^/?#\s\"]+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return _TOKEN.sub(rf"\g<1>{REDACTED}", text)


class RedactLinks(logging.Filter):
    """Rewrites link tokens in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install(names: tuple[str, ...] = ("uvicorn.access", "uvicorn.error")) -> None:
    """Add the filter to the named loggers (once)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactLinks) for f in logger.filters):
            logger.addFilter(RedactLinks())
