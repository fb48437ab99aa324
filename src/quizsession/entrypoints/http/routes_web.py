"""The static web pages: ``GET /take`` (the candidate's page), ``GET /admin`` (the
administrator's page) and their assets under ``/static``.

The pages are plain HTML, CSS and JavaScript modules served by the service itself
(no build step, no third-party origin). Each page is sent with a strict
Content-Security-Policy and is never cached without revalidation. The assets
are never cached without revalidation either (``no-cache``): the page links
its entry modules with a content hash (``/static/take.js?v=<hash>``), but the
modules they import are fetched by plain name, and a browser must never run a new
entry module with old imported ones after a deploy.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STATIC_DIR = WEB_DIR / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "connect-src 'self' ws: wss:",
        "script-src 'self'",
        "style-src 'self'",
        # Question images: the quiz author's https: URLs or inline data: images.
        "img-src 'self' data: https:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

STATIC_CACHE = CacheControlHeader(no_cache=True)

_ASSET = re.compile(r"\{\{static:([A-Za-z0-9_.-]+)\}\}")


def asset_url(name: str) -> str:
    """``/static/<name>?v=<first 12 hex digits of its SHA-256>``."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


@cache
def page(name: str) -> bytes:
    """The page ``name`` with every ``{{static:file}}`` replaced by its versioned
    URL (read once per process: the files ship with the package)."""
    text = (WEB_DIR / name).read_text(encoding="utf-8")
    return _ASSET.sub(lambda m: asset_url(m.group(1)), text).encode()


def with_config(content: bytes, heartbeat_s: float) -> bytes:
    """The page with the deployment's settings it needs (``{{config:...}}``)."""
    return content.replace(b"{{config:heartbeat_s}}", f"{heartbeat_s:g}".encode())


def _html(name: str, *, heartbeat_s: float = 5.0) -> Response[bytes]:
    return Response(
        content=with_config(page(name), heartbeat_s),
        media_type=MediaType.HTML,
        headers=PAGE_HEADERS,
    )


@get("/take", include_in_schema=False, sync_to_thread=False)
def take_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The candidate's page; the invite token travels in the URL fragment. It
    beats at the deployment's heartbeat until it knows the quiz's own."""
    container = request.app.state.container
    return _html("take.html", heartbeat_s=container.settings.heartbeat_s)


@get("/admin", include_in_schema=False, sync_to_thread=False)
def admin_page() -> Response[bytes]:
    """The administrator's page (the API key is typed in, kept in memory only)."""
    return _html("admin.html")


async def _static_headers(response: Response[Any]) -> Response[Any]:
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _static_router() -> Router:
    return create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=STATIC_CACHE,
        after_request=_static_headers,
        include_in_schema=False,
        name="web-static",
    )


web_router = Router(path="/", route_handlers=[take_page, admin_page, _static_router()])
