// Encoding and decoding of sample blocks.
#include "storage/sample_block.hpp"

#include "storage/byte_coding.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace sunkeep::storage {

namespace {

using coding::put_varint;
using coding::unzigzag;
using coding::zigzag;

constexpr std::uint8_t format_version = 1;
constexpr std::uint8_t raw_doubles = 0xFF;  // scale marker: values stored as 8-byte doubles
constexpr int max_decimals = 6;
constexpr double max_scaled = 9.0e15;       // keeps scaled values exact in a double

double power_of_ten(int decimals) {
  static constexpr double powers[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  return powers[decimals];
}

// The fewest decimals that represent every value exactly, or raw_doubles.
std::uint8_t choose_scale(std::span<const Point> points) {
  for (int decimals = 0; decimals <= max_decimals; ++decimals) {
    const double scale = power_of_ten(decimals);
    const bool exact = std::all_of(points.begin(), points.end(), [scale](const Point& p) {
      const double scaled = p.value * scale;
      return std::isfinite(scaled) && std::fabs(scaled) < max_scaled && std::round(scaled) / scale == p.value;
    });
    if (exact) return static_cast<std::uint8_t>(decimals);
  }
  return raw_doubles;
}

void encode_times(std::span<const Point> points, std::vector<std::uint8_t>& out) {
  // First time as offset into the block, then (delta, run length) pairs.
  put_varint(out, static_cast<std::uint64_t>(points[0].t - block_start(points[0].t)));
  std::size_t i = 1;
  while (i < points.size()) {
    const std::int64_t delta = points[i].t - points[i - 1].t;
    std::size_t run = 1;
    while (i + run < points.size() && points[i + run].t - points[i + run - 1].t == delta) ++run;
    put_varint(out, static_cast<std::uint64_t>(delta));
    put_varint(out, run);
    i += run;
  }
}

void encode_values(std::span<const Point> points, std::uint8_t scale_code, std::vector<std::uint8_t>& out) {
  out.push_back(scale_code);
  if (scale_code == raw_doubles) {
    for (const auto& p : points) coding::put_double(out, p.value);
    return;
  }
  const double scale = power_of_ten(scale_code);
  std::int64_t previous = 0;
  for (const auto& p : points) {
    const auto scaled = static_cast<std::int64_t>(std::llround(p.value * scale));
    put_varint(out, zigzag(scaled - previous));
    previous = scaled;
  }
}

}  // namespace

std::int64_t block_start(UtcMillis t) { return period_start(t, block_span_ms); }

BlockSummary summarize(std::span<const Point> points) {
  BlockSummary s;
  if (points.empty()) return s;
  s.count = static_cast<std::int64_t>(points.size());
  s.first = points.front();
  s.last = points.back();
  s.min = s.max = points.front().value;
  for (const auto& p : points) {
    s.sum += p.value;
    s.min = std::min(s.min, p.value);
    s.max = std::max(s.max, p.value);
  }
  return s;
}

std::vector<std::uint8_t> encode_block(std::span<const Point> points) {
  std::vector<std::uint8_t> out;
  if (points.empty()) return out;
  out.push_back(format_version);
  put_varint(out, points.size());
  encode_times(points, out);
  encode_values(points, choose_scale(points), out);
  return out;
}

std::optional<std::vector<Point>> decode_block(std::span<const std::uint8_t> bytes, std::int64_t start) {
  coding::Reader in(bytes);
  const auto version = in.byte();
  const auto count = in.varint();
  const auto first_offset = in.varint();
  // Every point takes at least one byte of value, so a count beyond the size is damage (and is
  // refused before it sizes an allocation).
  if (!version || *version != format_version || !count || *count == 0 || *count > bytes.size() || !first_offset ||
      *first_offset >= static_cast<std::uint64_t>(block_span_ms)) {
    return std::nullopt;
  }
  std::vector<Point> points(*count);
  std::int64_t offset = static_cast<std::int64_t>(*first_offset);
  points[0].t = start + offset;
  for (std::size_t i = 1; i < points.size();) {
    const auto delta = in.varint();
    const auto run = in.varint();
    if (!delta || !run || *run == 0 || *run > points.size() - i || *delta > static_cast<std::uint64_t>(block_span_ms)) {
      return std::nullopt;
    }
    for (std::uint64_t k = 0; k < *run; ++k, ++i) {
      offset += static_cast<std::int64_t>(*delta);
      if (offset >= block_span_ms) return std::nullopt;
      points[i].t = start + offset;
    }
  }
  const auto scale_code = in.byte();
  if (!scale_code || (*scale_code > max_decimals && *scale_code != raw_doubles)) return std::nullopt;
  std::int64_t scaled = 0;
  for (auto& p : points) {
    if (*scale_code == raw_doubles) {
      const auto v = in.raw_double();
      if (!v) return std::nullopt;
      p.value = *v;
    } else {
      const auto delta = in.varint();
      // Damaged bytes can hold deltas whose sum leaves int64: not a block this code wrote.
      if (!delta || __builtin_add_overflow(scaled, unzigzag(*delta), &scaled)) return std::nullopt;
      p.value = static_cast<double>(scaled) / power_of_ten(*scale_code);
    }
  }
  if (!in.done()) return std::nullopt;
  return points;
}

}  // namespace sunkeep::storage
