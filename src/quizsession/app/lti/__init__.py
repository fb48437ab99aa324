"""LTI 1.3 (the tool side): ``service`` builds it for the routes and the CLI;
``login`` (OIDC initiation), ``launch``, ``deep_linking``, ``platforms``
(registrations), ``state`` (signed state values) and ``ports``."""
