// Fuzz target: the TOML config reader on arbitrary text; every problem must name a line or key.
#include "config/config.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = sunkeep::config::parse_config(text, "fuzz.toml");
  for (const auto& p : result.problems) {
    if (p.message.empty()) std::abort();
    (void)p.to_string("fuzz.toml");
  }
  return 0;
}
