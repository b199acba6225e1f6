#!/usr/bin/env bash
# Installs the Debian 12 packages sunkeep needs to build, run and test.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

# `--fuzz` adds clang and libFuzzer for fuzz/run.sh.
packages=(
  build-essential g++ cmake ninja-build pkg-config
  libboost1.81-dev libsqlite3-dev sqlite3
  nlohmann-json3-dev libspdlog-dev libfmt-dev
  doctest-dev libtomlplusplus-dev libcli11-dev
  libhowardhinnant-date-dev tzdata libzstd-dev
  libmosquitto-dev  # the MQTT client (mqtt.md)
  mosquitto openssl  # the tests run a real broker, with certificates they make
  prometheus  # promtool checks the /metrics page in the tests
  chromium  # the dashboard's browser tests (driven by playwright-core; never a downloaded browser)
)
if [ "${1:-}" = "--fuzz" ]; then
  packages=(clang libclang-rt-14-dev xxd)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm build the dashboard (web/); Debian's packages unless a Node.js with npm is
# already installed (NodeSource's nodejs package carries its own npm and conflicts with Debian's).
if [ "${1:-}" != "--fuzz" ] && ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
