"""The live state's adapters: ``memory`` (one process), ``sqlite_file`` (shared by
the worker processes of one machine), ``redis`` (shared by every instance) and
``resilient`` (Redis behind a circuit breaker, with the durable
store's leases as its fallback: ``breaker``, ``handover``). ``inbox`` is the one
notice inbox all of them hand out."""
