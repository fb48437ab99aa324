"""Encryption at rest: the encrypting decorators pass the same store contract as
the stores they wrap, what they hand them holds no answer, name or email in clear,
and data they cannot open is never served (no decision on unreadable data)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from quizsession.adapters.store.assembled import AssembledStore
from quizsession.adapters.store.encrypted import (
    EncryptedAccommodations,
    EncryptedEventLog,
    EncryptedInvites,
    KeyRing,
    new_key,
)
from quizsession.adapters.store.memory import MemoryStore
from quizsession.adapters.store.sqlite import SqliteStore
from quizsession.app.ports import Invite, Store, StoreError, StoreUnavailable, UnreadableData
from quizsession.bootstrap import build
from quizsession.domain.events import AnswerSaved, AttemptCreated, AttemptEvent
from quizsession.settings import Settings, load_settings
from tests.contract.store_accommodations import accommodation
from tests.contract.test_store import T0, StoreContract, row

KEY_A = new_key()
KEY_B = new_key()


def encrypted(inner: Store, keys: KeyRing | None) -> Store:
    """``inner`` with its event log and invites encrypted (as the composition root
    assembles it)."""
    return AssembledStore(
        inner,
        events=EncryptedEventLog(inner, keys),
        invites=EncryptedInvites(inner, keys),
        accommodations=EncryptedAccommodations(inner, keys),
    )


class TestEncryptedMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[Store]:
        inner = MemoryStore()
        wrapped = encrypted(inner, KeyRing(f"a:{KEY_A}"))
        await wrapped.open()
        yield wrapped
        await wrapped.close()


class TestEncryptedSqliteStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[Store]:
        wrapped = encrypted(SqliteStore(str(tmp_path / "enc.db")), KeyRing(f"a:{KEY_A}"))
        await wrapped.open()
        yield wrapped
        await wrapped.close()


SECRET_ANSWER = "my-very-secret-answer"
NAME = "Zoë Candidate"
EMAIL = "zoe@example.org"
NOTE = "approved by the disability office: dyslexia"


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


async def _filled(inner: Store, ring: KeyRing) -> Store:
    store = encrypted(inner, ring)
    await store.open()
    await store.append("a1", 0, _events(), row("a1"))
    await store.add_invites([_invite()])
    await store.put_accommodation(accommodation("c1", note=NOTE))
    return store


def _files_bytes(folder: Path, prefix: str) -> bytes:
    """Every byte of the database and its WAL, as they lie on disk."""
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith(prefix))


async def test_the_wrapped_store_never_sees_answers_names_or_emails(tmp_path: Path) -> None:
    path = tmp_path / "raw.db"
    store = await _filled(SqliteStore(str(path)), KeyRing(f"a:{KEY_A}"))
    assert [r.event for r in await store.read("a1")] == _events()
    assert await store.find_invite("h" * 64) == _invite()
    assert await store.get_accommodation("c1") == accommodation("c1", note=NOTE)
    assert await store.list_accommodations() == [accommodation("c1", note=NOTE)]
    await store.close()
    raw = _files_bytes(tmp_path, "raw.db")
    for clear in (SECRET_ANSWER, NAME, EMAIL, "zoe@", "dyslexia"):
        assert clear.encode() not in raw
    assert b"enc:v1:a:" in raw
    assert b"answer_saved" in raw  # event types and ids stay readable for the indexes


async def test_rotation_reads_old_data_and_writes_with_the_new_key() -> None:
    inner = MemoryStore()
    old = await _filled(inner, KeyRing(f"a:{KEY_A}"))
    rotated = encrypted(inner, KeyRing(f"b:{KEY_B},a:{KEY_A}"))
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
    without_a = encrypted(inner, KeyRing(f"b:{KEY_B}"))
    with pytest.raises(StoreError, match="no encryption key 'a'"):
        await without_a.read("a1")
    with pytest.raises(StoreError):
        await without_a.find_invite("h" * 64)


async def test_a_wrong_key_under_the_same_id_is_detected() -> None:
    inner = MemoryStore()
    await _filled(inner, KeyRing(f"a:{KEY_A}"))
    impostor = encrypted(inner, KeyRing(f"a:{KEY_B}"))
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


# -- no decision on unreadable data ---------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
async def inner(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    store: Store = (
        MemoryStore() if request.param == "memory" else SqliteStore(str(tmp_path / "u.db"))
    )
    await store.open()
    yield store
    await store.close()


async def test_without_keys_an_envelope_is_unreadable_never_an_answer(inner: Store) -> None:
    await _filled(inner, KeyRing(f"a:{KEY_A}"))
    unset = encrypted(inner, None)
    reads = (
        unset.read("a1"),
        unset.read_many(["a1"]),
        unset.find_invite("h" * 64),
        unset.get_accommodation("c1"),
    )
    for read in reads:
        with pytest.raises(UnreadableData, match="QUIZSESSION_ENCRYPTION_KEYS is not set"):
            await read
    # A 503 like an unreachable store: the executor and the HTTP layer treat it so.
    assert issubclass(UnreadableData, StoreUnavailable)


def _typed(answer: str, n: int) -> AnswerSaved:
    return AnswerSaved(
        at=T0 + 4 + n,
        section="test",
        question_id=f"q{n}",
        answer=answer,  # a candidate may type anything
        op_id=f"o{n}",
        session_id="s1",
    )


#: A text a candidate typed that has exactly the form of a sealed value.
ENVELOPE_SHAPED = KeyRing(f"a:{KEY_A}").seal(b'"x"', b"elsewhere")


async def test_without_keys_values_are_kept_and_read_in_clear(inner: Store) -> None:
    store = encrypted(inner, None)
    typed = [
        _typed("enc:v1:not an envelope", 4),
        _typed(ENVELOPE_SHAPED, 5),
        _typed("enc:v0:already escaped-looking", 6),
        _typed("plain", 7),
    ]
    await store.append("a1", 0, [*_events(), *typed], row("a1"))
    await store.add_invites([_invite()])
    # Only the free texts that start with "enc:" are stored behind the escape.
    stored = [r.event for r in await inner.read("a1")]
    assert stored[: len(_events())] == _events()
    assert [e.answer for e in stored[len(_events()) :] if isinstance(e, AnswerSaved)] == [
        "enc:v0:enc:v1:not an envelope",
        "enc:v0:" + ENVELOPE_SHAPED,
        "enc:v0:enc:v0:already escaped-looking",
        "plain",
    ]
    assert [r.event for r in await store.read("a1")] == [*_events(), *typed]
    assert (await store.read_many(["a1"]))["a1"] == await store.read("a1")
    assert await store.find_invite("h" * 64) == _invite()


async def test_an_envelope_shaped_name_is_a_name_with_or_without_keys(inner: Store) -> None:
    shaped = msgspec.structs.replace(_invite(), name=ENVELOPE_SHAPED, email="enc:v1:x@y.org")
    for keys in (None, KeyRing(f"a:{KEY_A}")):
        store = encrypted(inner, keys)
        await store.add_invites([shaped])
        assert await store.find_invite("h" * 64) == shaped
    with_keys = encrypted(inner, KeyRing(f"a:{KEY_A}"))
    await with_keys.append("a2", 0, [_typed(ENVELOPE_SHAPED, 8)], row("a2"))
    assert [r.event for r in await with_keys.read("a2")] == [_typed(ENVELOPE_SHAPED, 8)]


async def test_an_escape_shaped_text_is_kept_with_or_without_keys(inner: Store) -> None:
    shaped = msgspec.structs.replace(_invite(), name="enc:v0:Bo", email="enc:v0:b@y.org")
    note = "enc:v0:typed by an administrator"
    for keys in (None, KeyRing(f"a:{KEY_A}")):
        store = encrypted(inner, keys)
        await store.add_invites([shaped])
        await store.put_accommodation(accommodation("c1", note=note))
        assert await store.find_invite("h" * 64) == shaped
        found = await store.get_accommodation("c1")
        assert found is not None
        assert found.note == note


async def test_a_removed_key_is_unavailable_not_a_bad_request(inner: Store) -> None:
    await _filled(inner, KeyRing(f"a:{KEY_A}"))
    with pytest.raises(UnreadableData, match="no encryption key 'a'"):
        await encrypted(inner, KeyRing(f"b:{KEY_B}")).read("a1")
    with pytest.raises(UnreadableData, match="failed to decrypt"):
        await encrypted(inner, KeyRing(f"a:{KEY_B}")).read_many(["a1"])


def _settings(db: Path, keys: str = "") -> Settings:
    return load_settings({}, store_url=f"sqlite:///{db}", secret_key="s" * 48, encryption_keys=keys)


async def test_a_store_with_encrypted_data_refuses_to_start_without_keys(tmp_path: Path) -> None:
    db = tmp_path / "sealed.db"
    first = build(_settings(db, f"a:{KEY_A}"))
    await first.start(reaper=False)
    assert await first.store.holds_encrypted_data() is True  # recorded on the first start
    await first.stop()

    refused = build(_settings(db))
    with pytest.raises(UnreadableData, match="QUIZSESSION_ENCRYPTION_KEYS is not set"):
        await refused.start(reaper=False)
    assert await refused.store.ping() is False  # closed again: nothing served

    back = build(_settings(db, f"a:{KEY_A}"))
    await back.start(reaper=False)
    await back.stop()


async def test_a_store_never_encrypted_starts_without_keys(tmp_path: Path) -> None:
    plain = build(_settings(tmp_path / "plain.db"))
    await plain.start(reaper=False)
    try:
        assert await plain.store.holds_encrypted_data() is False
    finally:
        await plain.stop()
