#!/bin/sh
# The runtime stage of the Containerfile: installs the sunkeep package (apt pulls exactly the
# libraries it depends on), the container's config, and an unprivileged user owning the data
# volume. scripts/package-test.sh runs this same script in a debootstrap root to prove it.
# Usage: setup-runtime.sh PACKAGE.deb CONTAINER-CONFIG
set -eu
deb="$1"
config="$2"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 "$deb" ca-certificates  # for mqtts://
rm -rf /var/lib/apt/lists/*
install -m 0644 "$config" /etc/sunkeep/container.toml
groupadd --system --gid 10001 sunkeep
useradd --system --uid 10001 --gid sunkeep --home-dir /var/lib/sunkeep --no-create-home --shell /usr/sbin/nologin sunkeep
install -d -o sunkeep -g sunkeep -m 0750 /var/lib/sunkeep
