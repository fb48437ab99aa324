"""Reports written out as they are read (``app/reports/stream.py``): the JSON of
the results route, chunk by chunk around results already encoded one by one. The
CSV's rows: ``csv_json.results_csv_lines``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import msgspec

#: Bytes gathered before a chunk is handed to the server.
CHUNK = 64 * 1024


def results_json_chunks(head: msgspec.Struct, results: Iterable[bytes]) -> Iterator[bytes]:
    """``head`` (a struct whose LAST field, ``results``, is empty) encoded with
    the results (each one's JSON) in that list: the same JSON as ``head`` with
    the results in it, written a chunk at a time."""
    encoded = msgspec.json.encode(head)
    if not encoded.endswith(b'"results":[]}'):
        raise ValueError("the head's last field must be an empty results list")
    buffer = bytearray(encoded[:-2])
    first = True
    for data in results:
        if not first:
            buffer += b","
        buffer += data
        first = False
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"]}"
    yield bytes(buffer)
