"""The live state's adapters: ``memory`` (one process), ``redis`` (shared by every
instance) and ``resilient`` (Redis behind a circuit breaker, with the durable
store's leases as its fallback: ``breaker``, ``handover``). ``inbox`` is the one
notice inbox all of them hand out."""
