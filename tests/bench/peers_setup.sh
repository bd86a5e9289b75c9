#!/usr/bin/env bash
# The two peer servers of `python -m tests.bench.run peers`, each in a virtualenv of its own:
# their pins (torch, faster-whisper, tokenizers, ...) clash with ours and with each other.
# Idempotent: a virtualenv whose check already passes is left as it is.
set -uo pipefail

DIR="${STENOGRAPH_PEERS_DIR:-$HOME/.cache/stenograph/peers}"
fail() { echo "peers_setup: $*" >&2; exit 1; }

command -v python3.11 >/dev/null 2>&1 || fail "python3.11 not found on PATH"
# whisper-live depends on PyAudio, which builds from source against PortAudio's headers
[ -f /usr/include/portaudio.h ] || fail "PortAudio headers missing (apt-get install portaudio19-dev)"
mkdir -p "$DIR" || fail "cannot create $DIR"

# setup NAME CHECK PIP_ARGS...: a venv at $DIR/NAME where python -c CHECK passes
setup() {
  local name="$1" check="$2" venv="$DIR/$1"
  shift 2
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
    echo "peers_setup: $name ready in $venv"
    return 0
  fi
  echo "peers_setup: installing $name into $venv (torch and friends: several minutes)"
  [ -x "$venv/bin/python" ] || python3.11 -m venv "$venv" || fail "python3.11 -m venv $venv failed"
  local log="$venv/pip.log"
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >"$log" 2>&1 \
    || fail "upgrading pip in $venv failed: $(grep -m1 ERROR "$log")"
  # PyPI's torch for linux is the CUDA build; it runs on the CPU as it is
  if ! "$venv/bin/pip" install -q --disable-pip-version-check "$@" >"$log" 2>&1; then
    fail "pip install $* failed in $venv: $(grep -m1 -E '^ERROR|error:' "$log" || tail -1 "$log") (full log: $log)"
  fi
  "$venv/bin/python" -c "$check" >"$venv/check.log" 2>&1 \
    || fail "$name installed but its import check fails: $(tail -1 "$venv/check.log")"
  echo "peers_setup: $name ready in $venv"
}

setup whisperlive \
  "import importlib.metadata as m, whisper_live.server, whisper_live.backend.faster_whisper_backend; assert m.version('whisper-live') == '0.10.0'" \
  "whisper-live==0.10.0"
setup whisperlivekit \
  "import whisperlivekit.basic_server, faster_whisper" \
  whisperlivekit "faster-whisper>=1.2.0"
