"""A limit on the size of every request body, before anything parses it.

A form with photos may carry ``MAX_UPLOAD_BYTES`` (a few photos of ``MAX_PHOTO_BYTES`` each);
any other body (JSON, a plain form) ``MAX_BODY_BYTES``. A declared ``Content-Length`` over the
limit is answered 413 at once; a body that streams past it is cut off and answered 413 too.
"""

from __future__ import annotations

import json
from typing import Any

from rhytid.store._photos import MAX_PHOTO_BYTES

__all__ = ["MAX_BODY_BYTES", "MAX_UPLOAD_BYTES", "BodyLimit"]

MAX_BODY_BYTES = 1024 * 1024
MAX_UPLOAD_BYTES = 4 * MAX_PHOTO_BYTES + MAX_BODY_BYTES


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: 413 for a request body over its limit."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        multipart = headers.get("content-type", "").lower().startswith("multipart/form-data")
        limit = MAX_UPLOAD_BYTES if multipart else MAX_BODY_BYTES
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        seen = 0
        over = False  # the body passed the limit: whatever the app answers becomes a 413
        refused = False

        async def counted() -> Any:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge
            return message

        async def watched(message: Any) -> None:
            nonlocal refused
            if over:
                if not refused and message["type"] == "http.response.start":
                    refused = True
                    await _refuse(send, limit)
                return
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not refused:
                await _refuse(send, limit)


async def _refuse(send: Any, limit: int) -> None:
    body = json.dumps(
        {"detail": f"request: the body is larger than {limit} bytes", "field": "request"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
