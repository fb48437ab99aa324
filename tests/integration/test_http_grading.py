"""Grading by hand and regrading over HTTP: the queue and its pages, grades, the
result pending until every answer is graded, a regrade (dry run and real), and
every bad input refused with its problem code, changing nothing."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import ADMIN_NAME, Api, Session

QUIZ = "essays"
BY = f"admin:{ADMIN_NAME}"


def definition(*, right: str = "b", with_e2: bool = True) -> dict[str, Any]:
    questions: list[dict[str, Any]] = [
        {
            "id": "e1",
            "kind": "essay",
            "text": "Explain why.",
            "points": 5,
            "word_limit": 50,
            "grader_info": "Look for the cause.",
        },
        {
            "id": "s1",
            "kind": "single",
            "text": "Pick one.",
            "choices": [
                {"id": "a", "text": "A", "correct": right == "a"},
                {"id": "b", "text": "B", "correct": right == "b"},
            ],
        },
    ]
    if with_e2:
        questions.append({"id": "e2", "kind": "essay", "text": "Describe it.", "points": 3})
    return {
        "id": QUIZ,
        "title": "Essays",
        "duration_s": 600,
        "navigation": "sequential",
        "test": {"questions": questions},
    }


async def finished(api: Api, answers: dict[str, Any], name: str = "Ann Example") -> Session:
    """A candidate who answered through the candidate API and submitted."""
    session = await api.open_session(QUIZ, name=name)
    await api.start(session, "test")
    for n in range(3):
        question = (await api.question(session))["question"]
        assert question is not None
        r = await api.save(session, question["id"], answers.get(question["id"]), f"op-{n}")
        assert r.status_code == 200, r.text
    r = await api.client.post(f"{session.path}/complete", headers=session.headers)
    assert r.status_code == 200, r.text
    return session


ANSWERS = {"e1": "It happens\nbecause of this.", "s1": "b", "e2": "A thing."}


def grade_path(attempt_id: str, question_id: str) -> str:
    return f"/admin/attempts/{attempt_id}/grades/{question_id}"


async def queue(api: Api, **params: Any) -> dict[str, Any]:
    r = await api.client.get(f"/admin/quizzes/{QUIZ}/grading", params=params, headers=api.admin)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# ------------------------------------------------------------------------ happy paths


async def test_pending_until_graded(api: Api) -> None:
    await api.put_quiz(definition())
    session = await finished(api, ANSWERS)
    detail = await api.detail(session.attempt_id)
    result = detail["attempt"]["result"]
    assert (result["score"], result["max_score"]) == (1.0, 9.0)
    assert (result["pending"], result["pending_questions"]) == (True, 2)

    page = await queue(api)
    assert [(i["question_id"], i["status"]) for i in page["items"]] == [
        ("e1", "pending"),
        ("e2", "pending"),
    ]
    first = page["items"][0]
    assert first["attempt_id"] == session.attempt_id
    assert first["candidate_name"] == "Ann Example"
    assert first["question_text"] == "Explain why."
    assert first["grader_info"] == "Look for the cause."
    assert first["answer"] == "It happens\nbecause of this."
    assert (first["word_count"], first["word_limit"]) == (5, 50)
    assert (first["min_points"], first["max_points"]) == (0.0, 5.0)
    assert first["points"] is None
    assert page["next_cursor"] is None
    assert page["questions"] == [
        {"id": "e1", "text": "Explain why."},
        {"id": "e2", "text": "Describe it."},
    ]

    r = await api.client.put(
        grade_path(session.attempt_id, "e1"),
        json={"points": 4, "comment": "Good,\nbut short."},
        headers=api.admin,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["points"], body["comment"], body["grader"]) == (4.0, "Good,\nbut short.", BY)
    assert (body["result"]["pending"], body["result"]["pending_questions"]) == (True, 1)
    r = await api.client.put(
        grade_path(session.attempt_id, "e2"), json={"points": 2.5}, headers=api.admin
    )
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert (result["score"], result["pending"], result["pending_questions"]) == (7.5, False, 0)
    # Grading again replaces the grade.
    r = await api.client.put(
        grade_path(session.attempt_id, "e2"), json={"points": 3}, headers=api.admin
    )
    assert r.json()["result"]["score"] == 8.0
    assert (await queue(api))["items"] == []
    graded = await queue(api, status="graded")
    assert [(i["question_id"], i["points"], i["grader"]) for i in graded["items"]] == [
        ("e1", 4.0, BY),
        ("e2", 3.0, BY),
    ]
    types = [e["type"] for e in await api.events(session.attempt_id)]
    assert types.count("answer_graded") == 3
    # The candidate's own view says the same.
    r = await api.client.get(session.path, headers=session.headers)
    assert r.json()["result"]["score"] == 8.0


async def test_the_queue_names_the_current_questions_graded_by_hand(api: Api) -> None:
    """The page's filter lists these: decided by the server (the kind's grading),
    from the quiz's current version, on every page, even with nothing to grade."""
    await api.put_quiz(definition())
    page = await queue(api)
    assert page["items"] == []
    assert [q["id"] for q in page["questions"]] == ["e1", "e2"]
    await finished(api, ANSWERS)
    await api.put_quiz(definition(with_e2=False))
    page = await queue(api, status="all", limit=1)
    assert [i["question_id"] for i in page["items"]] == ["e1"]
    assert page["questions"] == [{"id": "e1", "text": "Explain why."}]
    following = await queue(api, status="all", cursor=page["next_cursor"])
    assert [i["question_id"] for i in following["items"]] == ["e2"]
    assert following["questions"] == page["questions"]


async def test_blank_essays_are_not_in_the_pending_queue(api: Api) -> None:
    await api.put_quiz(definition())
    session = await finished(api, {"e1": "   ", "s1": "b", "e2": None})
    result = (await api.detail(session.attempt_id))["attempt"]["result"]
    assert (result["pending"], result["score"]) == (False, 1.0)
    assert (await queue(api))["items"] == []
    everything = await queue(api, status="all")
    assert [i["status"] for i in everything["items"]] == ["blank", "blank"]


async def test_the_queue_pages_and_filters_by_question(api: Api) -> None:
    await api.put_quiz(definition())
    attempts = sorted(
        [(await finished(api, ANSWERS, name=f"Candidate {n}")).attempt_id for n in range(5)]
    )
    seen: list[tuple[str, str]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await queue(api, **params)
        pages += 1
        assert len(page["items"]) <= 3
        seen += [(i["attempt_id"], i["question_id"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [(a, q) for a in attempts for q in ("e1", "e2")]
    assert pages == 4
    only = await queue(api, question_id="e2", limit=100)
    assert [(i["attempt_id"], i["question_id"]) for i in only["items"]] == [
        (a, "e2") for a in attempts
    ]
    # Grading while paging: the cursor still continues after where it was.
    page = await queue(api, limit=3)
    for item in page["items"]:
        r = await api.client.put(
            grade_path(item["attempt_id"], item["question_id"]),
            json={"points": 1},
            headers=api.admin,
        )
        assert r.status_code == 200, r.text
    rest = await queue(api, limit=100, cursor=page["next_cursor"])
    assert [(i["attempt_id"], i["question_id"]) for i in rest["items"]] == seen[3:]


async def test_regrade_dry_run_then_real(api: Api) -> None:
    await api.put_quiz(definition(right="b"))
    right = await finished(api, {**ANSWERS, "s1": "a"}, name="Right after the fix")
    wrong = await finished(api, {**ANSWERS, "s1": "b"}, name="Wrong after the fix")
    r = await api.client.put(
        grade_path(right.attempt_id, "e1"), json={"points": 5}, headers=api.admin
    )
    assert r.status_code == 200, r.text
    assert (await api.put_quiz(definition(right="a")))["version"] == 2

    before = await api.snapshot()
    r = await api.client.post(
        f"/admin/quizzes/{QUIZ}/regrade", json={"dry_run": True}, headers=api.admin
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert await api.snapshot() == before  # a dry run changes nothing
    by_id = {a["attempt_id"]: a for a in report["attempts"]}
    assert (report["to_version"], report["dry_run"], report["changed"]) == (2, True, 2)
    assert by_id[right.attempt_id]["changes"] == {"s1": [0.0, 1.0]}
    assert (by_id[right.attempt_id]["old_score"], by_id[right.attempt_id]["new_score"]) == (
        5.0,
        6.0,
    )
    assert by_id[wrong.attempt_id]["changes"] == {"s1": [1.0, 0.0]}

    r = await api.client.post(f"/admin/quizzes/{QUIZ}/regrade", json={}, headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == 2
    result = (await api.detail(right.attempt_id))["attempt"]["result"]
    assert (result["score"], result["pending"]) == (6.0, True)  # e1 kept, e2 still pending
    events = await api.events(right.attempt_id)
    regraded = [e["data"] for e in events if e["type"] == "regraded"]
    assert len(regraded) == 1
    assert (regraded[0]["quiz_version"], regraded[0]["by"]) == (2, BY)
    # Grading after the regrade uses the new version; a second regrade finds nothing.
    r = await api.client.put(
        grade_path(right.attempt_id, "e2"), json={"points": 3}, headers=api.admin
    )
    assert r.json()["result"]["score"] == 9.0
    # Read from the log again (a cold cache): scored with the regraded version;
    # the index row says which attempts still wait for a grader.
    api.container.executor.forget(right.attempt_id)
    assert (await api.detail(right.attempt_id))["attempt"]["result"]["score"] == 9.0
    rows_now = {
        row.attempt_id: row.state
        for row in await api.container.store.list_attempts(quiz_id=QUIZ, status="submitted")
    }
    assert rows_now == {right.attempt_id: "test_finished", wrong.attempt_id: "grading_pending"}
    r = await api.client.post(f"/admin/quizzes/{QUIZ}/regrade", json={}, headers=api.admin)
    assert r.json()["attempts"] == []
    # Reports show the score before the regrade.
    r = await api.client.get(f"/admin/quizzes/{QUIZ}/results", headers=api.admin)
    assert r.status_code == 200, r.text
    rows = {x["attempt_id"]: x for x in r.json()["results"]}
    assert (rows[right.attempt_id]["score"], rows[right.attempt_id]["score_before_regrade"]) == (
        9.0,
        5.0,
    )
    assert rows[wrong.attempt_id]["pending"] is True


async def test_regrade_pages(api: Api) -> None:
    await api.put_quiz(definition(right="b"))
    for n in range(3):
        await finished(api, {**ANSWERS, "s1": "a"}, name=f"C{n}")
    await api.put_quiz(definition(right="a"))
    seen: list[str] = []
    cursor = None
    while True:
        body: dict[str, Any] = {"limit": 2}
        if cursor:
            body["cursor"] = cursor
        r = await api.client.post(f"/admin/quizzes/{QUIZ}/regrade", json=body, headers=api.admin)
        assert r.status_code == 200, r.text
        seen += [a["attempt_id"] for a in r.json()["attempts"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3


# --------------------------------------------------------------------------- refusals


async def test_every_bad_grade_is_refused_and_changes_nothing(api: Api) -> None:
    await api.put_quiz(definition())
    done = await finished(api, ANSWERS)
    running = await api.started(QUIZ)
    put = api.client.put
    path = grade_path(done.attempt_id, "e1")
    await api.refused(put(path, json={"points": 1}), 401, "api_key_required")
    await api.refused(
        put(path, json={"points": 1}, headers={"X-API-Key": "wrong"}), 401, "api_key_invalid"
    )
    await api.refused(
        put(grade_path(running.attempt_id, "e1"), json={"points": 1}, headers=api.admin),
        409,
        "attempt_not_finished",
    )
    await api.refused(
        put(grade_path("nope", "e1"), json={"points": 1}, headers=api.admin), 404, "not_found"
    )
    body = await api.refused(
        put(grade_path(done.attempt_id, "zz"), json={"points": 1}, headers=api.admin),
        422,
        "question_unknown",
    )
    assert body["question_id"] == "zz"
    await api.refused(
        put(grade_path(done.attempt_id, "s1"), json={"points": 1}, headers=api.admin),
        422,
        "not_manually_graded",
    )
    json_body = {**api.admin, "content-type": "application/json"}
    for points in (b"5.5", b"-1", b"5.000001"):
        body = await api.refused(
            put(path, content=b'{"points": %s}' % points, headers=json_body),
            422,
            "grade_out_of_range",
        )
        assert (body["min_points"], body["max_points"]) == (0.0, 5.0)
    for bad in (
        {},
        {"points": "3"},
        {"points": 1, "extra": 1},
        {"points": 1, "comment": "x" * 5001},
    ):
        await api.refused(put(path, json=bad, headers=api.admin), 422, "validation_error")
    await api.refused(put(path, content=b"{", headers=json_body), 400, "malformed_json")
    # A voided attempt takes no grade.
    r = await api.client.post(f"/admin/attempts/{done.attempt_id}/void", json={}, headers=api.admin)
    assert r.status_code == 200, r.text
    await api.refused(put(path, json={"points": 1}, headers=api.admin), 409, "attempt_voided")


async def test_bad_queue_and_regrade_requests(api: Api) -> None:
    await api.put_quiz(definition())
    await finished(api, ANSWERS)
    get, post = api.client.get, api.client.post
    base = f"/admin/quizzes/{QUIZ}"
    await api.refused(get("/admin/quizzes/nope/grading", headers=api.admin), 404, "not_found")
    for params in ({"status": "done"}, {"limit": 0}, {"limit": 101}, {"cursor": "%%%"}):
        await api.refused(
            get(f"{base}/grading", params=params, headers=api.admin), 422, "validation_error"
        )
    await api.refused(get(f"{base}/grading"), 401, "api_key_required")
    await api.refused(
        post("/admin/quizzes/nope/regrade", json={}, headers=api.admin), 404, "not_found"
    )
    await api.refused(
        post(f"{base}/regrade", json={"from_version": 9}, headers=api.admin), 404, "not_found"
    )
    for bad in ({"dry_run": "yes"}, {"limit": 0}, {"what": 1}, {"cursor": "!!"}):
        await api.refused(
            post(f"{base}/regrade", json=bad, headers=api.admin), 422, "validation_error"
        )
    # A new version without a question the attempts were given: nothing regraded.
    await api.put_quiz(definition(with_e2=False))
    body = await api.refused(
        post(f"{base}/regrade", json={}, headers=api.admin), 409, "regrade_incompatible"
    )
    assert body["missing"] == ["e2"]
