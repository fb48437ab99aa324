"""The wire: what travels between the service and its clients.

Shared by the HTTP routes and the typed client (``quizsession.client``), so the two
can never disagree. ``models``: every request and response body; ``problems``:
refusals (the code -> HTTP status table and the RFC 9457 body). Importable with
only msgspec installed: the standard library, msgspec and
``quizsession.domain.errors`` are all it imports (an import-linter contract)."""
