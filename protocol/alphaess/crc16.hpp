// CRC-16/MODBUS as AlphaESS frames use it (alphaess.md §2).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sunkeep::alphaess {

// Poly 0x8005 reflected (0xA001), init 0xFFFF, reflected in/out, no final XOR.
std::uint16_t crc16_modbus(std::span<const std::uint8_t> bytes);
std::uint16_t crc16_modbus(std::string_view bytes);

}  // namespace sunkeep::alphaess
