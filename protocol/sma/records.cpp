// Record decoding of 0x6065 replies (sma-speedwire.md §7).
#include "protocol/sma/records.hpp"

#include "common/bytes.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace sunkeep::sma {

namespace {

using bytes::little_endian;

constexpr std::size_t counter_record_size = 16;
constexpr std::size_t spot_record_size = 28;
constexpr std::size_t wide_record_size = 40;

constexpr std::size_t at_value = 8;        // counter, string or status list
constexpr std::size_t at_spot_value = 16;  // the established one of the four spot words
constexpr std::size_t at_version = 24;
constexpr std::size_t text_capacity = 32;
constexpr std::size_t status_capacity = 8;

constexpr std::uint32_t status_end = 0x00FFFFFE;
constexpr std::uint32_t status_none = 0x00FFFFFD;
constexpr std::uint32_t status_tag_bits = 0x00FFFFFF;
constexpr std::uint32_t status_selected_marker = 0x01;

constexpr std::array<std::uint32_t, 3> spot_nan_markers{0x80000000, 0xFFFFFFFF, 0xFFFFFFFE};
// Every u64 from 2^63 up, 0x8000000000000000 and 0xFFFFFFFFFFFFFFFF among them, is no value.
constexpr std::uint64_t counter_limit = 0x8000000000000000;

constexpr std::string_view release_letters = "NEABRS";

using Records = Parsed<std::vector<Record>>;

bool is_record_size(std::size_t size) {
  return size == counter_record_size || size == spot_record_size || size == wide_record_size;
}

// last − first + 1, checked against what the body could hold at the smallest record size.
Parsed<std::size_t> record_count(const InverterPacket& reply) {
  if (!reply.last) return Parsed<std::size_t>::failure("records without a 'last' field");
  if (*reply.last < reply.first) return Parsed<std::size_t>::failure("'last' lies before 'first'");
  const std::uint64_t count = std::uint64_t{*reply.last} - reply.first + 1;
  if (count > reply.body.size() / counter_record_size) {
    return Parsed<std::size_t>::failure("more records announced than the body holds");
  }
  return static_cast<std::size_t>(count);
}

std::optional<std::int64_t> counter_number(std::uint64_t raw) {
  if (raw >= counter_limit) return std::nullopt;
  return static_cast<std::int64_t>(raw);
}

std::optional<std::int64_t> spot_number(std::uint32_t raw, std::uint8_t type) {
  if (std::find(spot_nan_markers.begin(), spot_nan_markers.end(), raw) != spot_nan_markers.end()) return std::nullopt;
  if (type == type_signed) return static_cast<std::int32_t>(raw);
  return raw;
}

std::string text_of(std::span<const std::uint8_t> record) {
  const auto value = record.subspan(at_value, text_capacity);
  const auto end = std::find(value.begin(), value.end(), std::uint8_t{0});
  return {value.begin(), end};
}

std::vector<StatusEntry> statuses_of(std::span<const std::uint8_t> record) {
  std::vector<StatusEntry> entries;
  for (std::size_t i = 0; i < status_capacity; ++i) {
    const auto word = little_endian<std::uint32_t>(record, at_value + 4 * i);
    if (word == status_end) break;
    entries.push_back({word & status_tag_bits, (word >> 24) == status_selected_marker});
  }
  return entries;
}

// `record` is exactly one record of an accepted size.
Record decode_record(std::span<const std::uint8_t> record) {
  Record out;
  const auto code = little_endian<std::uint32_t>(record, 0);
  out.record_class = static_cast<std::uint8_t>(code);
  out.lri = static_cast<std::uint16_t>(code >> 8);
  out.type = static_cast<std::uint8_t>(code >> 24);
  out.time = little_endian<std::uint32_t>(record, 4);
  out.size = record.size();
  if (out.size == counter_record_size) {
    out.number = counter_number(little_endian<std::uint64_t>(record, at_value));
  } else if (out.size == spot_record_size) {
    out.number = spot_number(little_endian<std::uint32_t>(record, at_spot_value), out.type);
  } else {
    if (out.type == type_string) out.text = text_of(record);
    if (out.type == type_status) out.statuses = statuses_of(record);
    if (out.lri == lri_firmware) out.version_word = little_endian<std::uint32_t>(record, at_version);
  }
  return out;
}

std::string two_digits(unsigned value, const char* format) {
  char text[8];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace

Parsed<std::vector<Record>> decode_records(const InverterPacket& reply) {
  if (reply.body.empty()) return std::vector<Record>{};
  const auto count = record_count(reply);
  if (!count) return Records::failure(count.error());
  if (reply.body.size() % *count != 0) return Records::failure("the body is not a whole number of records");
  const std::size_t size = reply.body.size() / *count;
  if (!is_record_size(size)) return Records::failure("record size " + std::to_string(size) + " is not 16, 28 or 40");
  std::vector<Record> records;
  records.reserve(*count);
  for (std::size_t at = 0; at < reply.body.size(); at += size) {
    records.push_back(decode_record(reply.body.subspan(at, size)));
  }
  return records;
}

std::optional<std::uint32_t> selected_status(const Record& record) {
  const auto selected = std::find_if(record.statuses.begin(), record.statuses.end(),
                                     [](const StatusEntry& entry) { return entry.selected; });
  if (selected == record.statuses.end() || selected->tag == status_none) return std::nullopt;
  return selected->tag;
}

std::string version_text(std::uint32_t word) {
  const unsigned major = (word >> 24) & 0xFF;
  const unsigned minor = (word >> 16) & 0xFF;
  const unsigned build = (word >> 8) & 0xFF;
  const unsigned release = word & 0xFF;
  const std::string letter =
      release < release_letters.size() ? std::string(1, release_letters[release]) : std::to_string(release);
  return two_digits(major, "%02X") + "." + two_digits(minor, "%02X") + "." + two_digits(build, "%02u") + "." + letter;
}

}  // namespace sunkeep::sma
