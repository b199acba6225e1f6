// Keeping secrets and personal data out of the archive and out of what the API shows
// (alphaess.md §5.9): the login password never leaves the session, whichever frame carries it;
// the personal keys of a config upload are stored but hidden from API output unless configured
// otherwise.
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

// What replaces a payload that cannot be scanned and may hold a secret.
inline constexpr std::string_view unscannable_payload = R"({"redacted":"payload could not be scanned"})";

// The archive copy of a frame of any command and direction: every JSON `Password` value (a key
// spelled with escapes or in any case, at any depth, of any type) replaced by "***", LEN and
// CRC recomputed; the same bytes when nothing is replaced. A payload that cannot be scanned is
// replaced whole if it is a login or if its unscanned part may hold a password.
std::vector<std::uint8_t> archive_copy(const Frame& frame);

// A stored frame as the API may show it: Password (again) and, unless `show_personal`, the
// personal keys replaced the same way. Bytes that are not a whole frame are returned unchanged.
std::vector<std::uint8_t> display_copy(std::span<const std::uint8_t> raw, bool show_personal);

}  // namespace sunkeep::alphaess
