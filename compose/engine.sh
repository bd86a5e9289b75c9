#!/usr/bin/env bash
# Start the Docker engine when it is installed and not answering (CI and `make images`).
set -euo pipefail
docker info >/dev/null 2>&1 && exit 0
command -v dockerd >/dev/null 2>&1 || { echo "engine: dockerd not installed" >&2; exit 1; }
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
log="${TMPDIR:-/tmp}/stenograph-dockerd.log"
echo "engine: starting dockerd (log $log)" >&2
$sudo sh -c "nohup dockerd >'$log' 2>&1 &"
for _ in $(seq 60); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done
echo "engine: dockerd did not answer within 60 s (see $log)" >&2
exit 1
