#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan, UBSan) and runs each for a bounded time.
#   fuzz/run.sh [seconds per target, default 30] [target ...]
# Seed corpora are made at run time from ../shared/fixtures and the spec's vectors (nothing is
# copied into the project); the growing corpora live in build/fuzz-corpus. A crash stops the
# run with a non-zero exit, leaving the input under build/fuzz-crashes (turn it into a test).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(alphaess_stream alphaess_payloads sermatec_stream sermatec_poller config_file http_request sample_block archive_blocks json_redaction sma_datagram sma_poller apsystems_reply apsystems_poller)

bash scripts/install-deps.sh
bash scripts/install-deps.sh --fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

fixtures=../shared/fixtures
corpus=build/fuzz-corpus
crashes=build/fuzz-crashes
mkdir -p "$crashes"

seed() {  # seed TARGET FILE...
  local dir="$corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$dir/seed-$(basename "$f")" || true; done
}
# A leading chunk-size byte, then a whole stream.
seed_stream() {  # seed_stream TARGET NAME HEX
  mkdir -p "$corpus/$1"
  printf '%s' "$3" | xxd -r -p > "$corpus/$1/seed-$2"
}

seed_stream alphaess_stream v3_empty_cmd0 "07010100000000110a"
seed_stream alphaess_stream ack16 "20010210000000147b22537461747573223a2253756363657373227d57ac"
for f in "$fixtures"/alphaess/*.hex; do [ -f "$f" ] && { printf '\x05'; xxd -r -p "$f"; } > "$corpus/alphaess_stream/seed-$(basename "$f").bin" || true; done
seed alphaess_payloads "$fixtures"/alphaess/*.json "$fixtures"/alphaess/*.csv "$fixtures"/alphaess/*.jsonl
seed_stream sermatec_stream query98 "09fe5564149800004cae"
seed_stream sermatec_stream query98_rc4 "09759ab0f98a066885fc"
for f in "$fixtures"/sermatec/dumps/*.bin; do [ -f "$f" ] && { printf '\x03'; cat "$f"; } > "$corpus/sermatec_stream/seed-$(basename "$f")" || true; done
# Settings byte, then a "receive" op with the 0x98 answer from the captured dumps.
mkdir -p "$corpus/sermatec_poller"
for f in "$fixtures"/sermatec/dumps/resp_98*.bin; do [ -f "$f" ] && { printf '\x1e\x01\xff'; head -c 255 "$f"; } > "$corpus/sermatec_poller/seed-$(basename "$f")" || true; done
# Every captured Speedwire datagram (inverter, meter, discovery), as it came off the wire.
seed sma_datagram "$fixtures"/sma/*.bin
# Every captured APsystems ECU reply, exactly as read from port 8899.
seed apsystems_reply "$fixtures"/apsystems/*.bin
seed apsystems_poller "$fixtures"/apsystems/*.bin
seed config_file deploy/sunkeep.toml
seed json_redaction "$fixtures"/alphaess/*.json
printf '{"UserName":"AL1","Pass\\u0077ord":"pw","Nested":[{"PASSWORD":{"a":[1,2]}}]}' > "$corpus/json_redaction/seed-escaped"
mkdir -p "$corpus/http_request" "$corpus/sample_block"
printf '/api/v1/devices/alphaess:AL1/series?metric=Pbat&step=1h&agg=max&from=2024-03-03T00:00:00Z&to=1709440000' > "$corpus/http_request/seed-series"
printf '/api/v1/health' > "$corpus/http_request/seed-health"
printf 'from=2024-03-03T11:00:00.5+11:00&limit=5' > "$corpus/http_request/seed-params"
# Frame-block columns (one frame: peer "a", id 5, received 1000, command 16, raw "{}"), which the
# target also compresses, and a one-entry record block.
seed_stream archive_blocks frame_columns "01010161000ad00f001000027b7d"
seed_stream archive_blocks record_block "010a0000020102030405060708"

status=0
for target in "${targets[@]}"; do
  mkdir -p "$corpus/$target"
  log="build/fuzz-$target.log"
  echo "fuzz: $target for ${seconds}s"
  if ! "build/fuzz/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$crashes/$target-" -print_final_stats=1 "$corpus/$target" >"$log" 2>&1; then
    echo "fuzz: $target FAILED"; tail -40 "$log"; status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$log" | sed "s/^/fuzz: $target /" || true
done
exit $status
