// Redaction of secrets and personal data in AlphaESS frames.
#include "protocol/alphaess/redaction.hpp"

#include "protocol/alphaess/encoder.hpp"
#include "protocol/alphaess/json_redaction.hpp"

namespace sunkeep::alphaess {

namespace {

constexpr std::array<std::string_view, 1> password_key{"Password"};
constexpr std::array<std::string_view, 5> password_and_personal_keys{"Password", "Address", "ZipCode", "PhoneNumber",
                                                                     "License"};

// The frame with the values of `keys` hidden, rebuilt only if something was hidden.
std::vector<std::uint8_t> without(const Frame& frame, std::span<const std::string_view> keys) {
  const std::string_view payload = frame.payload();
  const RedactedJson redacted = redact_json_values(payload, keys);
  if (redacted.stopped_at) {
    const bool login = frame.command() == command::login;
    if (login || may_hold_key(payload.substr(*redacted.stopped_at), keys)) {
      return frame_bytes(frame.f2(), frame.command(), unscannable_payload);
    }
  }
  if (redacted.replaced == 0) return frame.raw;
  return frame_bytes(frame.f2(), frame.command(), redacted.text);
}

}  // namespace

std::vector<std::uint8_t> archive_copy(const Frame& frame) { return without(frame, password_key); }

std::vector<std::uint8_t> display_copy(std::span<const std::uint8_t> raw, bool show_personal) {
  if (raw.size() < header_size + crc_size || raw[0] != frame_start) return {raw.begin(), raw.end()};
  const Frame frame{std::vector<std::uint8_t>(raw.begin(), raw.end())};
  if (show_personal) return without(frame, password_key);
  return without(frame, password_and_personal_keys);
}

}  // namespace sunkeep::alphaess
