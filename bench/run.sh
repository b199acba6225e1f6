#!/usr/bin/env bash
# Runs every benchmark of docs/benchmarks.md and prints the figures. Builds the optimised server
# and the bench programs first. Everything talks to 127.0.0.1 only.
#   bench/run.sh          full run (a year of data, 1,000 and 10,000 devices, 50 crash rounds)
#   bench/run.sh --quick  a smoke run of each (CI): small sizes, no figures to keep
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
[ "${1:-}" = "--quick" ] && quick=true

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
bin=build/release
work=$(mktemp -d)
trap 'pkill -f "serve --config $work" 2>/dev/null || true; rm -rf "$work"' EXIT

# A random high port nothing answers on (bounded tries).
port_of() {
  for _ in $(seq 1 50); do
    local p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return; fi
  done
  echo "no free port found" >&2; return 1
}
dev_port=$(port_of); http_port=$(port_of)
cat > "$work/c.toml" <<TOML
[storage]
path = "$work/load.db"
[alphaess]
listen = "127.0.0.1:$dev_port"
idle_timeout = "10s"
[http]
listen = "127.0.0.1:$http_port"
[sermatec]
enabled = false
TOML

healthy() { (exec 3<>/dev/tcp/127.0.0.1/$http_port && printf 'GET /api/v1/health HTTP/1.0\r\n\r\n' >&3 && grep -q '"ok"' <&3) 2>/dev/null; }

echo "== cold start (exec until /api/v1/health answers) and idle RSS"
for i in 1 2 3; do
  rm -f "$work"/load.db*
  start=$(date +%s%N)
  "$bin/app/sunkeep" serve --config "$work/c.toml" >"$work/server.log" 2>&1 &
  pid=$!
  until healthy; do :; done
  echo "cold start: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  sleep 1
  echo "idle $(grep VmRSS /proc/$pid/status)"
  kill -TERM $pid; wait $pid || true
done

rm -f "$work"/load.db*
"$bin/app/sunkeep" serve --config "$work/c.toml" >"$work/server.log" 2>&1 &
pid=$!
until healthy; do sleep 0.05; done
if $quick; then
  echo "== load (quick)"
  "$bin/bench/sunkeep-loadgen" --port "$dev_port" --devices 50 --seconds 3 --server-pid $pid
  "$bin/bench/sunkeep-loadgen" --port "$dev_port" --devices 50 --seconds 3 --rate 1 --idle 100 --garbage 1 --server-pid $pid
else
  echo "== 1,000 devices, closed loop"
  "$bin/bench/sunkeep-loadgen" --port "$dev_port" --devices 1000 --seconds 15 --server-pid $pid
  echo "== 1,000 devices × 1 frame/s"
  "$bin/bench/sunkeep-loadgen" --port "$dev_port" --devices 1000 --seconds 15 --rate 1 --server-pid $pid
  echo "== 10,000 connected devices × 0.1 frame/s"
  "$bin/bench/sunkeep-loadgen" --port "$dev_port" --devices 10000 --seconds 30 --rate 0.1 --server-pid $pid
  echo "== hostile: 9,000 half-frame connections and 4 garbage streams beside 100 good devices"
  "$bin/bench/sunkeep-loadgen" --port "$dev_port" --devices 100 --rate 1 --seconds 20 --idle 9000 --garbage 4 --linger 5 --server-pid $pid
fi
kill -TERM $pid; wait $pid || true

days=365; rounds=50; fleet_days=9
$quick && days=2 && rounds=3 && fleet_days=1
echo "== storage ceiling without network: the load test's records (1,000 devices), and one device's"
"$bin/bench/sunkeep-bench-storage" ceiling --days "$fleet_days" --devices 1000 --db "$work/ceiling.db"
"$bin/bench/sunkeep-bench-storage" ceiling --days 7 --db "$work/ceiling.db"
echo "== a year of data through the ingest code: size and query latency"
"$bin/bench/sunkeep-bench-storage" year --days "$days" --db "$work/year.db"
echo "== crash consistency ($rounds kill -9 rounds)"
"$bin/bench/sunkeep-crashtest" --binary "$bin/app/sunkeep" --rounds "$rounds" --dir "$work/crash" | grep -v '^\['
