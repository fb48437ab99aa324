"""The attempt index read page by page: the statement of ``list_attempts`` for
any mix of filters, with a keyset (``attempt_id > after``) so that a page deep
in a big quiz costs what the first one does (the ``attempts_by_quiz`` and
``attempts_by_status`` indexes both end with ``attempt_id``)."""

from __future__ import annotations

from typing import Any

from quizsession.adapters.store.postgres.sql import ROW_COLUMNS


def list_attempts_query(
    quiz_id: str | None, status: str | None, after: str | None
) -> tuple[str, tuple[Any, ...]]:
    """The statement and its arguments after ``limit`` ($1) and ``offset`` ($2)."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("quiz_id", quiz_id), ("status", status), ("attempt_id >", after)):
        if value is None:
            continue
        args.append(value)
        op = "" if column.endswith(">") else " ="
        where.append(f"{column}{op} ${len(args) + 2}")
    clause = ("WHERE " + " AND ".join(where) + " ") if where else ""
    return ROW_COLUMNS + clause + "ORDER BY attempt_id LIMIT $1 OFFSET $2", tuple(args)
