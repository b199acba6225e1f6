// Decoding Sermatec answers with the effective layout (sermatec.md §5.3–5.6), identity from the
// 0x98 answer, the canonical metrics (§6.8) and the B1 password redaction (§6.5).
#pragma once

#include "common/observation.hpp"
#include "protocol/sermatec/definitions.hpp"
#include "protocol/sermatec/frame.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sunkeep::sermatec {

struct Text {
  std::string key;
  std::string value;
};

struct Decoded {
  std::vector<Reading> numbers;
  std::vector<Text> texts;
  std::vector<std::string> notes;  // a shorter payload than the layout, unknown flag values

  [[nodiscard]] std::optional<double> number(std::string_view key) const;
};

// Decodes the fields that fit entirely in `payload`; extra bytes are ignored. Secret fields,
// reserved bytes and repeat arrays yield nothing.
Decoded decode_payload(const Layout& layout, std::span<const std::uint8_t> payload);

struct Identity {
  int pcu_version = 0;
  int battery_brand = 0;
  int model_code = 0;
  std::string serial;
};

// The identity in a valid 0x98 answer whose serial is non-empty printable ASCII.
std::optional<Identity> read_identity(const Frame& frame);

// "10 kW", "5 kW", "6 kW", "3 kW", or "model <n>".
std::string model_name(int model_code);

// Canonical metrics from one answer frame's values. `battery_status` is bat_status of the 0x0A
// answer in the same poll cycle, if there was one (it signs battery power and current).
std::vector<Reading> canonical_metrics(std::uint8_t code, const Decoded& values, std::optional<double> battery_status);

// A B1 answer with its Wi-Fi password bytes (payload 31–60) zeroed; other frames unchanged.
// The result's checksum no longer holds, as expected of a redacted frame.
std::vector<std::uint8_t> redact_secrets(std::span<const std::uint8_t> raw, bool& redacted);

}  // namespace sunkeep::sermatec
