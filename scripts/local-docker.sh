#!/usr/bin/env bash
# A Docker engine and local base images, for machines that reach no image registry.
#   scripts/local-docker.sh engine   start dockerd if none answers (prints its DOCKER_HOST)
#   scripts/local-docker.sh bases    build the local stand-ins of python, node, postgres and
#                                    redis from a debootstrapped Debian (once; cached)
#   scripts/local-docker.sh stop     stop the dockerd this script started
# State lives under $WISE_AL_DOCKER_DIR (default /var/lib/wise-al-docker) so that the image
# cache outlives clean clones. Users who can pull images need none of this.
set -euo pipefail
dir=${WISE_AL_DOCKER_DIR:-/var/lib/wise-al-docker}
sock=$dir/docker.sock
here=$(cd "$(dirname "$0")/.." && pwd)
export DOCKER_HOST=${DOCKER_HOST:-unix://$sock}
suite=bookworm
mirror=${WISE_AL_DEBIAN_MIRROR:-http://deb.debian.org/debian}

need() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
           --no-install-recommends "${missing[@]}" >/dev/null; }
}

engine() {
  if docker info >/dev/null 2>&1; then
    echo "$DOCKER_HOST"
    return
  fi
  need docker.io
  mkdir -p "$dir/data" "$dir/exec"
  nohup dockerd --data-root "$dir/data" --exec-root "$dir/exec" -H "unix://$sock" \
    --pidfile "$dir/dockerd.pid" > "$dir/dockerd.log" 2>&1 &
  for _ in $(seq 120); do
    if docker info >/dev/null 2>&1; then
      echo "$DOCKER_HOST"
      return
    fi
    sleep 0.5
  done
  echo "local-docker.sh: dockerd did not start; see $dir/dockerd.log" >&2
  exit 1
}

has_image() { docker image inspect "$1" >/dev/null 2>&1; }

bases() {
  engine >/dev/null
  if ! has_image wise-al-local/debian:$suite; then
    need debootstrap
    root=$(mktemp -d)
    echo "debootstrap $suite (about 1.5 min, once)" >&2
    debootstrap --variant=minbase "$suite" "$root" "$mirror" >/dev/null
    tar -C "$root" -c . | docker import - wise-al-local/debian:$suite >/dev/null
    rm -rf "$root"
  fi
  # always built: docker's layer cache makes an unchanged one instant, a changed one rebuilt
  for base in python node postgres redis; do
    docker build -q -t "wise-al-local/$base:$suite" --build-arg DEBIAN=wise-al-local/debian:$suite \
      -f "$here/docker/local-bases/$base.Dockerfile" "$here/docker/local-bases" >/dev/null
  done
  echo "local base images ready"
}

stop() {
  if [ -f "$dir/dockerd.pid" ]; then
    kill "$(cat "$dir/dockerd.pid")" 2>/dev/null || true
  fi
}

case "${1:-engine}" in
  engine) engine ;;
  bases) bases ;;
  stop) stop ;;
  *) echo "usage: $0 engine|bases|stop" >&2; exit 2 ;;
esac
