"""``HeadHeldTransport``: a response's head goes out with its body in one write,
and never later than the event loop's current iteration."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from quizsession.entrypoints.response_writes import HeadHeldTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class RecordingTransport:
    """What reached the transport, one entry per call (``writelines`` as a tuple)."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.calls.append(data)

    def writelines(self, parts: Any) -> None:
        self.calls.append(tuple(parts))

    def close(self) -> None:
        self.calls.append("close")
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def held(recording: RecordingTransport) -> HeadHeldTransport:
    return HeadHeldTransport(cast(asyncio.Transport, recording), asyncio.get_running_loop())


async def test_head_and_body_are_one_write() -> None:
    t = RecordingTransport()
    writes = held(t)
    writes.write(HEAD)
    assert t.calls == []
    writes.write(b"{}")
    assert t.calls == [(HEAD, b"{}")]
    await asyncio.sleep(0)  # the loop's callback finds nothing held
    assert t.calls == [(HEAD, b"{}")]


async def test_a_head_without_a_body_goes_out_within_the_iteration() -> None:
    """A HEAD answer (no body write) or a stream still computing its first piece."""
    t = RecordingTransport()
    writes = held(t)
    writes.write(HEAD)
    await asyncio.sleep(0)
    assert t.calls == [HEAD]
    writes.write(b"{}")  # a later piece goes out as it comes
    assert t.calls == [HEAD, b"{}"]


async def test_close_sends_the_held_head_first() -> None:
    t = RecordingTransport()
    writes = held(t)
    writes.write(HEAD)
    writes.close()
    assert t.calls == [HEAD, "close"]
    assert writes.is_closing()


async def test_interim_answers_and_body_pieces_are_never_held() -> None:
    t = RecordingTransport()
    writes = held(t)
    writes.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert t.calls == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    writes.write(b"5\r\nhello\r\n")
    assert t.calls[-1] == b"5\r\nhello\r\n"
