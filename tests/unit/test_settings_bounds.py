"""Every numeric setting has bounds: a value out of them (or not a number) is
refused when the settings are read, at start, with a message that names the
environment variable, and nothing starts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, get_args, get_origin, get_type_hints

import msgspec
import pytest
from typer.testing import CliRunner

from quizsession.entrypoints.cli import app
from quizsession.settings import Settings, load_settings

NUMERIC = [
    name
    for name, hint in get_type_hints(Settings, include_extras=True).items()
    if (get_args(hint)[0] if get_origin(hint) is Annotated else hint) in (int, float)
]


def _bounds(name: str) -> msgspec.Meta:
    hint = get_type_hints(Settings, include_extras=True)[name]
    assert get_origin(hint) is Annotated, f"{name} has no bounds"
    (meta,) = (m for m in get_args(hint)[1:] if isinstance(m, msgspec.Meta))
    return meta


@pytest.mark.parametrize("name", NUMERIC)
def test_every_numeric_setting_has_a_lower_and_an_upper_bound(name: str) -> None:
    meta = _bounds(name)
    assert meta.ge is not None or meta.gt is not None, name
    assert meta.le is not None or meta.lt is not None, name
    default = getattr(Settings(), name)
    assert load_settings({}, **{name: default}) == Settings()


@pytest.mark.parametrize("name", NUMERIC)
def test_a_value_below_or_above_the_bounds_is_refused_naming_the_variable(name: str) -> None:
    meta = _bounds(name)
    low = meta.ge - 1 if meta.ge is not None else meta.gt
    high = meta.le + 1 if meta.le is not None else meta.lt
    variable = "QUIZSESSION_" + name.upper()
    for value in (low, high, "many"):
        with pytest.raises(ValueError, match=f"^invalid {variable}: expected `") as refused:
            load_settings({variable: str(value)})
        assert "$." not in str(refused.value)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("QUIZSESSION_CACHE_SIZE", "0", "expected `int` >= 1"),
        ("QUIZSESSION_TOKEN_TTL_S", "1e9", "expected `float` <= 86400.0"),
        ("QUIZSESSION_LOGIN_LIMIT_PER_MINUTE", "-5", "expected `int` >= 1"),
        ("QUIZSESSION_WRITE_LIMIT_PER_SECOND", "0", "expected `int` >= 1"),
    ],
)
def test_serve_refuses_to_start_with_a_setting_out_of_bounds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    for key in list(os.environ):
        if key.startswith("QUIZSESSION_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve"], env={variable: value})
    assert result.exit_code == 2
    assert result.stderr == f"error: invalid {variable}: {expected}\n"
    assert not list(tmp_path.iterdir())  # nothing was created: nothing started
