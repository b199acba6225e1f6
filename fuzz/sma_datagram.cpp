// Fuzz target: one arbitrary UDP payload through every SMA Speedwire decoder: the tag walk, the
// generic header, the 0x6065 header, records, status lists and version words, the meter datagram
// and its values, the discovery reply address, and password zeroing on a copy. Besides not
// crashing, zeroing must touch nothing outside bytes 62..73.
#include "protocol/sma/meter.hpp"
#include "protocol/sma/packet.hpp"
#include "protocol/sma/records.hpp"
#include "protocol/sma/requests.hpp"

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

using namespace sunkeep::sma;

namespace {

void decode_inverter(std::span<const std::uint8_t> datagram) {
  const auto packet = parse_inverter_packet(datagram);
  if (!packet) return;
  if (packet->body.size() > datagram.size()) std::abort();
  (void)answers(*packet, {packet->packet_id, packet->command - 1, packet->source});
  const auto records = decode_records(*packet);
  if (!records) return;
  for (const Record& record : *records) {
    if (record.size != 16 && record.size != 28 && record.size != 40) std::abort();
    (void)selected_status(record);
    if (record.version_word) (void)version_text(*record.version_word);
  }
}

void decode_meter_values(std::span<const std::uint8_t> datagram) {
  const auto meter = decode_meter(datagram);
  if (!meter) return;
  for (const ObisItem& item : meter->items) {
    (void)current_value(*meter, item.index);
    (void)counter_value(*meter, item.index);
  }
}

void zero_a_copy(std::span<const std::uint8_t> datagram) {
  std::vector<std::uint8_t> copy(datagram.begin(), datagram.end());
  (void)zero_password(copy);
  for (std::size_t i = 0; i < copy.size(); ++i) {
    if ((i < 62 || i >= 74) && copy[i] != datagram[i]) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> datagram(data, size);
  (void)walk_tags(datagram);
  (void)protocol_of(datagram);
  (void)discovery_reply_address(datagram);
  decode_inverter(datagram);
  decode_meter_values(datagram);
  zero_a_copy(datagram);
  return 0;
}
