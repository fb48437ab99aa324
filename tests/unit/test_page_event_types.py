"""The admin page's webhook form offers every event type the service sends, in
the service's order (the page's list is written in its JavaScript)."""

from __future__ import annotations

import re
from pathlib import Path

from quizsession.app.outbound import OUTBOUND_TYPES

RULES = (
    Path(__file__).resolve().parents[2]
    / "src/quizsession/entrypoints/web/static/admin_webhook_rules.js"
)


def test_the_page_offers_every_event_type() -> None:
    text = RULES.read_text()
    block = text[text.index("export const EVENT_TYPES") :]
    block = block[: block.index("];")]
    offered = re.findall(r'\["(attempt\.[a-z_]+)",', block)
    assert tuple(offered) == OUTBOUND_TYPES
