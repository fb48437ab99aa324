"""Reports computed from the attempt logs: ``builder`` (results, item analysis,
session analytics and the renderer port), ``model``, ``attempt``, ``items``."""
