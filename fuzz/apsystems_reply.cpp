// Fuzz target: one arbitrary APsystems ECU reply through the read rule, the validation for each
// command and the 0001, 0002 and 0030 decoders; then the same bytes with a correct length field, so
// that the decoders see input past the §3 checks. Besides not crashing, what the decoders return
// must stay inside the reply: records within its bytes, 7-byte signal entries, 12-digit ids.
#include "protocol/apsystems/codec.hpp"

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <variant>
#include <vector>

using namespace sunkeep::apsystems;

namespace {

void check_ecu_info(std::span<const std::uint8_t> reply) {
  const auto result = decode_ecu_info(reply);
  const auto* info = std::get_if<EcuInfo>(&result);
  if (!info) return;
  if (!valid_ecu_id(info->ecu_id)) std::abort();
  (void)ecu_model(info->ecu_id);
}

void check_realtime(std::span<const std::uint8_t> reply) {
  const auto result = decode_realtime(reply);
  const auto* realtime = std::get_if<Realtime>(&result);
  if (!realtime) return;
  std::size_t raw_total = 0;
  for (const InverterRecord& record : realtime->records) {
    if (record.uid.size() != 12 || record.raw.size() < 9) std::abort();
    if (record.decoded && (!record.online() || !record.readable || record.powers_w.empty())) std::abort();
    raw_total += record.raw.size();
    (void)inverter_family(record.uid);
  }
  if (raw_total > reply.size()) std::abort();
}

void check_signal(std::span<const std::uint8_t> reply) {
  const auto result = decode_signal(reply);
  const auto* signal = std::get_if<Signal>(&result);
  if (!signal || signal->no_data()) return;
  if (reply.size() != 19 + 7 * signal->levels.size()) std::abort();
}

void decode_all(std::span<const std::uint8_t> reply) {
  const auto announced = announced_size(reply);
  for (Command command : {Command::ecu_info, Command::realtime, Command::signal}) {
    if (!invalid_reply(reply, command) && announced != reply.size()) std::abort();
  }
  check_ecu_info(reply);
  check_realtime(reply);
  check_signal(reply);
}

// A copy of `reply` (at least length_prefix bytes) whose bytes 5..8 say its size − 1.
std::vector<std::uint8_t> with_length_field(std::span<const std::uint8_t> reply) {
  std::vector<std::uint8_t> copy(reply.begin(), reply.end());
  std::size_t length = copy.size() - 1;
  for (std::size_t i = 8; i >= 5; --i) {
    copy[i] = static_cast<std::uint8_t>('0' + length % 10);
    length /= 10;
  }
  return copy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> reply(data, size);
  decode_all(reply);
  if (size >= length_prefix) decode_all(with_length_field(reply));
  return 0;
}
