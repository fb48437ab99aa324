"""Encryption at rest for answers and candidates' personal data (optional, off by
default).

``EncryptedStore`` wraps any ``Store``: before an append it replaces each answer
(``AnswerSaved.answer``) and each candidate name (``AttemptCreated``) with an
AES-256-GCM envelope, and invites' names and emails likewise; reads decrypt. The
store underneath never sees those values in clear. Ids, times, scores and the
event types stay readable (the reaper and the admin lists need them).

Envelope: ``enc:v1:<key id>:<base64url(nonce 12 bytes | ciphertext+tag)>``, with
the attempt id (or the invite's token hash) and the field name as associated data,
so a ciphertext moved to another attempt or field does not decrypt.

Keys come from settings as ``id:base64key,id2:base64key`` (32-byte keys). The
first key encrypts new data; every listed key decrypts. Rotation: put a new key
first and keep the old ones listed for as long as data written under them must
stay readable (the log is append-only: old events are never rewritten).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from quizsession.app.ports import (
    AttemptIndexRow,
    AttemptStatus,
    Invite,
    LeaseGrant,
    QuizSummary,
    RecordedEvent,
    Store,
    StoreError,
)
from quizsession.domain.events import AnswerSaved, AnswerValue, AttemptCreated, AttemptEvent
from quizsession.domain.quiz import Quiz

PREFIX = "enc:v1:"
_answer_encoder = msgspec.json.Encoder()
_answer_decoder = msgspec.json.Decoder(AnswerValue)


class KeyRing:
    """Named AES-256-GCM keys; the first one encrypts."""

    def __init__(self, spec: str) -> None:
        keys: list[tuple[str, AESGCM]] = []
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            kid, sep, encoded = part.partition(":")
            if not sep or not kid or not kid.isalnum():
                raise ValueError("encryption keys look like id:base64key (id alphanumeric)")
            try:
                raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except ValueError as exc:
                raise ValueError(f"encryption key {kid!r} is not base64") from exc
            if len(raw) != 32:
                raise ValueError(f"encryption key {kid!r} must be 32 bytes (AES-256)")
            keys.append((kid, AESGCM(raw)))
        if not keys:
            raise ValueError("no encryption key given")
        if len({kid for kid, _ in keys}) != len(keys):
            raise ValueError("encryption key ids must be unique")
        self._active = keys[0]
        self._by_id = dict(keys)

    @property
    def active_id(self) -> str:
        return self._active[0]

    def seal(self, plaintext: bytes, context: bytes) -> str:
        kid, aead = self._active
        nonce = os.urandom(12)
        sealed = aead.encrypt(nonce, plaintext, context)
        return f"{PREFIX}{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def open(self, envelope: str, context: bytes) -> bytes:
        kid, _, encoded = envelope[len(PREFIX) :].partition(":")
        aead = self._by_id.get(kid)
        if aead is None:
            raise StoreError(f"no encryption key {kid!r} to read stored data (was it removed?)")
        try:
            blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            return aead.decrypt(blob[:12], blob[12:], context)
        except (InvalidTag, ValueError) as exc:
            raise StoreError("stored data failed to decrypt (wrong key or tampered)") from exc


def new_key() -> str:
    """A fresh base64url 32-byte key (for ``quizsession`` key generation)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def _is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class EncryptedStore:
    """A ``Store`` that keeps answers and personal data encrypted in ``inner``."""

    def __init__(self, inner: Store, keys: KeyRing) -> None:
        self._inner = inner
        self._keys = keys

    # -- the transformation ----------------------------------------------------------

    def _seal_event(self, attempt_id: str, event: AttemptEvent) -> AttemptEvent:
        ctx = attempt_id.encode()
        if isinstance(event, AnswerSaved):
            sealed = self._keys.seal(_answer_encoder.encode(event.answer), ctx + b"|answer")
            return msgspec.structs.replace(event, answer=sealed)
        if isinstance(event, AttemptCreated) and event.candidate_name:
            sealed = self._keys.seal(event.candidate_name.encode(), ctx + b"|name")
            return msgspec.structs.replace(event, candidate_name=sealed)
        return event

    def _open_event(self, attempt_id: str, event: AttemptEvent) -> AttemptEvent:
        ctx = attempt_id.encode()
        if isinstance(event, AnswerSaved) and _is_sealed(event.answer):
            assert isinstance(event.answer, str)
            raw = self._keys.open(event.answer, ctx + b"|answer")
            answer: AnswerValue = _answer_decoder.decode(raw)
            return msgspec.structs.replace(event, answer=answer)
        if isinstance(event, AttemptCreated) and _is_sealed(event.candidate_name):
            name = self._keys.open(event.candidate_name, ctx + b"|name").decode()
            return msgspec.structs.replace(event, candidate_name=name)
        return event

    def _seal_invite(self, invite: Invite) -> Invite:
        ctx = invite.token_hash.encode()
        return msgspec.structs.replace(
            invite,
            name=self._keys.seal(invite.name.encode(), ctx + b"|name"),
            email=self._keys.seal(invite.email.encode(), ctx + b"|email"),
        )

    def _open_invite(self, invite: Invite) -> Invite:
        ctx = invite.token_hash.encode()
        name, email = invite.name, invite.email
        if _is_sealed(name):
            name = self._keys.open(name, ctx + b"|name").decode()
        if _is_sealed(email):
            email = self._keys.open(email, ctx + b"|email").decode()
        return msgspec.structs.replace(invite, name=name, email=email)

    # -- Store -----------------------------------------------------------------------

    @property
    def durable(self) -> bool:
        return self._inner.durable

    async def open(self) -> None:
        await self._inner.open()

    async def close(self) -> None:
        await self._inner.close()

    async def ping(self) -> bool:
        return await self._inner.ping()

    async def append(
        self,
        attempt_id: str,
        expected_version: int,
        events: Sequence[AttemptEvent],
        index: AttemptIndexRow,
    ) -> int:
        sealed = [self._seal_event(attempt_id, e) for e in events]
        return await self._inner.append(attempt_id, expected_version, sealed, index)

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        records = await self._inner.read(attempt_id, after)
        return [
            msgspec.structs.replace(r, event=self._open_event(attempt_id, r.event)) for r in records
        ]

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        logs = await self._inner.read_many(attempt_ids)
        return {
            attempt_id: [
                msgspec.structs.replace(r, event=self._open_event(attempt_id, r.event))
                for r in records
            ]
            for attempt_id, records in logs.items()
        }

    async def get_index(self, attempt_id: str) -> AttemptIndexRow | None:
        return await self._inner.get_index(attempt_id)

    async def list_attempts(
        self,
        *,
        quiz_id: str | None = None,
        status: AttemptStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AttemptIndexRow]:
        return await self._inner.list_attempts(
            quiz_id=quiz_id, status=status, limit=limit, offset=offset
        )

    async def due_attempts(self, now: float, limit: int = 500) -> list[AttemptIndexRow]:
        return await self._inner.due_attempts(now, limit)

    async def put_quiz(self, quiz: Quiz) -> Quiz:
        return await self._inner.put_quiz(quiz)

    async def get_quiz(self, quiz_id: str, version: int | None = None) -> Quiz | None:
        return await self._inner.get_quiz(quiz_id, version)

    async def list_quizzes(self) -> list[QuizSummary]:
        return await self._inner.list_quizzes()

    async def add_invites(self, invites: Sequence[Invite]) -> None:
        await self._inner.add_invites([self._seal_invite(i) for i in invites])

    async def find_invite(self, token_hash: str) -> Invite | None:
        found = await self._inner.find_invite(token_hash)
        return None if found is None else self._open_invite(found)

    # Leases carry no personal data: passed through (present once the stores
    # implement the LeaseStore part of the port).
    async def acquire_lease(
        self, attempt_id: str, session_id: str, ttl_s: float, now: float, *, force: bool = False
    ) -> LeaseGrant:
        grant: LeaseGrant = await self._inner.acquire_lease(
            attempt_id, session_id, ttl_s, now, force=force
        )
        return grant

    async def release_lease(self, attempt_id: str, session_id: str) -> None:
        await self._inner.release_lease(attempt_id, session_id)

    async def lease_holder(self, attempt_id: str, now: float) -> LeaseGrant:
        grant: LeaseGrant = await self._inner.lease_holder(attempt_id, now)
        return grant

    # Liveness marks carry no personal data: passed through.
    async def mark_alive(self, instance_id: str, now: float) -> None:
        await self._inner.mark_alive(instance_id, now)

    async def last_alive(self) -> float | None:
        at: float | None = await self._inner.last_alive()
        return at

    async def prune_alive(self, before: float) -> int:
        count: int = await self._inner.prune_alive(before)
        return count
