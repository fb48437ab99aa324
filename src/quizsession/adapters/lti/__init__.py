"""LTI 1.3 on PyJWT, cryptography and httpx: the tool's key pair and key set
(``keys``), the platforms' key sets (``platform_keys``), launch id_token
validation (``id_tokens``) and the Assignment and Grade Services sink that
sends scores to an LMS gradebook (``ags``)."""
