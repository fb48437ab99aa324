"""Encryption at rest for answers and candidates' personal data (optional, off by
default).

Two decorators, each around the one port whose data it encrypts:
``EncryptedEventLog`` replaces, before an append, each answer
(``AnswerSaved.answer``) and each candidate name (``AttemptCreated``) with an
AES-256-GCM envelope; ``EncryptedInvites`` does so for invites' names and emails, and
``EncryptedAccommodations`` for the note on a candidate's accommodation (it may
name a health condition).
Reads decrypt. The store underneath never sees those values in clear. Ids,
times, scores and the event types stay readable (the reaper and the admin lists
need them); the store's other ports carry no such data and are not wrapped.

Envelope: ``enc:v1:<key id>:<base64url(nonce 12 bytes | ciphertext+tag)>``, with
the attempt id (or the invite's token hash) and the field name as associated data,
so a ciphertext moved to another attempt or field does not decrypt.

Keys come from settings as ``id:base64key,id2:base64key`` (32-byte keys). The
first key encrypts new data; every listed key decrypts. Rotation: put a new key
first and keep the old ones listed for as long as data written under them must
stay readable (the log is append-only: old events are never rewritten).

No decision on unreadable data: with no keys (``keys=None``, encryption off) the
decorators write values as they are, and an envelope met on a read (data written
while encryption was on) is ``UnreadableData``, as is an envelope whose key is
not listed or that fails to decrypt. The caller gets 503 and nothing is decided
or written on what it could not read; an envelope is never taken for an answer
or a name.

A value typed by a person can never pass for an envelope: with encryption off, a
text that starts with ``enc:`` is written behind the escape prefix ``enc:v0:``
(stripped again on reads), so every stored text that starts with ``enc:v1:`` was
sealed by a key. Without the escape, a candidate who typed an envelope-shaped
answer would make the attempt and its quiz's reports unreadable.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from quizsession.app.ports import (
    Accommodation,
    AccommodationStore,
    AttemptIndexRow,
    AttemptStatus,
    EventLog,
    Invite,
    InviteRepository,
    RecordedEvent,
    UnreadableData,
    VersionConflict,
)
from quizsession.domain.events import AnswerSaved, AnswerValue, AttemptCreated, AttemptEvent

PREFIX = "enc:v1:"
#: The setting that lists the keys (named in the refusals).
KEYS_SETTING = "QUIZSESSION_ENCRYPTION_KEYS"
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
            raise UnreadableData(
                f"no encryption key {kid!r} to read stored data: {KEYS_SETTING} "
                "does not list it (was it removed?)"
            )
        try:
            blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            return aead.decrypt(blob[:12], blob[12:], context)
        except (InvalidTag, ValueError) as exc:
            raise UnreadableData("stored data failed to decrypt (wrong key or tampered)") from exc


def new_key() -> str:
    """A fresh base64url 32-byte key (for ``quizsession`` key generation)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


#: Written in front of a plain text that starts with ``enc:`` (encryption off).
ESCAPE = "enc:v0:"


def _escape(value: str) -> str:
    return ESCAPE + value if value.startswith("enc:") else value


def _unescape(value: str) -> str:
    return value[len(ESCAPE) :] if value.startswith(ESCAPE) else value


#: The shortest envelope's payload: a 12-byte nonce and a 16-byte tag.
_MIN_SEALED_BYTES = 28


def is_sealed(value: object) -> bool:
    """True for a value in the envelope's form: the prefix, an alphanumeric key
    id and a base64url payload at least as long as a nonce and a tag."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return False
    kid, sep, encoded = value[len(PREFIX) :].partition(":")
    if not sep or not kid.isalnum():
        return False
    try:
        blob = base64.b64decode(encoded + "=" * (-len(encoded) % 4), b"-_", validate=True)
    except ValueError:
        return False
    return len(blob) >= _MIN_SEALED_BYTES


def _open(keys: KeyRing | None, envelope: str, context: bytes) -> bytes:
    if keys is None:
        raise UnreadableData(
            f"the store holds data encrypted at rest and {KEYS_SETTING} is not set: "
            "set it to the keys the data was written with"
        )
    return keys.open(envelope, context)


def _escaped(event: AttemptEvent) -> AttemptEvent:
    """``event`` with its free texts escaped (encryption off)."""
    if isinstance(event, AnswerSaved) and isinstance(event.answer, str):
        if event.answer.startswith("enc:"):
            return msgspec.structs.replace(event, answer=_escape(event.answer))
    elif isinstance(event, AttemptCreated) and event.candidate_name.startswith("enc:"):
        return msgspec.structs.replace(event, candidate_name=_escape(event.candidate_name))
    return event


class EncryptedEventLog:
    """An ``EventLog`` that keeps answers and candidate names encrypted in
    ``inner`` (``keys`` None: encryption off, envelopes refused on reads)."""

    def __init__(self, inner: EventLog, keys: KeyRing | None) -> None:
        self._inner = inner
        self._keys = keys

    def _seal(self, attempt_id: str, event: AttemptEvent) -> AttemptEvent:
        keys = self._keys
        if keys is None:
            return _escaped(event)
        ctx = attempt_id.encode()
        if isinstance(event, AnswerSaved):
            sealed = keys.seal(_answer_encoder.encode(event.answer), ctx + b"|answer")
            return msgspec.structs.replace(event, answer=sealed)
        if isinstance(event, AttemptCreated) and event.candidate_name:
            sealed = keys.seal(event.candidate_name.encode(), ctx + b"|name")
            return msgspec.structs.replace(event, candidate_name=sealed)
        return event

    def _open(self, record: RecordedEvent) -> RecordedEvent:
        event = record.event
        ctx = record.attempt_id.encode()
        if isinstance(event, AnswerSaved) and is_sealed(event.answer):
            assert isinstance(event.answer, str)
            raw = _open(self._keys, event.answer, ctx + b"|answer")
            answer: AnswerValue = _answer_decoder.decode(raw)
            event = msgspec.structs.replace(event, answer=answer)
        elif isinstance(event, AttemptCreated) and is_sealed(event.candidate_name):
            name = _open(self._keys, event.candidate_name, ctx + b"|name").decode()
            event = msgspec.structs.replace(event, candidate_name=name)
        elif isinstance(event, AnswerSaved) and isinstance(event.answer, str):
            if not event.answer.startswith(ESCAPE):
                return record
            event = msgspec.structs.replace(event, answer=_unescape(event.answer))
        elif isinstance(event, AttemptCreated) and event.candidate_name.startswith(ESCAPE):
            event = msgspec.structs.replace(event, candidate_name=_unescape(event.candidate_name))
        else:
            return record
        return msgspec.structs.replace(record, event=event)

    async def append(
        self,
        attempt_id: str,
        expected_version: int,
        events: Sequence[AttemptEvent],
        index: AttemptIndexRow,
    ) -> int:
        events = [self._seal(attempt_id, e) for e in events]
        try:
            return await self._inner.append(attempt_id, expected_version, events, index)
        except VersionConflict as exc:
            if exc.after is not None:  # the log's events it carries are read ones
                exc.after = [self._open(r) for r in exc.after]
            raise

    async def read(self, attempt_id: str, after: int = 0) -> list[RecordedEvent]:
        return [self._open(r) for r in await self._inner.read(attempt_id, after)]

    async def read_many(self, attempt_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        logs = await self._inner.read_many(attempt_ids)
        return {attempt_id: [self._open(r) for r in log] for attempt_id, log in logs.items()}


class EncryptedInvites:
    """An ``InviteRepository`` that keeps names and emails encrypted in ``inner``
    (``keys`` None: encryption off, envelopes refused on reads)."""

    def __init__(self, inner: InviteRepository, keys: KeyRing | None) -> None:
        self._inner = inner
        self._keys = keys

    def _seal(self, invite: Invite) -> Invite:
        keys = self._keys
        if keys is None:
            return msgspec.structs.replace(
                invite, name=_escape(invite.name), email=_escape(invite.email)
            )
        ctx = invite.token_hash.encode()
        return msgspec.structs.replace(
            invite,
            name=keys.seal(invite.name.encode(), ctx + b"|name"),
            email=keys.seal(invite.email.encode(), ctx + b"|email"),
        )

    def _open_text(self, value: str, context: bytes) -> str:
        # A sealed value is opened, a plain one unescaped: never both (a sealed
        # text that starts with the escape is what the candidate typed).
        if is_sealed(value):
            return _open(self._keys, value, context).decode()
        return _unescape(value)

    def _open(self, invite: Invite) -> Invite:
        ctx = invite.token_hash.encode()
        name = self._open_text(invite.name, ctx + b"|name")
        email = self._open_text(invite.email, ctx + b"|email")
        return msgspec.structs.replace(invite, name=name, email=email)

    async def add_invites(self, invites: Sequence[Invite]) -> None:
        await self._inner.add_invites([self._seal(i) for i in invites])

    async def find_invite(self, token_hash: str) -> Invite | None:
        found = await self._inner.find_invite(token_hash)
        return None if found is None else self._open(found)


class EncryptedAccommodations:
    """An ``AccommodationStore`` that keeps each accommodation's note encrypted in
    ``inner`` (``keys`` None: encryption off, envelopes refused on reads)."""

    def __init__(self, inner: AccommodationStore, keys: KeyRing | None) -> None:
        self._inner = inner
        self._keys = keys

    def _seal(self, accommodation: Accommodation) -> Accommodation:
        note, keys = accommodation.note, self._keys
        if not note:
            return accommodation
        ctx = accommodation.candidate_id.encode() + b"|note"
        sealed = _escape(note) if keys is None else keys.seal(note.encode(), ctx)
        return msgspec.structs.replace(accommodation, note=sealed)

    def _open(self, accommodation: Accommodation) -> Accommodation:
        note = accommodation.note
        if is_sealed(note):
            ctx = accommodation.candidate_id.encode() + b"|note"
            note = _open(self._keys, note, ctx).decode()
        else:
            note = _unescape(note)
        if note == accommodation.note:
            return accommodation
        return msgspec.structs.replace(accommodation, note=note)

    async def put_accommodation(self, accommodation: Accommodation) -> None:
        await self._inner.put_accommodation(self._seal(accommodation))

    async def get_accommodation(self, candidate_id: str) -> Accommodation | None:
        found = await self._inner.get_accommodation(candidate_id)
        return None if found is None else self._open(found)

    async def delete_accommodation(self, candidate_id: str) -> bool:
        return await self._inner.delete_accommodation(candidate_id)

    async def list_accommodations(
        self, *, limit: int = 100, offset: int = 0
    ) -> list[Accommodation]:
        found = await self._inner.list_accommodations(limit=limit, offset=offset)
        return [self._open(a) for a in found]

    async def candidate_attempts(
        self, candidate_id: str, *, status: AttemptStatus | None = "open"
    ) -> list[AttemptIndexRow]:
        return await self._inner.candidate_attempts(candidate_id, status=status)
