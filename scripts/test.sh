#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds sunkeep with ASan and UBSan, and runs every test.
# Tests read the captured frames from ../shared/fixtures (beside this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset test >/dev/null
cmake --build --preset test
ctest --preset test "$@"
