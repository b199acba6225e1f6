// The only frames sunkeep may send to a Sermatec inverter (sermatec.md §2.3, §6.5): the 16
// read-only queries, without payload. QueryFrame can only come from build_query(), which takes a
// command code and nothing else, and refuses every code outside the allow-list; the RC4 form is
// derived from the plain one.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace sunkeep::sermatec {

inline constexpr std::array<std::uint8_t, 16> read_only_codes{0x98, 0x0A, 0x0B, 0x0C, 0x0D, 0x1E, 0x1F, 0x95,
                                                              0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0xA1, 0xA2, 0xB1};

class QueryFrame {
 public:
  [[nodiscard]] std::uint8_t code() const { return bytes_[4]; }
  [[nodiscard]] const std::vector<std::uint8_t>& plain() const { return bytes_; }
  [[nodiscard]] std::vector<std::uint8_t> rc4() const;

  friend std::optional<QueryFrame> build_query(std::uint8_t code);

 private:
  explicit QueryFrame(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {}
  std::vector<std::uint8_t> bytes_;
};

// The query for `code`, or nullopt for any code outside read_only_codes.
std::optional<QueryFrame> build_query(std::uint8_t code);

}  // namespace sunkeep::sermatec
