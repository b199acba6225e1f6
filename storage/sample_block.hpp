// The compact form of one series' samples within one UTC hour: a block. Times are stored as
// run-length-coded deltas, values as decimal-scaled integer deltas (devices send decimal text,
// so "539.44" is 53944 × 10⁻²), all as zigzag varints; values that are not short decimals fall
// back to raw doubles. Pure code: bytes in, points out.
#pragma once

#include "common/civil_time.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace sunkeep::storage {

inline constexpr std::int64_t block_span_ms = 3'600'000;

struct Point {
  UtcMillis t = 0;
  double value = 0;

  friend bool operator==(const Point&, const Point&) = default;
};

// The start of the block holding time `t` (floor to the hour, correct before 1970 too).
std::int64_t block_start(UtcMillis t);

// Summary kept beside the encoded points, so aggregates over whole blocks need no decoding.
struct BlockSummary {
  std::int64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  Point first;
  Point last;
};

BlockSummary summarize(std::span<const Point> points);

// `points` sorted by time, unique times, all within one block. Empty input → empty bytes.
std::vector<std::uint8_t> encode_block(std::span<const Point> points);

// The points of a block starting at `start` (the block's start is its key, not in the bytes);
// nullopt when the bytes are not a block this code wrote (never throws).
std::optional<std::vector<Point>> decode_block(std::span<const std::uint8_t> bytes, std::int64_t start);

}  // namespace sunkeep::storage
