// CRC-16/MODBUS, bitwise (frames are small; no table needed).
#include "protocol/alphaess/crc16.hpp"

namespace sunkeep::alphaess {

std::uint16_t crc16_modbus(std::span<const std::uint8_t> bytes) {
  std::uint16_t crc = 0xFFFF;
  for (std::uint8_t b : bytes) {
    crc = static_cast<std::uint16_t>(crc ^ b);
    for (int bit = 0; bit < 8; ++bit) {
      const bool lsb = (crc & 1U) != 0;
      crc = static_cast<std::uint16_t>(crc >> 1);
      if (lsb) crc = static_cast<std::uint16_t>(crc ^ 0xA001);
    }
  }
  return crc;
}

std::uint16_t crc16_modbus(std::string_view bytes) {
  return crc16_modbus(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace sunkeep::alphaess
