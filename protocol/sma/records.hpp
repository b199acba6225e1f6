// The records of a 0x6065 reply (sma-speedwire.md §7): their size from the reply's first/last
// count, their value by size (16: u64 counter, 28: 32-bit spot value at +16, 40: string, status
// list or version), and the NaN markers, which decode to no value at all.
#pragma once

#include "common/parsed.hpp"
#include "protocol/sma/packet.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::sma {

// Type byte (bits 24–31 of the record code).
inline constexpr std::uint8_t type_unsigned = 0x00;
inline constexpr std::uint8_t type_signed = 0x40;
inline constexpr std::uint8_t type_status = 0x08;
inline constexpr std::uint8_t type_string = 0x10;

inline constexpr std::uint16_t lri_firmware = 0x8234;

// One status-list entry: a tag (bits 0–23) and whether it is the current value (top byte 0x01).
struct StatusEntry {
  std::uint32_t tag = 0;
  bool selected = false;

  friend bool operator==(const StatusEntry&, const StatusEntry&) = default;
};

struct Record {
  std::uint8_t record_class = 0;  // bits 0–7: MPPT / connector index
  std::uint16_t lri = 0;          // bits 8–23
  std::uint8_t type = 0;          // bits 24–31
  std::uint32_t time = 0;         // Unix seconds (not used as a sample time)
  std::size_t size = 0;           // 16, 28 or 40
  // 16: the u64 counter; 28: the word at +16, signed when type 0x40. nullopt = NaN (no value).
  std::optional<std::int64_t> number;
  std::string text;                           // 40 with type 0x10: up to 32 bytes, to the first NUL
  std::vector<StatusEntry> statuses;          // 40 with type 0x08: up to the 0x00FFFFFE end marker
  std::optional<std::uint32_t> version_word;  // 40 with LRI 0x8234: the u32 at +24
};

// The records of a query or identify reply, or why they are malformed (size not 16, 28 or 40, or
// the body not a whole number of records). A reply without records decodes to none.
Parsed<std::vector<Record>> decode_records(const InverterPacket& reply);

// The selected tag of a status list: the entry marked current, none for "no status" (0x00FFFFFD)
// or when none is marked.
std::optional<std::uint32_t> selected_status(const Record& record);

// "03.10.10.R" from 0x03100A04: major and minor BCD, build binary, release letter from "NEABRS".
std::string version_text(std::uint32_t word);

}  // namespace sunkeep::sma
