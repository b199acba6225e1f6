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
idle_timeout = "15s"
[http]
listen = "127.0.0.1:$http_port"
[sermatec]
enabled = false
[sma]
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

# Each load runs against a fresh server and database, so one run's backlog is not the next's.
start_server() {  # with seed_db set, the server starts on a copy of that database; conf: another config
  local config=${conf:-$work/c.toml}
  rm -f "$work"/load.db*
  # sync: a copy's dirty pages would otherwise be written out by the server's first checkpoint,
  # holding its first acks for a second (measured)
  if [ -n "${seed_db:-}" ]; then cp "$seed_db" "$work/load.db" && sync; fi
  "$bin/app/sunkeep" serve --config "$config" >"$work/server.log" 2>&1 &
  pid=$!
  until healthy; do sleep 0.05; done
}
stop_server() { kill -TERM $pid; wait $pid || true; }
load() {  # load TITLE LOADGEN-ARGS...: the load generator exits 1 when it counted errors; say so, go on
  echo "== $1"; shift
  start_server
  "$bin/bench/sunkeep-loadgen" --port "$dev_port" --server-pid $pid "$@" || echo "(the load generator counted errors)"
  stop_server
}
if $quick; then
  load "load (quick)" --devices 50 --seconds 3
  load "hostile load (quick)" --devices 50 --seconds 3 --rate 1 --idle 100 --garbage 1
else
  load "1,000 devices, closed loop" --devices 1000 --seconds 15
  load "1,000 devices × 1 frame/s (75 s: long enough to include a drain of samples into the sample table)" \
    --devices 1000 --seconds 75 --rate 1
  load "10,000 connected devices × 0.1 frame/s (connecting over the first 10 s)" \
    --devices 10000 --seconds 30 --rate 0.1 --ramp 10
  load "hostile: 9,000 half-frame connections and 4 garbage streams beside 100 good devices" \
    --devices 100 --rate 1 --seconds 20 --idle 9000 --garbage 4 --linger 5
fi

flood_seconds=20; $quick && flood_seconds=3
echo "== three flooders (each sends its next frame the moment it is acked) beside 100 devices at 1 frame/s"
start_server
"$bin/bench/sunkeep-loadgen" --port "$dev_port" --devices 3 --seconds $((flood_seconds + 2)) --serial-prefix FLOOD \
  >"$work/flooders.txt" || true &
flooders=$!
"$bin/bench/sunkeep-loadgen" --port "$dev_port" --devices 100 --rate 1 --seconds "$flood_seconds" --server-pid $pid \
  || echo "(the load generator counted errors)"
wait $flooders || true
sed 's/^/flooders: /' "$work/flooders.txt"
stop_server

echo "== network and protocol alone: the same closed loop against a server that decodes and acks, no storage"
ack_port=$(port_of)
if $quick; then ack_devices=50; ack_seconds=3; else ack_devices=1000; ack_seconds=15; fi
"$bin/bench/sunkeep-bench-ackonly" --port "$ack_port" --seconds $((ack_seconds + 5)) &
ack_pid=$!
until (exec 3<>/dev/tcp/127.0.0.1/$ack_port) 2>/dev/null; do sleep 0.05; done
"$bin/bench/sunkeep-loadgen" --port "$ack_port" --devices "$ack_devices" --seconds "$ack_seconds" --server-pid $ack_pid
wait $ack_pid || true

days=365; rounds=50; fleet_days=9; pack_days=84
$quick && days=2 && rounds=3 && fleet_days=1 && pack_days=1
echo "== storage ceiling without network: the load test's records (1,000 devices), and one device's"
"$bin/bench/sunkeep-bench-storage" ceiling --days "$fleet_days" --devices 1000 --db "$work/ceiling.db"
"$bin/bench/sunkeep-bench-storage" ceiling --days 7 --db "$work/ceiling.db"
echo "== archive packing passes on two closed hours of 1,000 devices (each pass holds group commits)"
"$bin/bench/sunkeep-bench-storage" ceiling --days "$pack_days" --devices 1000 --db "$work/pack.db" | grep packing
"$bin/bench/sunkeep-bench-storage" ceiling --days "$pack_days" --devices 1000 --no-pack --db "$work/backlog.db" >/dev/null
rm -f "$work"/pack.db*
if $quick; then
  seed_db="$work/backlog.db" load "load on an archive backlog (quick)" --devices 50 --seconds 3 --rate 1
else
  seed_db="$work/backlog.db" load "1,000 devices × 1 frame/s while the server packs those two hours (a backlog)" \
    --devices 1000 --seconds 75 --rate 1
fi
rm -f "$work"/backlog.db*
echo "== HTTP: clients that ask for a 2.85 MB answer and never read it (server RSS, health latency)"
slow_args=(--binary "$bin/app/sunkeep" --dir "$work/slow")
$quick && slow_args+=(--quick)
"$bin/bench/sunkeep-bench-slowclients" "${slow_args[@]}"
rm -rf "$work/slow"
echo "== /metrics: the server time of a scrape with 1,000 devices in the latest-values cache"
if $quick; then "$bin/bench/sunkeep-bench-metrics" --devices 50 --scrapes 20; else "$bin/bench/sunkeep-bench-metrics"; fi
echo "== MQTT: devices × 1 frame/s with publish_interval 0s against a local mosquitto"
broker_port=$(port_of)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$broker_port" > "$work/mosquitto.conf"
[ "$(id -u)" -eq 0 ] && echo "user root" >> "$work/mosquitto.conf"
start_broker() { mosquitto -c "$work/mosquitto.conf" >"$work/broker.log" 2>&1 & broker=$!; until (exec 3<>/dev/tcp/127.0.0.1/$broker_port) 2>/dev/null; do sleep 0.05; done; }
{ cat "$work/c.toml"; printf '[mqtt]\nenabled = true\nurl = "mqtt://127.0.0.1:%s"\ninstance_id = "bench"\npublish_interval = "0s"\n' "$broker_port"; } > "$work/mqtt.toml"
if $quick; then mqtt_devices=50; mqtt_seconds=4; outage=3; else mqtt_devices=1000; mqtt_seconds=40; outage=300; fi
rss() { grep VmRSS /proc/$pid/status | tr -s ' \t' ' '; }
mqtt_run() {  # mqtt_run TITLE CONFIG: the load, then the same load for $outage s with the broker gone
  echo "== $1"
  conf="$2" start_server
  [ "$2" = "$work/mqtt.toml" ] && { "$bin/bench/sunkeep-bench-mqtt" --port "$broker_port" --seconds $((mqtt_seconds + 1)) --skip 3 & sub=$!; }
  "$bin/bench/sunkeep-loadgen" --port "$dev_port" --devices $mqtt_devices --rate 1 --seconds $mqtt_seconds --stamp \
    --server-pid $pid || echo "(the load generator counted errors)"
  [ "$2" = "$work/mqtt.toml" ] && { wait $sub || true; kill -KILL $broker; wait $broker 2>/dev/null || true; }
  echo "RSS before the next $outage s: $(rss)"
  "$bin/bench/sunkeep-loadgen" --port "$dev_port" --devices $mqtt_devices --rate 1 --seconds $outage --server-pid $pid \
    || echo "(the load generator counted errors)"
  echo "RSS after them: $(rss)"
  stop_server
}
mqtt_run "without MQTT (the baseline; its RSS growth is storage's)" "$work/c.toml"
start_broker
mqtt_run "with MQTT and a subscriber measuring send → delivery; then the broker killed" "$work/mqtt.toml"

echo "== a year of data through the ingest code: size and query latency"
"$bin/bench/sunkeep-bench-storage" year --days "$days" --db "$work/year.db"

echo "== the dashboard in chromium on that year (first load, Now, History at 1 h steps)"
{ cat "$work/c.toml"; cat <<TOML
[site]
timezone = "UTC"
pv = ["alphaess:ALYEAR"]
grid = ["alphaess:ALYEAR"]
battery = ["alphaess:ALYEAR"]
TOML
} > "$work/web.toml"
seed_db="$work/year.db" conf="$work/web.toml" start_server
node web/tests/bench.mjs --url="http://127.0.0.1:$http_port" --from=1704067200 --to=$((1704067200 + days * 86400)) \
  --runs=$($quick && echo 1 || echo 5)
stop_server
echo "== crash consistency ($rounds kill -9 rounds)"
"$bin/bench/sunkeep-crashtest" --binary "$bin/app/sunkeep" --rounds "$rounds" --dir "$work/crash" | grep -v '^\['
