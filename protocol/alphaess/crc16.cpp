// CRC-16/MODBUS (reflected polynomial 0xA001, initial 0xFFFF), a byte at a time from a table
// built at compile time: every frame is checked, and a 5-minute record is about 2 KB.
#include "protocol/alphaess/crc16.hpp"

#include <array>

namespace sunkeep::alphaess {

namespace {

// The CRC of one byte run bit by bit through the polynomial: table[b] for the byte-wise form.
constexpr std::uint16_t byte_crc(std::uint16_t value) {
  for (int bit = 0; bit < 8; ++bit) {
    const bool lsb = (value & 1U) != 0;
    value = static_cast<std::uint16_t>(value >> 1);
    if (lsb) value = static_cast<std::uint16_t>(value ^ 0xA001);
  }
  return value;
}

constexpr std::array<std::uint16_t, 256> make_table() {
  std::array<std::uint16_t, 256> table{};
  for (std::uint16_t b = 0; b < 256; ++b) table[b] = byte_crc(b);
  return table;
}

constexpr auto table = make_table();

}  // namespace

std::uint16_t crc16_modbus(std::span<const std::uint8_t> bytes) {
  std::uint16_t crc = 0xFFFF;
  for (std::uint8_t b : bytes) crc = static_cast<std::uint16_t>((crc >> 8) ^ table[(crc ^ b) & 0xFFU]);
  return crc;
}

std::uint16_t crc16_modbus(std::string_view bytes) {
  return crc16_modbus(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace sunkeep::alphaess
