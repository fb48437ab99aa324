# quizsession: one stateless instance. See deploy/README.md for a multi-instance
# example (nginx + PostgreSQL + Redis). Not built on the development machines
# (no Docker there): an example to start from.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# The service is the `server` extra (the base install is only the typed client);
# its pinned dependencies include websockets, which uvicorn needs to serve the
# live channel.
RUN pip install '.[server]'

RUN useradd --system --uid 10001 --home-dir /app quizsession
USER quizsession

# Settings come from QUIZSESSION_* variables (README, "Configuration"). The
# default store is a SQLite file in the working directory; mount a volume there,
# or set QUIZSESSION_STORE_URL=postgresql://... (then QUIZSESSION_SECRET_KEY too).
ENV QUIZSESSION_PORT=8002
EXPOSE 8002

# SIGTERM drains (503 `draining` to new work, live sockets told to reconnect,
# in-flight writes finished, at most ~15 s) and exits 0: give `docker stop` at
# least that (--time / stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8002/healthz', timeout=2).status != 200)"]
CMD ["quizsession", "serve", "--host", "0.0.0.0"]
