// Sermatec's versioned field definitions (sermatec.md §5), authored for sunkeep from the spec's
// tables with absolute offsets (so `same` fields are simply fields sharing an offset, and no
// running sums are needed). Layers are tagged 0, 252, 258, 259, 500, 603; for a PCU version P
// each command takes its layout from the highest layer ≤ P.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::sermatec {

enum class FieldType {
  int_,         // signed, 1, 2 or 4 bytes
  uint16,       // unsigned 16-bit
  long_,        // signed 32-bit
  hex_flag,     // unsigned 16-bit flag: 0xEE00 on (1), 0x00EE off (0), anything else unknown
  string,       // ASCII, ends at the first NUL or the field end, spaces trimmed
  bit,          // (w >> bit_from) & 1 of the 16-bit word at the offset
  bit_range,    // (w >> bit_from) & ((1 << (bit_to − bit_from)) − 1): bit_to is exclusive
  one_position, // raw 16-bit alarm/fault words; a 12-byte field yields six words key_0 … key_5
  preserve,     // reserved bytes, skipped
  repeat,       // `count` elements of `size` bytes (signed): kept in the raw archive, not a metric
  weekday,      // 2-bit weekday switch of 0xA2: raw 0/1/3 read as 0/1/2, anything else 0
};

struct FieldDef {
  std::uint16_t offset = 0;
  std::uint8_t size = 2;        // bytes of one element
  FieldType type = FieldType::int_;
  double scale = 1;
  std::string_view unit;
  std::string key;              // "" for fields that are not stored (preserve, the B1 password)
  std::uint8_t bit_from = 0;
  std::uint8_t bit_to = 0;
  std::uint8_t count = 1;       // repeat count
  bool secret = false;          // never stored, logged or shown (the B1 Wi-Fi password)
};

struct Layout {
  std::uint8_t code = 0;
  std::uint16_t length = 0;                 // defined payload bytes
  std::vector<std::uint8_t> answers;        // frame codes one query yields (empty: the code itself)
  std::vector<FieldDef> fields;
};

// The definitions in force for one PCU version.
class Definitions {
 public:
  // 991 and 998 count as 601 (sermatec.md §5.1).
  static int effective_version(int pcu_version);
  explicit Definitions(int pcu_version);

  [[nodiscard]] int version() const { return version_; }
  [[nodiscard]] const Layout* layout(std::uint8_t code) const;
  // The frame codes a query for `code` yields, in no particular order.
  [[nodiscard]] std::vector<std::uint8_t> answers_to(std::uint8_t code) const;
  // The queries of one poll cycle (without the optional A1/A2/B1 and the hourly 0x98).
  [[nodiscard]] std::vector<std::uint8_t> poll_list() const;

 private:
  int version_;
  std::vector<const Layout*> layouts_;
};

}  // namespace sunkeep::sermatec
