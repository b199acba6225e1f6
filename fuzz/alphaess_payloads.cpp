// Fuzz target: AlphaESS payload decoders on arbitrary text: tolerant JSON, the command-12 CSV,
// EventLog content, device times, and message decoding (the first byte picks the command).
#include "protocol/alphaess/device_time.hpp"
#include "protocol/alphaess/encoder.hpp"
#include "protocol/alphaess/event_log.hpp"
#include "protocol/alphaess/history_csv.hpp"
#include "protocol/alphaess/json_fields.hpp"
#include "protocol/alphaess/messages.hpp"
#include "protocol/alphaess/metrics.hpp"

#include <cstdint>
#include <iterator>
#include <string_view>

using namespace sunkeep::alphaess;

namespace {
constexpr std::uint8_t commands[] = {0, 2, 3, 4, 5, 8, 9, 12, 16, 77};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t command = commands[data[0] % std::size(commands)];
  const std::uint8_t f2 = (data[0] & 0x80) ? 2 : 1;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string error;
  const auto fields = parse_json_object(text, error);
  // The quick flat-object reader must give exactly what the whole document gives.
  std::string document_error;
  if (fields != parse_json_object_with_document(text, document_error) || error != document_error) __builtin_trap();
  if (fields) (void)numeric_samples(*fields);
  (void)parse_history_csv(text);
  (void)parse_event_log(text);
  (void)parse_device_datetime(text);
  (void)parse_event_datetime(text);
  (void)parse_number(text);
  (void)decode_message(Frame{frame_bytes(f2, command, text)});
  return 0;
}
