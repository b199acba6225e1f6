// The compact form of the raw archive of one device within one hour: a frame block. The writer
// packs the `frame` rows of closed hours into these; each frame keeps its id, so records,
// events and config snapshots that name a frame still name it. Pure code: frames in, bytes out
// and back.
//
// Layout: a zstd frame holding the frames column by column (columns compress better than rows:
// every ack is alike, every push starts alike): varint count; the peers once each (varint
// count, then varint length + text) and per frame the index of its peer; ids and received times
// as zigzag varint deltas; direction, command and flags as varints; raw lengths as varints; then
// every raw frame's bytes back to back.
#pragma once

#include "common/civil_time.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sunkeep::storage {

// The most bytes a block may expand to; the packer starts a new block well before this.
inline constexpr std::size_t max_frame_block_bytes = 16U << 20;

struct PackedFrame {
  std::int64_t id = 0;
  std::string peer;
  UtcMillis received = 0;
  int direction = 0;  // Direction: 0 from the device, 1 to the device
  std::int64_t command = 0;  // non-negative
  int flags = 0;  // frame_flag bits
  std::vector<std::uint8_t> raw;

  friend bool operator==(const PackedFrame&, const PackedFrame&) = default;
};

std::vector<std::uint8_t> encode_frame_block(std::span<const PackedFrame> frames);

// nullopt when the bytes are not a block this code wrote, or would expand beyond
// max_frame_block_bytes (never throws).
std::optional<std::vector<PackedFrame>> decode_frame_block(std::span<const std::uint8_t> bytes);

}  // namespace sunkeep::storage
