// Record blocks: encoding and bounds-checked decoding (layout in record_block.hpp).
#include "storage/record_block.hpp"

#include "storage/byte_coding.hpp"

namespace sunkeep::storage {

using namespace coding;

namespace {

// The fewest bytes one entry can take: four one-byte varints and the 8-byte hash.
constexpr std::size_t min_entry_bytes = 12;

// The offsets each entry stores as deltas from the previous entry's.
std::int64_t utc_offset(const PackedRecord& r) { return wrapping_sub(r.utc, wrapping_ms(r.device_s)); }
std::int64_t delivery_delay(const PackedRecord& r) { return wrapping_sub(r.received, r.utc); }

PackedRecord block_origin(std::int64_t start_s) {
  return {.device_s = start_s, .utc = wrapping_ms(start_s), .received = wrapping_ms(start_s), .frame = 0,
          .fields_hash = 0};
}

}  // namespace

std::int64_t record_block_start(std::int64_t device_s) { return period_start(device_s, record_block_span_s); }

std::vector<std::uint8_t> encode_record_block(std::span<const PackedRecord> records, std::int64_t start_s) {
  std::vector<std::uint8_t> out;
  out.reserve(1 + records.size() * (min_entry_bytes + 4));
  put_varint(out, records.size());
  PackedRecord previous = block_origin(start_s);
  for (const auto& r : records) {
    put_varint(out, static_cast<std::uint64_t>(r.device_s - previous.device_s));
    put_varint(out, zigzag(wrapping_sub(utc_offset(r), utc_offset(previous))));
    put_varint(out, zigzag(wrapping_sub(delivery_delay(r), delivery_delay(previous))));
    put_varint(out, zigzag(wrapping_sub(r.frame, previous.frame)));
    put_u64(out, static_cast<std::uint64_t>(r.fields_hash));
    previous = r;
  }
  return out;
}

std::optional<std::vector<PackedRecord>> decode_record_block(std::span<const std::uint8_t> bytes,
                                                             std::int64_t start_s) {
  Reader in(bytes);
  const auto count = in.varint();
  // The count is untrusted: no allocation larger than the bytes could describe.
  if (!count || *count > in.remaining() / min_entry_bytes) return std::nullopt;
  std::vector<PackedRecord> out;
  out.reserve(static_cast<std::size_t>(*count));
  PackedRecord previous = block_origin(start_s);
  for (std::uint64_t i = 0; i < *count; ++i) {
    const auto step = in.varint();
    const auto offset = in.varint();
    const auto received = in.varint();
    const auto frame = in.varint();
    const auto hash = in.raw_u64();
    if (!hash || !step || !offset || !received || !frame) return std::nullopt;
    if (*step >= static_cast<std::uint64_t>(record_block_span_s) || (i > 0 && *step == 0)) return std::nullopt;
    PackedRecord r;
    r.device_s = previous.device_s + static_cast<std::int64_t>(*step);
    if (r.device_s >= start_s + record_block_span_s) return std::nullopt;
    r.utc = wrapping_add(wrapping_add(utc_offset(previous), unzigzag(*offset)), wrapping_ms(r.device_s));
    r.received = wrapping_add(wrapping_add(delivery_delay(previous), unzigzag(*received)), r.utc);
    r.frame = wrapping_add(previous.frame, unzigzag(*frame));
    r.fields_hash = static_cast<std::int64_t>(*hash);
    out.push_back(r);
    previous = r;
  }
  if (!in.done()) return std::nullopt;
  return out;
}

}  // namespace sunkeep::storage
