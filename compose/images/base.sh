#!/usr/bin/env bash
# Prints the base image the Dockerfiles build on, making it first if needed.
#
# Where a registry answers, that is debian:bookworm-slim and the Dockerfiles
# apt-get the Debian packages. Where nothing can be pulled, it debootstraps
# bookworm (minbase) with those packages included from the host's Debian
# mirror and `docker import`s it as $LOCAL_TAG; the Dockerfiles see the
# packages already installed and skip apt. An existing image is reused.
# Progress goes to stderr; the image name is the only line on stdout.
set -euo pipefail
LOCAL_TAG=${LOCAL_TAG:-whatif/debian-base:bookworm}
PKGS=${PKGS:?the Debian packages to include}

have() { docker image inspect "$1" >/dev/null 2>&1; }

if have debian:bookworm-slim; then echo debian:bookworm-slim; exit 0; fi
if have "$LOCAL_TAG"; then echo "$LOCAL_TAG"; exit 0; fi
if timeout 20 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then echo debian:bookworm-slim; exit 0; fi

echo "no registry: building $LOCAL_TAG with debootstrap (about a minute)" >&2
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
# The host's own Debian mirror (deb822 or one-line sources), else the default.
mirror=$(grep -hoE '(URIs:|^deb)[[:space:]]+[^[:space:]]+/debian/?([[:space:]]|$)' \
  /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
  awk '{print $2}' | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d /tmp/whatif-debootstrap.XXXXXX)
trap 'rm -rf "$root"' EXIT
t0=$(date +%s)
debootstrap --variant=minbase --include="$(echo $PKGS | tr ' ' ',')" bookworm "$root" "$mirror" >&2
# Trim what a container never needs: package caches, lists, docs.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$LOCAL_TAG" >/dev/null
echo "built $LOCAL_TAG in $(( $(date +%s) - t0 ))s" >&2
echo "$LOCAL_TAG"
