// Fuzz target: the tolerant JSON walk that hides Password values (alphaess.md §5.9). Besides not
// crashing, it checks what redaction promises: on a payload that parses, the redacted text still
// parses and every Password member, in any case and at any depth, holds "***".
#include "protocol/alphaess/encoder.hpp"
#include "protocol/alphaess/json_redaction.hpp"
#include "protocol/alphaess/redaction.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

using namespace sunkeep::alphaess;

namespace {

constexpr std::array<std::string_view, 1> password{"Password"};

// Whether any member named Password (any case), at any depth, holds something other than "***".
bool shows_a_password(const nlohmann::json& root) {
  std::vector<const nlohmann::json*> pending{&root};
  while (!pending.empty()) {
    const nlohmann::json& node = *pending.back();
    pending.pop_back();
    if (node.is_object()) {
      for (const auto& [key, value] : node.items()) {
        if (same_key(key, password[0]) && value != "***") return true;
        pending.push_back(&value);
      }
    } else if (node.is_array()) {
      for (const auto& element : node) pending.push_back(&element);
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const RedactedJson redacted = redact_json_values(text, password);
  const auto original = nlohmann::json::parse(text, nullptr, false);
  if (!original.is_discarded() && !redacted.stopped_at) {
    const auto after = nlohmann::json::parse(redacted.text, nullptr, false);
    if (after.is_discarded() || shows_a_password(after)) __builtin_trap();
  }
  // Any command and direction goes through the same archive copy.
  const std::uint8_t command = size > 0 ? data[0] : 2;
  (void)archive_copy(Frame{frame_bytes(1, command, text)});
  (void)display_copy(frame_bytes(2, command, text), false);
  return 0;
}
