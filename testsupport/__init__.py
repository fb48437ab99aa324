"""What the tests and the benchmarks share. Neither ``tests`` nor ``bench`` imports
the other; both import this package.

- ``service``: a real ``quizsession serve`` process (SQLite or PostgreSQL store);
- ``postgres_server``, ``redis_server``: private PostgreSQL and Redis servers on
  loopback (no Docker), started and stopped by their own pid;
- ``processes``: waiting, signals and the shared errors of those launchers;
- ``net``: free loopback ports;
- ``scenario``: a quiz, invites, candidate logins and answers over HTTP;
- ``capacity_model``: the capacity projection's arithmetic (pure), measured by
  ``bench.projection`` and checked by ``tests/unit/test_projection.py``;
- ``fixtures``: the pytest plugin with one PostgreSQL and one Redis per test run.
"""
