"""Encryption at rest: the encrypting store passes the same store contract as the
stores it wraps, and what it hands them holds no answer, name or email in clear."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from quizsession.adapters.store_encrypted import EncryptedStore, KeyRing, new_key
from quizsession.adapters.store_memory import MemoryStore
from quizsession.adapters.store_sqlite import SqliteStore
from quizsession.app.ports import Invite, Store, StoreError
from quizsession.domain.events import AnswerSaved, AttemptCreated, AttemptEvent
from tests.contract.test_store import T0, StoreContract, row

KEY_A = new_key()
KEY_B = new_key()


class TestEncryptedMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[Store]:
        inner = MemoryStore()
        wrapped = EncryptedStore(inner, KeyRing(f"a:{KEY_A}"))
        await wrapped.open()
        yield wrapped
        await wrapped.close()


class TestEncryptedSqliteStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[Store]:
        wrapped = EncryptedStore(SqliteStore(str(tmp_path / "enc.db")), KeyRing(f"a:{KEY_A}"))
        await wrapped.open()
        yield wrapped
        await wrapped.close()


SECRET_ANSWER = "my-very-secret-answer"
NAME = "Zoë Candidate"
EMAIL = "zoe@example.org"


def _events() -> list[AttemptEvent]:
    return [
        AttemptCreated(
            at=T0,
            attempt_id="a1",
            quiz_id="q",
            quiz_version=1,
            candidate_id="c1",
            candidate_name=NAME,
        ),
        AnswerSaved(
            at=T0 + 1,
            section="test",
            question_id="q1",
            answer=SECRET_ANSWER,
            op_id="o1",
            session_id="s1",
        ),
        AnswerSaved(
            at=T0 + 2,
            section="test",
            question_id="q2",
            answer=["x", "y"],
            op_id="o2",
            session_id="s1",
        ),
        AnswerSaved(
            at=T0 + 3,
            section="test",
            question_id="q3",
            answer=3.5,
            op_id="o3",
            session_id="s1",
        ),
    ]


def _invite() -> Invite:
    return Invite(
        token_hash="h" * 64,
        quiz_id="q",
        candidate_id="c1",
        name=NAME,
        email=EMAIL,
        valid_until=T0 + 99,
        created_at=T0,
    )


async def _filled(inner: Store, ring: KeyRing) -> EncryptedStore:
    store = EncryptedStore(inner, ring)
    await store.open()
    await store.append("a1", 0, _events(), row("a1"))
    await store.add_invites([_invite()])
    return store


def _files_bytes(folder: Path, prefix: str) -> bytes:
    """Every byte of the database and its WAL, as they lie on disk."""
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith(prefix))


async def test_the_wrapped_store_never_sees_answers_names_or_emails(tmp_path: Path) -> None:
    path = tmp_path / "raw.db"
    store = await _filled(SqliteStore(str(path)), KeyRing(f"a:{KEY_A}"))
    assert [r.event for r in await store.read("a1")] == _events()
    assert await store.find_invite("h" * 64) == _invite()
    await store.close()
    raw = _files_bytes(tmp_path, "raw.db")
    for clear in (SECRET_ANSWER, NAME, EMAIL, "zoe@"):
        assert clear.encode() not in raw
    assert b"enc:v1:a:" in raw
    assert b"answer_saved" in raw  # event types and ids stay readable for the indexes


async def test_rotation_reads_old_data_and_writes_with_the_new_key() -> None:
    inner = MemoryStore()
    old = await _filled(inner, KeyRing(f"a:{KEY_A}"))
    rotated = EncryptedStore(inner, KeyRing(f"b:{KEY_B},a:{KEY_A}"))
    new_answer = AnswerSaved(
        at=T0 + 4,
        section="test",
        question_id="q4",
        answer="after rotation",
        op_id="o4",
        session_id="s1",
    )
    await rotated.append("a1", 4, [new_answer], row("a1"))
    assert [r.event for r in await rotated.read("a1")] == [*_events(), new_answer]
    raw_last = (await inner.read("a1"))[-1].event
    assert isinstance(raw_last, AnswerSaved)
    assert isinstance(raw_last.answer, str)
    assert raw_last.answer.startswith("enc:v1:b:")
    # The old key alone cannot read what the new key wrote.
    with pytest.raises(StoreError, match="no encryption key 'b'"):
        await old.read("a1")


async def test_a_removed_key_makes_its_data_unreadable_with_a_clear_error() -> None:
    inner = MemoryStore()
    await _filled(inner, KeyRing(f"a:{KEY_A}"))
    without_a = EncryptedStore(inner, KeyRing(f"b:{KEY_B}"))
    with pytest.raises(StoreError, match="no encryption key 'a'"):
        await without_a.read("a1")
    with pytest.raises(StoreError):
        await without_a.find_invite("h" * 64)


async def test_a_wrong_key_under_the_same_id_is_detected() -> None:
    inner = MemoryStore()
    await _filled(inner, KeyRing(f"a:{KEY_A}"))
    impostor = EncryptedStore(inner, KeyRing(f"a:{KEY_B}"))
    with pytest.raises(StoreError, match="failed to decrypt"):
        await impostor.read("a1")


async def test_a_ciphertext_moved_to_another_attempt_does_not_decrypt() -> None:
    inner = MemoryStore()
    store = await _filled(inner, KeyRing(f"a:{KEY_A}"))
    stolen = (await inner.read("a1"))[1].event
    await inner.append("a2", 0, [_events()[0], stolen], row("a2"))
    with pytest.raises(StoreError, match="failed to decrypt"):
        await store.read("a2")


@pytest.mark.parametrize(
    "spec",
    ["", "a", f"a:{KEY_A},a:{KEY_B}", "a:notbase64!!", "a:" + new_key()[:20], f"a-b:{KEY_A}"],
)
def test_bad_key_settings_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each spec has its own message
        KeyRing(spec)
