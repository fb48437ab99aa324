"""Write the OpenAPI document the service serves (``GET /schema/openapi.json``) to
``docs/openapi.json``: ``make openapi``.

The app is built exactly as ``quizsession serve`` builds it, on the memory store
(nothing is opened: the document does not depend on the store or the settings),
and the document is fetched over its own route, so the file is byte for byte
what a client downloads, re-rendered with sorted keys and an indent of 2 so that
a change to the API shows as a readable diff. ``tests/integration/test_openapi.py``
fails when the committed file is stale. ``--check`` exits 1 instead of writing
when the file differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from quizsession.bootstrap import build
from quizsession.entrypoints.http.app import create_app
from quizsession.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "openapi.json"
SCHEMA_PATH = "/schema/openapi.json"


def render(document: dict[str, Any]) -> str:
    """The committed form: sorted keys, indent 2, UTF-8 kept, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def served_document() -> dict[str, Any]:
    """The document as the service serves it (an app on the memory store)."""
    container = build(load_settings({}, store_url="memory://"))
    app = create_app(container, manage_lifespan=False)
    with TestClient(app) as client:
        response = client.get(SCHEMA_PATH)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DOCUMENT, help="default: docs/openapi.json")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    output: Path = args.output
    text = render(served_document())
    current = output.read_text(encoding="utf-8") if output.exists() else None
    if args.check:
        if current != text:
            print(f"{output} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    if current == text:
        print(f"{output}: up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"{output}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
