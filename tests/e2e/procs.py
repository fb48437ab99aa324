"""Real server processes for the end-to-end tests (the launcher lives in
``bench/procs.py`` so that the benchmarks use the very same code)."""

from __future__ import annotations

from bench.procs import ServerProcess, ServerStartError, free_port

__all__ = ["ServerProcess", "ServerStartError", "free_port"]
