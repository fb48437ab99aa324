"""What a test needs from the machine (a server binary, a browser, axe-core,
root to mount a file system): when it is missing the test is skipped with the
reason, except on CI (``CI=true``), where every suite must run: there the test
fails loudly instead of being skipped."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(why: str) -> NoReturn:
    """Skip the test for ``why``, or fail it on CI."""
    if on_ci():
        pytest.fail(f"CI=true but {why} (on CI this test must run, not be skipped)", pytrace=False)
    pytest.skip(why)
