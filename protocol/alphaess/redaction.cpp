// Redaction of secrets and personal data in AlphaESS frames.
#include "protocol/alphaess/redaction.hpp"

#include "protocol/alphaess/encoder.hpp"

namespace sunkeep::alphaess {

namespace {

constexpr std::string_view unscannable = R"({"redacted":"payload could not be scanned"})";

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::size_t skip_space(const std::string& text, std::size_t i) {
  while (i < text.size() && is_json_space(text[i])) ++i;
  return i;
}

// Redacts the listed keys' values of a frame's payload and rebuilds the frame.
std::vector<std::uint8_t> rebuilt_without(const Frame& frame, std::span<const std::string_view> keys) {
  std::string payload(frame.payload());
  for (auto key : keys) {
    if (!redact_string_values(payload, key)) {
      payload = unscannable;
      break;
    }
  }
  return frame_bytes(frame.f2(), frame.command(), payload);
}

bool is_login(const Frame& frame) { return frame.is_initiating() && frame.command() == command::login; }
bool is_config_upload(const Frame& frame) { return frame.is_initiating() && frame.command() == command::config_upload; }

constexpr std::array<std::string_view, 1> password_key{"Password"};

}  // namespace

bool redact_string_values(std::string& json, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  std::size_t pos = 0;
  while ((pos = json.find(quoted, pos)) != std::string::npos) {
    std::size_t i = skip_space(json, pos + quoted.size());
    if (i >= json.size() || json[i] != ':') {
      pos += quoted.size();  // the text appeared as a value, not as a key
      continue;
    }
    i = skip_space(json, i + 1);
    if (i >= json.size() || json[i] != '"') return false;
    const std::size_t value_start = ++i;
    while (i < json.size() && json[i] != '"') i += json[i] == '\\' ? 2U : 1U;
    if (i >= json.size()) return false;
    json.replace(value_start, i - value_start, "***");
    pos = value_start + 4;
  }
  return true;
}

std::vector<std::uint8_t> archive_copy(const Frame& frame) {
  return is_login(frame) ? rebuilt_without(frame, password_key) : frame.raw;
}

std::vector<std::uint8_t> display_copy(std::span<const std::uint8_t> raw, bool show_personal) {
  if (raw.size() < header_size + crc_size || raw[0] != frame_start) return {raw.begin(), raw.end()};
  const Frame frame{std::vector<std::uint8_t>(raw.begin(), raw.end())};
  if (is_login(frame)) return rebuilt_without(frame, password_key);
  if (is_config_upload(frame) && !show_personal) return rebuilt_without(frame, personal_keys);
  return frame.raw;
}

}  // namespace sunkeep::alphaess
