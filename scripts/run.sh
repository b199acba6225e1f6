#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds sunkeep (optimised) and runs `sunkeep serve` on the
# built-in defaults (AlphaESS on 0.0.0.0:7777, database data/sunkeep.db). Extra arguments are passed
# to `sunkeep serve`, e.g. `scripts/run.sh --config sunkeep.toml`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
exec build/release/app/sunkeep serve "$@"
