#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: system packages, .venv, the Kafka jars.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need+=(redis-server)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# the tests drive whisper-live's own client, whose PyAudio import builds against PortAudio
[ -f /usr/include/portaudio.h ] || need+=(portaudio19-dev)
command -v cc >/dev/null 2>&1 || need+=(gcc)
# browser tests drive Debian's chromium (Playwright cannot download its own here)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)  # `make bench` loads the API with it
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

py="${PYTHON:-}"
if [ -z "$py" ]; then
  for c in python3.11 python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      py="$c"; break
    fi
  done
fi
[ -n "$py" ] || { echo "setup: Python >= 3.11 not found" >&2; exit 1; }
[ -x .venv/bin/python ] || "$py" -m venv .venv
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[dev]'
  # the client only: its server side would pull in torch; the dev extra has what the client imports
  .venv/bin/pip install -q --no-deps 'whisper-live==0.10.0'
  touch "$stamp"
fi
.venv/bin/python -c 'from stenograph.compose.local.kafka import ensure_libs; print("setup: kafka jars in", ensure_libs())'
