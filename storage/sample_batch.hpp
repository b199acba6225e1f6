// The bytes of one `sample_batch` row: the samples of one record (or one polled answer), all at
// the same time, as (series id, value) pairs. Written in the ack transaction, read back when the
// writer moves batches into the `sample` table. Pure code: bytes in, pairs out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace sunkeep::storage {

struct SeriesValue {
  std::int64_t series = 0;
  double value = 0;

  friend bool operator==(const SeriesValue&, const SeriesValue&) = default;
};

std::vector<std::uint8_t> encode_batch(std::span<const SeriesValue> values);

// nullopt when the bytes are not a batch this code wrote (never throws).
std::optional<std::vector<SeriesValue>> decode_batch(std::span<const std::uint8_t> bytes);

}  // namespace sunkeep::storage
