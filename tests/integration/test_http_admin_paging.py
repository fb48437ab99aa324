"""The admin lists of attempts come in keyset pages: ``?cursor=&limit=``, with
``next_cursor`` in the reply until the last page; a cursor the service did not
give is a ``validation_error`` problem (422) that changes nothing. The typed client follows."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from quizsession.bootstrap import Container
from tests.integration.test_http_reports_stream import _fill_with
from tests.unit.test_reports_stream import many

BAD_CURSORS = ["nope", "!!!", "eyJ4IjoxfQ", "x" * 600]


async def _walk(
    client: AsyncTestClient[Litestar], path: str, headers: dict[str, str], limit: int
) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        got = await client.get(path, params=params, headers=headers)
        assert got.status_code == 200, got.text
        body = got.json()
        pages += 1
        seen += [row["attempt_id"] for row in body["attempts"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("path", ["/admin/attempts?quiz_id=rq", "/admin/quizzes/rq/live"])
async def test_every_attempt_once_page_by_page(
    client: AsyncTestClient[Litestar],
    container: Container,
    admin_headers: dict[str, str],
    path: str,
) -> None:
    runs = many(23)
    await _fill_with(container, runs)
    seen, pages = await _walk(client, path, admin_headers, limit=5)
    assert seen == sorted(r.attempt_id for r in runs)
    assert pages == 5  # 5 + 5 + 5 + 5 + 3: the short page is the last
    seen, pages = await _walk(client, path, admin_headers, limit=23)
    assert pages == 2  # a full page cannot tell it was the last: one empty page follows
    assert len(seen) == 23


@pytest.mark.parametrize("path", ["/admin/attempts", "/admin/quizzes/rq/live"])
@pytest.mark.parametrize("cursor", BAD_CURSORS)
async def test_a_cursor_not_given_by_the_service_is_a_problem(
    client: AsyncTestClient[Litestar],
    container: Container,
    admin_headers: dict[str, str],
    path: str,
    cursor: str,
) -> None:
    await _fill_with(container, many(2))
    got = await client.get(path, params={"cursor": cursor}, headers=admin_headers)
    assert got.status_code == 422
    assert got.headers["content-type"].startswith("application/problem+json")
    assert got.json()["code"] == "validation_error"


@pytest.mark.parametrize("limit", [0, 1001, -1])
async def test_limits_are_bounded(
    client: AsyncTestClient[Litestar],
    container: Container,
    admin_headers: dict[str, str],
    limit: int,
) -> None:
    await _fill_with(container, many(1))
    for path in ("/admin/attempts", "/admin/quizzes/rq/live"):
        got = await client.get(path, params={"limit": limit}, headers=admin_headers)
        assert got.status_code == 422
        assert got.json()["code"] == "validation_error"
