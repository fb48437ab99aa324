"""The ``quizsession`` console script.

The base install of the distribution is the typed client only (httpx and
msgspec); the command line runs the service and needs the ``server`` extra.
Without it, the script says so in one line instead of a traceback.
"""

from __future__ import annotations

import sys

#: Top-level modules of the ``server`` extra's packages.
SERVER_MODULES = frozenset(
    {
        "asyncpg",
        "cryptography",
        "defusedxml",
        "hiredis",
        "httptools",
        "jwt",
        "limits",
        "litestar",
        "matplotlib",
        "prometheus_client",
        "redis",
        "typer",
        "uvicorn",
        "uvloop",
        "websockets",
        "yaml",
    }
)
MISSING_SERVER = (
    "quizsession: the service is not installed here (only the client): "
    "pip install 'quizsession[server]'"
)


def main() -> None:
    try:
        from quizsession.entrypoints.cli import main as run
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in SERVER_MODULES:
            raise
        sys.exit(MISSING_SERVER)
    run()


if __name__ == "__main__":
    main()
