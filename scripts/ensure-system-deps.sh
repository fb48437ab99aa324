#!/usr/bin/env bash
# Installs the servers the test suite starts on loopback (PostgreSQL, Redis) when
# they are missing. Uses Debian's packages; needs root (or sudo). Idempotent.
set -euo pipefail

need=()
pg_bin=""
for dir in /usr/lib/postgresql/*/bin; do
  if [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then pg_bin="$dir"; fi
done
if [ -z "$pg_bin" ] && ! command -v initdb >/dev/null 2>&1; then need+=(postgresql); fi
if ! command -v redis-server >/dev/null 2>&1; then need+=(redis-server); fi
if [ "${QUIZSESSION_BROWSER_TESTS:-1}" = "1" ] && ! command -v chromium >/dev/null 2>&1; then
  need+=(chromium)
fi

# The pages' JavaScript checks (make js): Node.js and npm.
if [ "${QUIZSESSION_JS_CHECKS:-1}" = "1" ]; then
  if ! command -v node >/dev/null 2>&1; then need+=(nodejs); fi
  if ! command -v npm >/dev/null 2>&1; then need+=(npm); fi
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "installing system packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "cannot install ${need[*]}: not root and no sudo" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the packaged services; the tests start their own on free ports.
for svc in redis-server postgresql; do
  if command -v service >/dev/null 2>&1; then $SUDO service "$svc" stop >/dev/null 2>&1 || true; fi
done
