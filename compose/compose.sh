#!/usr/bin/env bash
# `make compose-up` / `make compose-down`: the compose stack of the images `make images` built.
#   compose/compose.sh up [docker compose args...]   start, then wait until every service is healthy
#   compose/compose.sh down [args...]                stop and remove the containers (volumes kept)
#   compose/compose.sh --cluster up|down ...         three brokers, replication factor 3 (cluster.env)
# Works with the compose plugin (`docker compose`) or Debian's docker-compose; the project name
# is STENOGRAPH_COMPOSE_PROJECT (default stenograph).
set -euo pipefail
cd "$(dirname "$0")/.."
bash compose/engine.sh
if docker compose version >/dev/null 2>&1; then dc=(docker compose); else dc=(docker-compose); fi
project="${STENOGRAPH_COMPOSE_PROJECT:-stenograph}"
dc+=(-p "$project" -f compose/docker-compose.yml)
# more compose files on top (a site's overrides), separated by ':'
IFS=: read -r -a extra <<<"${STENOGRAPH_COMPOSE_FILES:-}"
for f in "${extra[@]}"; do [ -n "$f" ] && dc+=(-f "$f"); done
if [ "${1:-}" = --cluster ]; then
  dc+=(--env-file compose/cluster.env --profile cluster); shift
fi
action="${1:-up}"; shift || true
# the master key that seals audio and webhook secrets: every service of the stack must share it.
# Unless STENOGRAPH_SECRET_KEY is set: the local stack's key on this host (made once, mode 0600),
# so `stenograph stream` / `demo` on the host seal with the key the containers open with.
if [ -z "${STENOGRAPH_SECRET_KEY:-}" ]; then
  keyfile="${STENOGRAPH_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/stenograph}/secret-key"
  if [ ! -s "$keyfile" ]; then
    mkdir -p "$(dirname "$keyfile")"
    (umask 077; head -c 32 /dev/urandom | base64 | tr '+/' '-_' >"$keyfile")
  fi
  STENOGRAPH_SECRET_KEY="$(cat "$keyfile")"
  export STENOGRAPH_SECRET_KEY
fi
case "$action" in
  up)
    "${dc[@]}" up -d "$@"
    deadline=$((SECONDS + ${STENOGRAPH_COMPOSE_WAIT_S:-300}))
    while :; do
      waiting=()
      for id in $("${dc[@]}" ps -q); do
        state=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}}' "$id")
        read -r name status health code <<<"$state"
        case "$status/$health" in
          running/healthy|running/none) ;;
          exited/none) [ "$code" = 0 ] || { echo "compose: ${name#/} exited with $code" >&2; exit 1; } ;;
          *) waiting+=("${name#/}:$status/$health") ;;
        esac
      done
      [ ${#waiting[@]} -eq 0 ] && break
      if [ $SECONDS -ge $deadline ]; then
        echo "compose: not healthy in time: ${waiting[*]}" >&2; exit 1
      fi
      sleep 3
    done
    echo "compose: stack $project healthy; API http://127.0.0.1:${STENOGRAPH_API_PORT:-8000}" >&2
    ;;
  down) "${dc[@]}" down --remove-orphans "$@" ;;
  *) "${dc[@]}" "$action" "$@" ;;
esac
