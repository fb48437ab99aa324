"""The durable store on PostgreSQL, shared by any number of instances: ``store``
(the ports), ``sql`` (its statements), ``schema`` (migrations), ``connections``
(the pool, error translation, retries) and ``appends`` (group commit).

Importing it imports asyncpg: the composition root does so only for a
PostgreSQL URL."""

from quizsession.adapters.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
