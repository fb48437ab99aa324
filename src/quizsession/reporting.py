"""Report renderers for the entrypoints (CLI, HTTP).

Entrypoints must not import ``quizsession.adapters`` directly (import-linter);
this module sits outside the layers, like ``settings`` and ``bootstrap``, and
re-exports the renderers of ``adapters.report_render``.
"""

from __future__ import annotations

from quizsession.adapters.report_render import (
    neutralise,
    report_html,
    report_json,
    results_csv,
)

__all__ = ["neutralise", "report_html", "report_json", "results_csv"]
