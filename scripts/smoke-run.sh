#!/usr/bin/env bash
# Checks the README's run command end to end: starts `scripts/run.sh` (install, optimised build,
# `sunkeep serve` on the built-in defaults), waits for GET /api/v1/health on 127.0.0.1:8080,
# checks that / is the dashboard, then stops it with SIGTERM and requires a clean exit. Bounded: gives up after 20 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
setsid bash scripts/run.sh >"$log" 2>&1 &
runner=$!
stop() { kill -TERM -- "-$runner" 2>/dev/null || true; }
trap stop EXIT

# In a subshell, so a refused connection cannot disturb this script.
health() (
  exec 3<>/dev/tcp/127.0.0.1/8080 || exit 1
  printf 'GET /api/v1/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  [[ "$(cat <&3)" == *'"status":"ok"'* ]]
)

deadline=$((SECONDS + 1200))
until health 2>/dev/null; do
  if ! kill -0 "$runner" 2>/dev/null; then
    echo "smoke-run: scripts/run.sh exited before serving"; cat "$log"; exit 1
  fi
  if ((SECONDS > deadline)); then
    echo "smoke-run: no health answer within 20 minutes"; tail -50 "$log"; exit 1
  fi
  sleep 1
done
echo "smoke-run: scripts/run.sh serves /api/v1/health"
dashboard() (
  exec 3<>/dev/tcp/127.0.0.1/8080 || exit 1
  printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  page="$(cat <&3)"
  [[ "$page" == *'HTTP/1.0 200'* && "$page" == *'<title>'* && "$page" == *'app-'*'.js'* ]]
)
dashboard || { echo "smoke-run: / does not serve the dashboard"; exit 1; }
echo "smoke-run: / serves the dashboard"

kill -TERM -- "-$runner"
trap - EXIT
status=0
wait "$runner" || status=$?
if [ "$status" -ne 0 ]; then
  echo "smoke-run: sunkeep serve exited with $status after SIGTERM"; tail -20 "$log"; exit 1
fi
grep -q "stopped; storage flushed" "$log" || { echo "smoke-run: no clean shutdown"; tail -20 "$log"; exit 1; }
echo "smoke-run: clean shutdown on SIGTERM"
rm -f "$log"
