// Hex rendering of byte strings, for logs and the raw frame archive views.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace sunkeep {

// Lower-case hex, two digits per byte, no separators.
std::string to_hex(std::span<const std::uint8_t> bytes);

// The value of one hex digit, or -1.
int hex_digit_value(char c);

// Parses hex digits (white space ignored); returns false on an odd count or a non-hex character.
bool from_hex(std::string_view text, std::string& out);

}  // namespace sunkeep
