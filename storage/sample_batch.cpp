// Encoding and decoding of sample batches: a version byte, then per sample a varint series id
// and an 8-byte little-endian double.
#include "storage/sample_batch.hpp"

#include "storage/byte_coding.hpp"

namespace sunkeep::storage {

namespace {
constexpr std::uint8_t format_version = 1;
}  // namespace

std::vector<std::uint8_t> encode_batch(std::span<const SeriesValue> values) {
  std::vector<std::uint8_t> out;
  out.reserve(1 + values.size() * 10);
  out.push_back(format_version);
  for (const auto& v : values) {
    coding::put_varint(out, static_cast<std::uint64_t>(v.series));
    coding::put_double(out, v.value);
  }
  return out;
}

std::optional<std::vector<SeriesValue>> decode_batch(std::span<const std::uint8_t> bytes) {
  coding::Reader in(bytes);
  const auto version = in.byte();
  if (!version || *version != format_version) return std::nullopt;
  std::vector<SeriesValue> out;
  while (!in.done()) {
    const auto series = in.varint();
    const auto value = series ? in.raw_double() : std::nullopt;
    if (!value || *series > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    out.push_back({static_cast<std::int64_t>(*series), *value});
  }
  return out;
}

}  // namespace sunkeep::storage
