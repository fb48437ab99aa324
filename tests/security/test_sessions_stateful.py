"""A Hypothesis state machine over several sessions of one attempt, driven
through HTTP (the in-process app on the memory store, a FakeClock).

One candidate logs in (with and without takeover) as often as the machine
likes; any known session — the live one or a stale one, with the token it last
got — saves answers (fresh op ids or old ones, with the old payload or another),
heartbeats, reads, goes back to questions, flags them, reads the navigation
map, asks for the practice check and the review (refused in the test), logs
out and completes; time jumps by amounts that cross the
lease TTL (15 s), the idle timeout (2 min here, shorter than the token lifetime
so that both can fire), the token lifetime (15 min) and the deadline (10 min +
5 s grace); the reaper runs. After every request and every
step:

- no response is a 5xx, and every refusal is problem+json;
- at most one session can write: a new answer is accepted only from the session
  the log says is live at the current epoch, and in the log every answer was
  written by the session opened last (and not closed since);
- a request from a stale session (not live at the current epoch) never changes
  the store, whatever it gets back;
- a refused request changes nothing but the bookkeeping that was due anyway
  (the idle close of the requesting session, the deadline submission);
- every save that got a 2xx is in the log, with the payload it was sent.

``tests/unit/test_attempt_stateful.py`` checks the rules themselves against a
model; this machine checks that the HTTP layer, the tokens, the leases and the
idle tracking keep those promises end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import event as note
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from quizsession.adapters.store.memory import MemoryStore
from quizsession.api.problems import status_for
from quizsession.domain.attempt import AttemptState
from quizsession.domain.events import AnswerSaved, SessionClosed, SessionOpened, Submitted
from tests.integration.conftest import API_KEY, PROBLEM_JSON, demo_definition
from tests.security.service_machine import ServiceMachine

ANSWERS: dict[str, list[Any]] = {
    "capital-au": ["canberra", "sydney", "perth"],
    "primes": [["n2"], ["n2", "n11"], []],
}
JUMPS = [0.2, 0.5, 1.0, 1.0, 2.0, 5.0, 16.0, 61.0, 121.0, 301.0, 901.0]


@dataclass
class Known:
    """A session the machine has seen, with the newest token it was given."""

    session_id: str
    epoch: int
    token: str

    @property
    def path(self) -> str:
        return f"/sessions/{self.session_id}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class SessionsThroughHttp(ServiceMachine):
    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.acked: dict[str, tuple[str, Any]] = {}  # op id -> (question, answer) of a 2xx
        self.sent: dict[str, tuple[str, Any]] = {}  # op id -> the first payload sent
        self.attempt_id = ""
        self.invite = ""
        self.latest: Known | None = None  # the session that logged in last

    # -- the store ---------------------------------------------------------------------

    def log(self) -> tuple[bytes, ...]:
        store = self.container.store
        assert isinstance(store, MemoryStore)
        return tuple(store._logs.get(self.attempt_id, ()))

    def state(self) -> AttemptState:
        loaded = self.run(self.container.executor.load(self.attempt_id, fresh=True))
        assert loaded is not None
        state: AttemptState = loaded.state
        return state

    def events(self) -> list[Any]:
        return [r.event for r in self.run(self.container.store.read(self.attempt_id))]

    def is_writer(self, s: Known, state: AttemptState) -> bool:
        return state.live_session == s.session_id and state.epoch == s.epoch

    # -- requests ------------------------------------------------------------------------

    def request(
        self, method: str, url: str, *, s: Known | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send one request; check the invariants that hang on one request."""
        before_log = self.log() if self.attempt_id else ()
        before = self.state() if self.attempt_id else None
        stale = before is not None and s is not None and not self.is_writer(s, before)
        if s is not None:
            kwargs.setdefault("headers", s.headers)
        r: httpx.Response = self.run(self.client.request(method, url, **kwargs))
        assert r.status_code < 500, (method, url, r.status_code, r.text)
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers
            problem = r.json()
            assert problem["status"] == r.status_code
            assert status_for(problem["code"]) == r.status_code, problem
        code = r.json().get("code", "") if r.status_code >= 400 else ""
        where = url.replace(s.session_id, "{id}") if s is not None else url
        note(f"{method} {where} {'stale' if stale else 'live'}: {r.status_code} {code}")
        if not self.attempt_id:
            return r
        after_log = self.log()
        assert after_log[: len(before_log)] == before_log, "the log was rewritten"
        added = self.events()[len(before_log) :]
        if stale:
            assert not added, f"a stale session changed the store: {method} {url} -> {added}"
        if r.status_code >= 400:
            for event in added:
                idle_close = (
                    isinstance(event, SessionClosed)
                    and event.reason == "idle"
                    and s is not None
                    and event.session_id == s.session_id
                )
                due_submit = isinstance(event, Submitted) and event.reason == "deadline"
                assert idle_close or due_submit, (method, url, r.status_code, r.text, added)
        return r

    # -- rules ---------------------------------------------------------------------------

    @initialize(target=sessions)
    def setup(self) -> Any:
        admin = {"X-API-Key": API_KEY}
        # An idle timeout shorter than the token lifetime, so that both can fire.
        quiz = demo_definition(policies={"second_login": "takeover", "idle_timeout_s": 120})
        r = self.request("PUT", "/admin/quizzes/demo", json=quiz, headers=admin)
        assert r.status_code == 200, r.text
        r = self.request(
            "POST",
            "/admin/quizzes/demo/invites",
            json={
                "roster": [{"name": "Ann", "email": "ann@example.org", "valid_until": "2099-01-01"}]
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        self.invite = r.json()["invites"][0]["token"]
        r = self.request("POST", "/sessions", json={"invite_token": self.invite})
        assert r.status_code == 201, r.text
        self.attempt_id = r.json()["attempt"]["attempt_id"]
        first = self._known(r.json())
        r = self.request("POST", f"{first.path}/start", s=first, json={"section": "test"})
        assert r.status_code == 200, r.text
        r = self.request("GET", f"{first.path}/question", s=first)
        assert r.status_code == 200, r.text
        return first

    def _known(self, opened: dict[str, Any]) -> Known:
        sid = opened["session_id"]
        state = self.state()
        assert state.live_session == sid
        self.latest = Known(session_id=sid, epoch=state.epoch, token=opened["session_token"])
        return self.latest

    @rule(target=sessions, takeover=st.booleans())
    def login(self, takeover: bool) -> Any:
        r = self.request(
            "POST", "/sessions", json={"invite_token": self.invite, "takeover": takeover}
        )
        if r.status_code == 201:
            return self._known(r.json())
        assert r.json()["code"] in ("session_active", "rate_limited"), r.text
        return multiple()

    @rule(
        s=sessions,
        question=st.sampled_from(sorted(ANSWERS)),
        pick=st.integers(0, 2),
        reuse=st.sampled_from(["fresh", "fresh", "old-same", "old-other"]),
        which=st.integers(0, 1000),
    )
    def save(self, s: Known, question: str, pick: int, reuse: str, which: int) -> None:
        answer = ANSWERS[question][pick]
        if reuse != "fresh" and self.sent:
            op = sorted(self.sent)[which % len(self.sent)]
            if reuse == "old-same":
                question, answer = self.sent[op]
        else:
            op = f"op-{next(self.ops)}"
        before = self.state()
        writer = self.is_writer(s, before)
        body = {"question_id": question, "answer": answer, "op_id": op}
        r = self.request("PUT", f"{s.path}/progress", s=s, json=body)
        self.sent.setdefault(op, (question, answer))
        if r.status_code != 200:
            return
        result = r.json()
        if result["replayed"]:
            # A retry: the op was applied before with exactly this payload.
            assert op in before.ops, (op, result)
            assert self.acked.get(op) == (question, answer), (op, self.acked.get(op))
            return
        assert writer, f"{s} wrote while the log's live session was {before.live_session}"
        self.acked[op] = (question, answer)

    @rule(
        question=st.sampled_from(sorted(ANSWERS)),
        pick=st.integers(0, 2),
        reuse=st.sampled_from(["fresh", "fresh", "old-same", "old-other"]),
        which=st.integers(0, 1000),
    )
    def save_from_latest(self, question: str, pick: int, reuse: str, which: int) -> None:
        """The same, from the session that logged in last (most often the live
        one), so that accepted writes are frequent."""
        assert self.latest is not None
        self.save(self.latest, question, pick, reuse, which)

    @rule(s=sessions)
    def heartbeat(self, s: Known) -> None:
        r = self.request("POST", f"{s.path}/heartbeat", s=s)
        if r.status_code == 200:
            s.token = r.json()["session_token"]

    @rule(s=sessions)
    def next_question(self, s: Known) -> None:
        self.request("GET", f"{s.path}/question", s=s)

    @rule(s=sessions)
    def read(self, s: Known) -> None:
        self.request("GET", s.path, s=s)

    @rule(s=sessions, question=st.sampled_from([*sorted(ANSWERS), "largest-ocean", "nope"]))
    def open_question(self, s: Known, question: str) -> None:
        """Go back to a question (sequential: a delivered one; else 409/422)."""
        self.request("GET", f"{s.path}/questions/{question}", s=s)

    @rule(
        s=sessions,
        question=st.sampled_from(sorted(ANSWERS)),
        flagged=st.booleans(),
        reuse=st.booleans(),
    )
    def flag(self, s: Known, question: str, flagged: bool, reuse: bool) -> None:
        """Flag a question: a write like a save (a stale session changes nothing,
        an op id reused for another payload is a conflict)."""
        op = "flag-op" if reuse else f"flag-{next(self.ops)}"
        body = {"flagged": flagged, "op_id": op}
        self.request("PUT", f"{s.path}/flags/{question}", s=s, json=body)

    @rule(s=sessions)
    def read_map_check_and_review(self, s: Known) -> None:
        """The navigation map, the practice check (the test: 409) and the review
        (before the submission: 409): reads that change nothing."""
        before = self.log()
        for method, suffix in (
            ("GET", "/questions"),
            ("POST", "/questions/capital-au/check"),
            ("GET", "/review"),
        ):
            r = self.request(method, s.path + suffix, s=s)
            if suffix.endswith("/check"):
                assert r.status_code >= 400, r.text  # never a check in the test
        added = self.events()[len(before) :]
        assert all(isinstance(e, SessionClosed | Submitted) for e in added), (
            added
        )  # only the bookkeeping that was due anyway

    @rule(s=sessions)
    def logout(self, s: Known) -> None:
        self.request("DELETE", s.path, s=s)

    @rule(s=sessions, with_op=st.booleans(), now=st.integers(0, 7))
    def complete(self, s: Known, with_op: bool, now: int) -> None:
        if now:  # 1 in 8: an early submission would leave little else to try
            return
        body = {"op_id": "complete-op"} if with_op else None
        self.request("POST", f"{s.path}/complete", s=s, json=body)

    @rule(seconds=st.sampled_from(JUMPS))
    def advance_time(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def reap(self) -> None:
        self.run(self.container.reaper.run_once())

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def one_writer_in_the_log(self) -> None:
        """Every answer in the log was written by the session opened last and not
        closed since (the log's own account of who could write)."""
        if not self.attempt_id:
            return
        live: str | None = None
        for event in self.events():
            if isinstance(event, SessionOpened):
                live = event.session_id
            elif isinstance(event, SessionClosed) and event.session_id == live:
                live = None
            elif isinstance(event, AnswerSaved):
                assert event.session_id == live, (event, live)

    @invariant()
    def every_acknowledged_save_is_in_the_log(self) -> None:
        if not self.attempt_id:
            return
        saved = {
            e.op_id: (e.question_id, e.answer) for e in self.events() if isinstance(e, AnswerSaved)
        }
        for op, payload in self.acked.items():
            assert saved.get(op) == payload, (op, payload, saved.get(op))


def test_sessions_through_http() -> None:
    run_state_machine_as_test(
        SessionsThroughHttp,
        settings=settings(
            max_examples=80,
            stateful_step_count=40,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
