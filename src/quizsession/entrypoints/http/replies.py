"""Ready JSON replies for the hottest route.

``PUT /sessions/{id}/progress`` is most of a running exam's traffic. Its answer
is encoded once with msgspec and sent as two ASGI messages, instead of going
through Litestar's ``Response`` and ``ASGIResponse`` objects (header
normalisation, media-type resolution, a second encoder) on every save: a
handler whose return annotation is an ASGI callable is handed to the server as
it is. The middlewares (request id, metrics, drain, errors) still see every
message. ``bench.saves`` measures the difference.
"""

from __future__ import annotations

import msgspec
from litestar.types import Receive, Scope, Send

_encode = msgspec.json.Encoder().encode
_JSON = (b"content-type", b"application/json")


class JsonReply:
    """A 200 response whose body is ``value`` as JSON. Litestar hands a handler's
    return value to the server as it is when the handler's return annotation is
    an ASGI callable class (so not a generic alias); the route declares the
    body's schema in its ``responses``."""

    __slots__ = ("body",)

    def __init__(self, value: object) -> None:
        self.body = _encode(value)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.body
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [_JSON, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})
