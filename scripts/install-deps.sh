#!/usr/bin/env bash
# Installs the Debian 12 packages sunkeep needs. Safe to run again: what is installed is skipped.
#   (no argument)   build, run and test (scripts/test.sh, scripts/run.sh)
#   --build         build the server and its Debian package only (the Containerfile's build stage)
#   --package-test  build, plus what scripts/package-test.sh uses (debootstrap, strace, systemd-analyze)
#   --fuzz          clang and libFuzzer for fuzz/run.sh
set -euo pipefail

build=(
  build-essential g++ cmake ninja-build pkg-config
  libboost1.81-dev libsqlite3-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev
  doctest-dev libtomlplusplus-dev libcli11-dev
  libhowardhinnant-date-dev tzdata libzstd-dev
  libmosquitto-dev  # the MQTT client (mqtt.md)
  file dpkg-dev     # cpack's DEB generator finds the binary's library dependencies with them
)
tests=(
  sqlite3
  mosquitto openssl  # the tests run a real broker, with certificates they make
  prometheus  # promtool checks the /metrics page in the tests
  chromium  # the dashboard's browser tests (driven by playwright-core; never a downloaded browser)
  util-linux  # unshare: the doctor test fills a small file system of its own
)
package_test=(
  debootstrap  # a clean Debian 12 root to install the package into
  strace iproute2  # deploy/check-sandbox.sh: a traced run in a network namespace of its own
  systemd  # systemd-analyze rates the unit
)

mode="${1:-}"
case "$mode" in
  "") packages=("${build[@]}" "${tests[@]}") ;;
  --build) packages=("${build[@]}") ;;
  --package-test) packages=("${build[@]}" "${package_test[@]}") ;;
  --fuzz) packages=(clang libclang-rt-14-dev xxd) ;;
  *) echo "install-deps: unknown option $mode" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm build the dashboard (web/); Debian's packages unless a Node.js with npm is
# already installed (NodeSource's nodejs package carries its own npm and conflicts with Debian's).
if [ "$mode" != "--fuzz" ] && ! command -v npm >/dev/null; then
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
