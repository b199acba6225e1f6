// Keeping secrets and personal data out of the archive and out of what the API shows
// (alphaess.md §5.9): the login password never leaves the session; the personal keys of a
// config upload are stored but hidden from API output unless configured otherwise.
#pragma once

#include "protocol/alphaess/frame.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::alphaess {

// Keys of a config upload that identify a person or a place.
inline constexpr std::array<std::string_view, 4> personal_keys{"Address", "ZipCode", "PhoneNumber", "License"};

// Replaces the string value of every `key` in a JSON text with "***". False if a value does not
// scan as a JSON string (the caller then drops the whole payload).
bool redact_string_values(std::string& json, std::string_view key);

// The archive copy of a frame: a login's Password replaced, LEN and CRC recomputed; other frames
// unchanged. A login that cannot be scanned loses its whole payload.
std::vector<std::uint8_t> archive_copy(const Frame& frame);

// A stored frame as the API may show it: the login password (again) and, unless
// `show_personal`, the personal keys of a config upload replaced. Bytes that are not a whole
// frame are returned unchanged.
std::vector<std::uint8_t> display_copy(std::span<const std::uint8_t> raw, bool show_personal);

}  // namespace sunkeep::alphaess
