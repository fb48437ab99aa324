"""The candidate's session use cases: ``service`` is the facade the entrypoints
use; ``logins``, ``leases``, ``writes``, ``reads``, ``tokens`` and ``activity``
hold one concern each."""
