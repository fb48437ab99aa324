"""Encryption at rest across restarts of a real server process: a store holding
encrypted data is never served without a key that opens it.

Answers saved with ``QUIZSESSION_ENCRYPTION_KEYS`` set; the server restarted
without it refuses to start, with one message naming the setting (it would
otherwise serve the stored envelopes as answers and score them 0); restarted
with the key back, the same session submits and the answers score right."""

from __future__ import annotations

import httpx
import pytest

from quizsession.adapters.store.encrypted import new_key
from tests.e2e.conftest import ServerFactory
from testsupport.processes import ServerStartError
from testsupport.scenario import Candidate, invite, login, next_question, put_quiz, start_test

pytestmark = [pytest.mark.timeout(120)]

QUIZ_ID = "sealed-quiz"


def _quiz() -> dict[str, object]:
    return {
        "id": QUIZ_ID,
        "title": "Three right answers",
        "duration_s": 3600,
        "test": {
            "questions": [
                {
                    "id": f"q{n}",
                    "kind": "single",
                    "text": f"Question {n}",
                    "points": 1,
                    "choices": [
                        {"id": "right", "text": "Right", "correct": True},
                        {"id": "wrong", "text": "Wrong"},
                    ],
                }
                for n in range(1, 4)
            ]
        },
    }


async def test_a_restart_without_the_key_refuses_to_start_and_the_key_back_scores_right(
    server_factory: ServerFactory,
) -> None:
    keys = {"QUIZSESSION_ENCRYPTION_KEYS": f"k1:{new_key()}"}
    server = server_factory("sealed", env=keys)
    await server.start_async()
    candidate: Candidate
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
        await put_quiz(client, server.admin_headers, _quiz())
        [token] = await invite(client, server.admin_headers, QUIZ_ID, 1)
        candidate = Candidate(invite_token=token)
        assert (await login(client, candidate)).status_code == 201
        await start_test(client, candidate)
        while (question := await next_question(client, candidate)) is not None:
            r = await client.put(
                f"/sessions/{candidate.session_id}/progress",
                json={"question_id": question["id"], "answer": "right", "op_id": question["id"]},
                headers=candidate.auth,
            )
            assert r.status_code == 200, r.text
    assert server.terminate() == 0

    # The same data, the key unset: no start, and the log says which setting.
    without = server_factory("sealed-without-key", db_path=server.db_path, port=server.port)
    with pytest.raises(ServerStartError):
        await without.start_async()
    assert "QUIZSESSION_ENCRYPTION_KEYS is not set" in without.log_text()

    # The key back: the answers are read as they were given, and score right.
    again = server_factory("sealed-again", env=keys, db_path=server.db_path, port=server.port)
    await again.start_async()
    async with httpx.AsyncClient(base_url=again.url, timeout=10.0) as client:
        r = await client.post(
            f"/sessions/{candidate.session_id}/complete", json={}, headers=candidate.auth
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["score"], body["max_score"]) == (3.0, 3.0)
