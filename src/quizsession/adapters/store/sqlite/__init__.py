"""The embedded durable store on one SQLite file: ``store`` (the ports), ``sql``
(its statements), ``schema`` (migrations), and the generic machinery under it:
``writer`` (group commit on one writer thread) and ``readers`` (a reader pool)."""

from quizsession.adapters.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
