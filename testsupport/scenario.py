"""Quiz set-up shared by the end-to-end tests and the benchmarks: a quiz built
from the packaged demo definition, invites, candidate logins, valid answers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import httpx
import yaml

JSON = dict[str, Any]


def quiz_definition(
    quiz_id: str,
    *,
    duration_s: float = 3600.0,
    grace_s: float = 5.0,
    second_login: str = "refuse",
    practice: bool = False,
) -> JSON:
    """The demo quiz (every question kind) under ``quiz_id`` with the given
    timing; without its practice round unless ``practice``."""
    text = resources.files("quizsession").joinpath("examples/demo.yaml").read_text("utf-8")
    raw: JSON = yaml.safe_load(text)
    raw["id"] = quiz_id
    raw["duration_s"] = duration_s
    raw["policies"] = {**raw.get("policies", {}), "grace_s": grace_s, "second_login": second_login}
    if not practice:
        raw.pop("practice", None)
    return raw


def random_answer(question: JSON, rng: random.Random) -> Any:
    """A well-formed answer for a question view (``kind``, ``choices``)."""
    kind = question["kind"]
    choices = [c["id"] for c in question.get("choices") or []]
    if kind == "single":
        return rng.choice(choices)
    if kind == "multiple":
        picked = [c for c in choices if rng.random() < 0.5]
        return picked or [choices[0]]
    if kind == "true_false":
        return rng.random() < 0.5
    if kind == "short_text":
        return f"answer-{rng.randrange(1_000_000)}"
    return round(rng.uniform(-1000.0, 1000.0), 3)


async def put_quiz(client: httpx.AsyncClient, headers: dict[str, str], definition: JSON) -> int:
    """Store a definition; returns its version."""
    r = await client.put(f"/admin/quizzes/{definition['id']}", json=definition, headers=headers)
    r.raise_for_status()
    version: int = r.json()["version"]
    return version


async def invite(
    client: httpx.AsyncClient, headers: dict[str, str], quiz_id: str, count: int, prefix: str = "c"
) -> list[str]:
    """``count`` invite tokens for new candidates of ``quiz_id``."""
    roster = [
        {"name": f"{prefix}{i}", "email": f"{prefix}{i}@example.org", "valid_until": "2099-01-01"}
        for i in range(count)
    ]
    r = await client.post(
        f"/admin/quizzes/{quiz_id}/invites", json={"roster": roster}, headers=headers
    )
    r.raise_for_status()
    return [item["token"] for item in r.json()["invites"]]


@dataclass
class Candidate:
    """One candidate's login: its session and what it has been shown."""

    invite_token: str
    attempt_id: str = ""
    session_id: str = ""
    session_token: str = ""
    deadline: float | None = None
    questions: dict[str, JSON] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session_token}"}

    def opened(self, body: JSON) -> None:
        self.session_id = body["session_id"]
        self.session_token = body["session_token"]
        self.attempt_id = body["attempt"]["attempt_id"]


async def login(client: httpx.AsyncClient, candidate: Candidate) -> httpx.Response:
    """``POST /sessions`` with the invite; on 201 the candidate holds the session."""
    r = await client.post("/sessions", json={"invite_token": candidate.invite_token})
    if r.status_code == 201:
        candidate.opened(r.json())
    return r


async def start_test(client: httpx.AsyncClient, candidate: Candidate) -> JSON:
    r = await client.post(
        f"/sessions/{candidate.session_id}/start",
        json={"section": "test"},
        headers=candidate.auth,
    )
    r.raise_for_status()
    view: JSON = r.json()
    candidate.deadline = view["deadline"]
    return view


async def next_question(client: httpx.AsyncClient, candidate: Candidate) -> JSON | None:
    r = await client.get(f"/sessions/{candidate.session_id}/question", headers=candidate.auth)
    r.raise_for_status()
    question: JSON | None = r.json()["question"]
    if question is not None:
        candidate.questions[question["id"]] = question
    return question


async def deliver_all(client: httpx.AsyncClient, candidate: Candidate, rng: random.Random) -> int:
    """Answer each question as it is delivered until none is left; returns how
    many saves that took (so later saves can cycle through all questions)."""
    saves = 0
    while True:
        question = await next_question(client, candidate)
        if question is None:
            return saves
        r = await client.put(
            f"/sessions/{candidate.session_id}/progress",
            json={
                "question_id": question["id"],
                "answer": random_answer(question, rng),
                "op_id": f"deliver-{question['id']}",
            },
            headers=candidate.auth,
        )
        r.raise_for_status()
        saves += 1
