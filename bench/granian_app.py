"""The service's ASGI application for Granian, built as ``quizsession serve``
builds it (settings from ``QUIZSESSION_*``, one container, the same Litestar
app), for ``bench.saves --server granian``: a comparison of ASGI servers on the
same application, not a supported way to run the service (``serve``'s drain on
SIGTERM is uvicorn's)::

    granian --interface asgi --factory --loop uvloop bench.granian_app:factory
"""

from __future__ import annotations

import os

from litestar import Litestar

from quizsession.bootstrap import build
from quizsession.entrypoints.http.app import create_app
from quizsession.settings import load_settings


def factory() -> Litestar:
    return create_app(build(load_settings(os.environ)))
