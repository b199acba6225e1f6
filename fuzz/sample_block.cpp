// Fuzz target: decoding stored sample blocks from arbitrary bytes (a damaged database must not
// crash a query), and encode→decode round trips of the points the bytes describe.
#include "storage/sample_block.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace sunkeep::storage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)decode_block(std::span<const std::uint8_t>(data, size), 0);
  // Round trip: 10-byte records (time step, value) build a sorted block.
  std::vector<Point> points;
  std::int64_t t = 0;
  for (std::size_t at = 0; at + 10 <= size; at += 10) {
    std::uint16_t step = 0;
    double value = 0;
    std::memcpy(&step, data + at, 2);
    std::memcpy(&value, data + at + 2, 8);
    t += 1 + step % 60'000;
    if (t >= block_span_ms || !std::isfinite(value)) break;
    points.push_back({t, value});
  }
  if (points.empty()) return 0;
  const auto bytes = encode_block(points);
  const auto back = decode_block(bytes, 0);
  if (!back || *back != points) std::abort();
  return 0;
}
