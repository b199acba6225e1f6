// OSIM frames of Sermatec inverters (sermatec.md §2): FE 55, source, destination, code, 0x00,
// payload length, payload, XOR checksum, AE.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sunkeep::sermatec {

inline constexpr std::uint8_t start_1 = 0xFE;
inline constexpr std::uint8_t start_2 = 0x55;
inline constexpr std::uint8_t footer = 0xAE;
inline constexpr std::uint8_t address_sunkeep = 0x64;   // source of queries
inline constexpr std::uint8_t address_inverter = 0x14;  // source of answers
inline constexpr std::size_t header_size = 7;
inline constexpr std::size_t trailer_size = 2;  // checksum, footer
inline constexpr std::size_t max_frame_size = 255 + header_size + trailer_size;

// XOR of 0x0F and every byte from FE through the last payload byte.
std::uint8_t checksum(std::span<const std::uint8_t> header_and_payload);

struct Frame {
  std::vector<std::uint8_t> raw;  // the whole frame, FE to AE
  bool checksum_ok = true;
  bool from_rc4 = false;          // arrived RC4-wrapped (decrypted here)

  [[nodiscard]] std::uint8_t source() const { return raw[2]; }
  [[nodiscard]] std::uint8_t destination() const { return raw[3]; }
  [[nodiscard]] std::uint8_t code() const { return raw[4]; }
  [[nodiscard]] std::span<const std::uint8_t> payload() const {
    return {raw.data() + header_size, raw[6]};
  }
  // An answer: inverter → sunkeep, byte 5 zero, checksum valid.
  [[nodiscard]] bool is_answer() const {
    return checksum_ok && source() == address_inverter && destination() == address_sunkeep && raw[5] == 0;
  }
};

// A whole frame around `payload` (for test peers and archive views; queries come from queries.hpp).
std::vector<std::uint8_t> frame_bytes(std::uint8_t source, std::uint8_t destination, std::uint8_t code,
                                      std::span<const std::uint8_t> payload);

}  // namespace sunkeep::sermatec
