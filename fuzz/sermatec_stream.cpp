// Fuzz target: the Sermatec stream parser (plain and RC4) in arbitrary chunks, and every frame
// through identity, the layouts of every version, canonical metrics, alarms and redaction; the
// rest of the input is also decoded directly as a payload of every layout.
#include "protocol/sermatec/alarms.hpp"
#include "protocol/sermatec/decode.hpp"
#include "protocol/sermatec/definitions.hpp"
#include "protocol/sermatec/frame_decoder.hpp"
#include "protocol/sermatec/queries.hpp"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <variant>
#include <vector>

using namespace sunkeep::sermatec;

namespace {

const std::vector<Definitions>& all_versions() {
  static const std::vector<Definitions> versions{Definitions(252), Definitions(258), Definitions(259),
                                                 Definitions(411), Definitions(500), Definitions(603)};
  return versions;
}

void decode_everywhere(std::uint8_t code, std::span<const std::uint8_t> payload) {
  for (const Definitions& defs : all_versions()) {
    const Layout* layout = defs.layout(code);
    if (!layout) continue;
    const Decoded d = decode_payload(*layout, payload);
    (void)canonical_metrics(code, d, d.number("bat_status"));
    std::map<std::string, std::uint16_t> previous;
    (void)raised_alarms(code, d, 2, previous);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::span<const std::uint8_t> stream(data + 1, size - 1);
  FrameDecoder decoder;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    decoder.feed(stream.subspan(at, std::min(chunk, stream.size() - at)));
    if (data[0] & 0x80) decoder.drop_partial();
    while (true) {
      auto step = decoder.next();
      if (std::holds_alternative<NeedMoreBytes>(step)) break;
      const auto* frame = std::get_if<Frame>(&step);
      if (!frame) continue;
      if (frame->raw.size() != header_size + frame->raw[6] + trailer_size) std::abort();
      (void)read_identity(*frame);
      bool redacted = false;
      (void)redact_secrets(frame->raw, redacted);
      decode_everywhere(frame->code(), frame->payload());
    }
  }
  decode_everywhere(read_only_codes[data[0] % read_only_codes.size()], stream);
  return 0;
}
