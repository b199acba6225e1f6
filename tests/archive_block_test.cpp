// Frame blocks and record blocks: exact round trips, and damaged bytes refused without a crash
// or an allocation the bytes cannot justify.
#include "common/civil_time.hpp"
#include "storage/frame_block.hpp"
#include "storage/record_block.hpp"

#include <doctest/doctest.h>

#include <zstd.h>

#include <limits>
#include <string>
#include <vector>

using namespace sunkeep;
using namespace sunkeep::storage;

namespace {

constexpr UtcMillis t0 = 1709424000000;  // 2024-03-03T00:00:00Z

std::vector<std::uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

// An hour of one device: a push and its ack every 10 s, ids interleaved with other devices'.
std::vector<PackedFrame> device_hour() {
  std::vector<PackedFrame> frames;
  for (int i = 0; i < 360; ++i) {
    const std::string push = R"({"Time":"2024/03/03 00:)" + std::to_string(i / 6) + R"(","Ppv1":")" +
                             std::to_string(1000 + i * 7) + R"(","SOC":"55.0"})";
    frames.push_back({.id = 1000 + i * 17, .peer = "192.0.2.7:40001", .received = t0 + i * 10'000 + i % 3,
                      .direction = 0, .command = 16, .flags = 0, .raw = bytes_of(push)});
    frames.push_back({.id = 1001 + i * 17, .peer = "192.0.2.7:40001", .received = t0 + i * 10'000 + 5,
                      .direction = 1, .command = 16, .flags = 0, .raw = bytes_of(R"({"Status":"Success"})")});
  }
  return frames;
}

std::vector<PackedRecord> record_hour(std::int64_t start_s) {
  std::vector<PackedRecord> records;
  for (int i = 0; i < 360; ++i) {
    records.push_back({.device_s = start_s + i * 10, .utc = (start_s + i * 10 - 3600) * 1000,
                       .received = (start_s + i * 10 - 3600) * 1000 + 420 + i % 5, .frame = 5000 + i * 31,
                       .fields_hash = static_cast<std::int64_t>(std::uint64_t{0x9E3779B97F4A7C15} * static_cast<std::uint64_t>(i + 1))});
  }
  return records;
}

}  // namespace

TEST_CASE("civil time: parse_device_string reads exactly what to_device_string writes") {
  const CivilTime t{2024, 2, 29, 23, 59, 58};
  CHECK(parse_device_string(t.to_device_string()) == t);
  CHECK_FALSE(parse_device_string("2023/02/29 00:00:00"));  // no such day
  CHECK_FALSE(parse_device_string("2024/03/03 24:00:00"));
  CHECK_FALSE(parse_device_string("2024-03-03 00:00:00"));
  CHECK_FALSE(parse_device_string("2024/03/03 00:00:0"));
  CHECK_FALSE(parse_device_string("2024/03/03 00:00:0x"));
}

TEST_CASE("frame block: round trips every field and compresses an hour of pushes") {
  const auto frames = device_hour();
  std::size_t raw = 0;
  for (const auto& f : frames) raw += f.raw.size();
  const auto bytes = encode_frame_block(frames);
  const auto back = decode_frame_block(bytes);
  REQUIRE(back);
  CHECK(*back == frames);
  CHECK(bytes.size() * 5 < raw);  // the point of packing (about 14× on real-shaped pushes)

  SUBCASE("several peers, flags, ids and times out of order, empty raw") {
    std::vector<PackedFrame> mixed{
        {.id = 9, .peer = "a", .received = t0 + 5, .direction = 0, .command = 2, .flags = 5, .raw = {}},
        {.id = 3, .peer = "bb", .received = t0, .direction = 1, .command = 65535, .flags = 0, .raw = {1, 2, 3}},
        {.id = 4, .peer = "a", .received = t0 - 7, .direction = 0, .command = 0, .flags = 2, .raw = {0}}};
    CHECK(decode_frame_block(encode_frame_block(mixed)) == mixed);
  }
}

TEST_CASE("frame block: damaged or foreign bytes are refused") {
  const auto bytes = encode_frame_block(device_hour());
  CHECK_FALSE(decode_frame_block({}));
  CHECK_FALSE(decode_frame_block(bytes_of("not zstd at all")));
  auto truncated = bytes;
  truncated.resize(bytes.size() / 2);
  CHECK_FALSE(decode_frame_block(truncated));
  auto trailing = bytes;
  trailing.push_back(0);
  CHECK_FALSE(decode_frame_block(trailing));

  SUBCASE("a valid zstd frame whose columns do not add up") {
    const std::vector<std::uint8_t> plain{200, 1};  // claims 200 frames in two bytes
    std::vector<std::uint8_t> z(ZSTD_compressBound(plain.size()));
    z.resize(ZSTD_compress(z.data(), z.size(), plain.data(), plain.size(), 1));
    CHECK_FALSE(decode_frame_block(z));
  }
  SUBCASE("a frame that says it expands beyond the limit is not even tried") {
    std::vector<std::uint8_t> big(max_frame_block_bytes + 1, 0);
    std::vector<std::uint8_t> z(ZSTD_compressBound(big.size()));
    z.resize(ZSTD_compress(z.data(), z.size(), big.data(), big.size(), 1));
    CHECK(z.size() < 4096);
    CHECK_FALSE(decode_frame_block(z));
  }
}

TEST_CASE("record block: round trips, 13 bytes a record, and refuses damaged bytes") {
  const std::int64_t start = CivilTime{2024, 3, 3, 1, 0, 0}.naive_epoch_seconds();
  const auto records = record_hour(start);
  const auto bytes = encode_record_block(records, start);
  CHECK(decode_record_block(bytes, start) == records);
  CHECK(bytes.size() <= records.size() * 13 + 3);
  CHECK(record_block_start(start + 3599) == start);
  CHECK(record_block_start(-1) == -3600);

  CHECK_FALSE(decode_record_block({}, start));
  auto truncated = bytes;
  truncated.pop_back();
  CHECK_FALSE(decode_record_block(truncated, start));
  auto trailing = bytes;
  trailing.push_back(0);
  CHECK_FALSE(decode_record_block(trailing, start));
  const std::vector<std::uint8_t> huge_count{0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2, 3};
  CHECK_FALSE(decode_record_block(huge_count, start));
  // A record whose device time falls outside the block's hour.
  const std::vector<PackedRecord> late{{.device_s = start + 3600, .utc = 0, .received = 0, .frame = 1, .fields_hash = 7}};
  CHECK_FALSE(decode_record_block(encode_record_block(late, start), start));
  CHECK(decode_record_block(encode_record_block({}, start), start) == std::vector<PackedRecord>{});
}

TEST_CASE("record block: extreme times and ids round trip without overflow") {
  // Regression (fuzz/archive_blocks): a damaged block decoded to extreme numbers, and encoding
  // those again overflowed a signed subtraction. Deltas now wrap, both ways.
  const std::int64_t start = CivilTime{2024, 3, 3, 1, 0, 0}.naive_epoch_seconds();
  constexpr auto big = std::numeric_limits<std::int64_t>::max();
  constexpr auto small = std::numeric_limits<std::int64_t>::min();
  const std::vector<PackedRecord> extreme{
      {.device_s = start, .utc = small, .received = big, .frame = small, .fields_hash = -1},
      {.device_s = start + 1, .utc = big, .received = small, .frame = big, .fields_hash = 0},
      {.device_s = start + 3599, .utc = 0, .received = -4647998480964605178, .frame = 0, .fields_hash = small}};
  CHECK(decode_record_block(encode_record_block(extreme, start), start) == extreme);
  const std::vector<PackedFrame> frames{
      {.id = big, .peer = "", .received = small, .direction = 0, .command = 0, .flags = 0, .raw = {}},
      {.id = small, .peer = "", .received = big, .direction = 1, .command = 1, .flags = 1, .raw = {}}};
  CHECK(decode_frame_block(encode_frame_block(frames)) == frames);
}
