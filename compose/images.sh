#!/usr/bin/env bash
# `make images`: every image of the compose stack, built here with no registry.
#
#   1. stenograph/base:bookworm   Debian bookworm (minbase) made with debootstrap, `docker import`ed
#   2. stenograph/kafka:<kafka>   Java 17 + the pinned Kafka jars the local stack resolves
#   3. stenograph/redis:bookworm  Debian's redis-server; stenograph/prometheus:bookworm, Debian's
#   4. stenograph:<version>       the one Python image of every service (+ :<commit>, :local)
#   5. stenograph:<version>-gpu   only with IMAGES_GPU=1 (its CUDA base comes from a registry)
#
# The base is made once and cached (its tarball under the cache directory, the image in the
# engine); later runs rebuild only changed layers. Needs root for debootstrap and dockerd.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "images: $*" >&2; }
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
# compose/compose.sh takes the compose plugin where there is one, else Debian's docker-compose
{ docker compose version || docker-compose version; } >/dev/null 2>&1 || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  log "installing system packages: ${need[*]}"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
bash compose/engine.sh

version=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("stenograph"))')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cache="${STENOGRAPH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stenograph}/images"
mkdir -p "$cache"
base=stenograph/base:bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
started=$SECONDS

if ! docker image inspect "$base" >/dev/null 2>&1; then
  tarball="$cache/debian-bookworm-minbase.tar"
  if [ ! -f "$tarball" ]; then
    root=$(mktemp -d)
    log "debootstrap bookworm (minbase) from $mirror"
    $sudo debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { log "debootstrap failed, see $cache/debootstrap.log"; exit 1; }
    # apt in the image fetches from the same mirror; no downloaded packages kept in the layer
    echo "deb $mirror bookworm main" | $sudo tee "$root/etc/apt/sources.list" >/dev/null
    $sudo rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    $sudo tar --numeric-owner -C "$root" -cf "$tarball.partial" .
    $sudo rm -rf "$root"
    mv "$tarball.partial" "$tarball"
  fi
  log "importing $base"
  docker import --change 'CMD ["/bin/bash"]' "$tarball" "$base" >/dev/null
fi

kafka_version=$(.venv/bin/python -c 'from stenograph.compose.local.kafka import KAFKA_VERSION; print(KAFKA_VERSION)')
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp compose/kafka/Dockerfile compose/kafka/entrypoint.sh "$ctx/"
# the same jars as the local stack (resolved with Maven into the cache once)
libs=$(.venv/bin/python -c 'from stenograph.compose.local.kafka import ensure_libs; print(ensure_libs())')
cp -r "$libs" "$ctx/libs"
rm -f "$ctx/libs/.complete"

build() {  # tag... -- docker build args
  local tags=() ; while [ "$1" != "--" ]; do tags+=(-t "$1"); shift; done; shift
  log "building ${tags[1]}"
  DOCKER_BUILDKIT=0 docker build -q "${tags[@]}" --build-arg "BASE_IMAGE=$base" \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.revision=$commit" "$@" >/dev/null
}
build "stenograph/kafka:$kafka_version" stenograph/kafka:local -- "$ctx"
build stenograph/redis:bookworm stenograph/redis:local -- compose/redis
build stenograph/prometheus:bookworm stenograph/prometheus:local -- compose/prometheus
# The Python image's context, on stdin: the distribution's sources and this machine's extra CA
# certificates (a TLS-intercepting proxy in front of PyPI must be trusted inside the build too).
mkdir -p "$ctx/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$ctx/ca-certificates/" 2>/dev/null || true
sources() {
  tar -c --exclude=__pycache__ pyproject.toml stenograph schemas capture transcribe aggregate api \
    compose -C "$ctx" ca-certificates
}
sources | build "stenograph:$version" "stenograph:$commit" stenograph:local -- -f compose/Dockerfile -
if [ "${IMAGES_GPU:-0}" = 1 ]; then
  sources | build "stenograph:$version-gpu" stenograph:local-gpu -- -f compose/Dockerfile.gpu -
fi

log "done in $((SECONDS - started)) s"
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E '^stenograph' | sort >&2
