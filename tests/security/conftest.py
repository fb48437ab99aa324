"""Fixtures for the security suite: the in-process app of the integration tests
(memory store, FakeClock, ``api.refused`` for "refused and nothing changed") and
the real server processes of the end-to-end tests."""

from __future__ import annotations

from tests.e2e.conftest import server_factory
from tests.integration.conftest import (
    admin_headers,
    api,
    app,
    client,
    clock,
    container,
    demo,
    settings,
)

__all__ = [
    "admin_headers",
    "api",
    "app",
    "client",
    "clock",
    "container",
    "demo",
    "server_factory",
    "settings",
]
