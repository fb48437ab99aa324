"""One outbound HTTP client for LTI (the platforms' key sets, access tokens and
scores), made on first use and closed with the service."""

from __future__ import annotations

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: A key set or token answer larger than this is refused.
MAX_RESPONSE_BYTES = 256 * 1024


class LtiHttp:
    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client
        self._owned = client is None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=TIMEOUT,
                follow_redirects=False,
                headers={"user-agent": "quizsession-lti"},
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None and self._owned:
            await self._client.aclose()
            self._client = None


async def read_limited(response: httpx.Response) -> bytes:
    """The body, refused (``ValueError``) beyond ``MAX_RESPONSE_BYTES``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ValueError(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
