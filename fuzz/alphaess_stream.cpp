// Fuzz target: the AlphaESS stream parser fed in arbitrary chunks, and every frame it yields
// through message decoding, metrics and redaction. The first byte picks the chunk size.
#include "protocol/alphaess/frame_decoder.hpp"
#include "protocol/alphaess/messages.hpp"
#include "protocol/alphaess/metrics.hpp"
#include "protocol/alphaess/redaction.hpp"

#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>

using namespace sunkeep::alphaess;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::span<const std::uint8_t> stream(data + 1, size - 1);
  FrameDecoder decoder(4096);
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    decoder.feed(stream.subspan(at, std::min(chunk, stream.size() - at)));
    while (true) {
      auto step = decoder.next();
      if (std::holds_alternative<NeedMoreBytes>(step)) break;
      if (std::holds_alternative<Rejection>(step)) return 0;
      const Frame& frame = std::get<Frame>(step);
      const Message message = decode_message(frame);
      (void)serial_of(message);
      if (const auto* t = std::get_if<Telemetry>(&message)) {
        for (const auto& r : t->records) (void)numeric_samples(r.fields);
      }
      const auto archived = archive_copy(frame);
      const auto shown = display_copy(frame.raw, false);
      if (archived.size() < header_size + crc_size || shown.size() < header_size + crc_size) std::abort();
    }
  }
  return 0;
}
