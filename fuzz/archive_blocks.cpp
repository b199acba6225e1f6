// Fuzz target: decoding stored frame and record blocks from arbitrary bytes (a damaged database
// must not crash a query or the packer): the bytes as a frame block, the bytes zstd-compressed so
// the column parser sees them, and the bytes as a record block; what decodes must re-encode to
// the same frames and records.
#include "storage/frame_block.hpp"
#include "storage/record_block.hpp"

#include <zstd.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace sunkeep::storage;

namespace {

void frames_round_trip(const std::vector<PackedFrame>& frames) {
  if (decode_frame_block(encode_frame_block(frames)) != frames) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  if (const auto frames = decode_frame_block(bytes)) frames_round_trip(*frames);

  std::vector<std::uint8_t> compressed(ZSTD_compressBound(size));
  compressed.resize(ZSTD_compress(compressed.data(), compressed.size(), data, size, 1));
  if (const auto frames = decode_frame_block(compressed)) frames_round_trip(*frames);

  constexpr std::int64_t start_s = 1'709'424'000;  // any hour start: blocks are read with their key
  if (const auto records = decode_record_block(bytes, start_s)) {
    if (decode_record_block(encode_record_block(*records, start_s), start_s) != records) std::abort();
  }
  return 0;
}
