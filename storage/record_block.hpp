// The compact form of one device's records of one kind within one hour of the device's own clock:
// a record block. The writer packs the `record` rows of closed hours into these; a record key is
// only ever read to tell a repeated record from a new one and to find a device's newest record.
// Pure code: entries in, bytes out and back.
//
// Layout: varint count, then per entry the device time as varint seconds after the previous one
// (the first after the block's start); the UTC time's offset from the device time, the received
// time's offset from the UTC time and the frame id as zigzag varint deltas from the previous
// entry's (a steady zone offset and delivery delay cost a byte each); and the 64-bit fields hash
// as 8 little-endian bytes.
#pragma once

#include "common/civil_time.hpp"
#include "common/fields_hash.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace sunkeep::storage {

inline constexpr std::int64_t record_block_span_s = 3600;

struct PackedRecord {
  std::int64_t device_s = 0;  // the naive device clock reading, CivilTime::naive_epoch_seconds()
  UtcMillis utc = 0;
  UtcMillis received = 0;
  std::int64_t frame = 0;
  std::int64_t fields_hash = 0;

  friend bool operator==(const PackedRecord&, const PackedRecord&) = default;
};

// The start (naive seconds) of the block holding device time `device_s`: floor to the hour.
std::int64_t record_block_start(std::int64_t device_s);

// `records` sorted by device time, unique times, all within the block starting at `start_s`.
std::vector<std::uint8_t> encode_record_block(std::span<const PackedRecord> records, std::int64_t start_s);

// nullopt when the bytes are not a block of that start this code wrote (never throws).
std::optional<std::vector<PackedRecord>> decode_record_block(std::span<const std::uint8_t> bytes,
                                                             std::int64_t start_s);

}  // namespace sunkeep::storage
