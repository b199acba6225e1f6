// The simulated SMA inverter.
#include "tests/support/sma_device.hpp"

#include <algorithm>
#include <cstring>

namespace sunkeep::test {

namespace {

void put_le(Bytes& out, std::uint64_t value, int size) {
  for (int i = 0; i < size; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void put_be16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value));
}

std::uint32_t code(std::uint16_t lri, std::uint8_t record_class, std::uint8_t type) {
  return (std::uint32_t{type} << 24) | (std::uint32_t{lri} << 8) | record_class;
}

Bytes record_head(std::uint16_t lri, std::uint8_t record_class, std::uint8_t type) {
  Bytes out;
  put_le(out, code(lri, record_class, type), 4);
  put_le(out, 1609148257, 4);  // a record time; never a sample time
  return out;
}

}  // namespace

Bytes spot_record(std::uint16_t lri, std::uint8_t record_class, std::uint32_t value, std::uint8_t type) {
  Bytes out = record_head(lri, record_class, type);
  for (int i = 0; i < 4; ++i) put_le(out, value, 4);
  put_le(out, 1, 4);
  return out;
}

Bytes counter_record(std::uint16_t lri, std::uint64_t value) {
  Bytes out = record_head(lri, 0, 0x00);
  put_le(out, value, 8);
  return out;
}

Bytes status_record(std::uint16_t lri, const std::vector<std::pair<std::uint32_t, bool>>& entries) {
  Bytes out = record_head(lri, 0, 0x08);
  for (const auto& [tag, selected] : entries) put_le(out, tag | (selected ? 0x01000000U : 0U), 4);
  if (entries.size() < 8) put_le(out, 0x00FFFFFE, 4);
  out.resize(40, 0);
  return out;
}

Bytes text_record(std::uint16_t lri, const std::string& text) {
  Bytes out = record_head(lri, 0, 0x10);
  out.insert(out.end(), text.begin(), text.end());
  out.resize(40, 0);
  return out;
}

Bytes version_record(std::uint32_t word) {
  Bytes out = record_head(sma::lri_firmware, 0, 0x00);
  put_le(out, 0xFFFFFFFE, 4);
  put_le(out, 0xFFFFFFFE, 4);
  put_le(out, 0xFFFFFFFE, 4);
  put_le(out, 0xFFFFFFFE, 4);
  put_le(out, word, 4);
  out.resize(40, 0);
  return out;
}

Bytes sma_reply(std::span<const std::uint8_t> request, sma::Address device, std::uint16_t error,
                const std::vector<Bytes>& records, std::uint16_t fragment) {
  const auto asked = sma::parse_inverter_packet(request);
  std::size_t body = 0;
  for (const auto& r : records) body += r.size();
  const auto n = static_cast<std::uint16_t>(38 + body);
  Bytes out{'S', 'M', 'A', 0, 0x00, 0x04, 0x02, 0xA0, 0, 0, 0, 1};
  put_be16(out, n);
  put_be16(out, 0x0010);
  put_be16(out, 0x6065);
  out.push_back(static_cast<std::uint8_t>((n - 2) / 4));
  out.push_back(0xA0);
  put_le(out, asked ? asked->source.susy_id : 0, 2);
  put_le(out, asked ? asked->source.serial : 0, 4);
  put_le(out, 0x0100, 2);
  put_le(out, device.susy_id, 2);
  put_le(out, device.serial, 4);
  put_le(out, 0x0100, 2);
  put_le(out, error, 2);
  put_le(out, fragment, 2);
  put_le(out, asked ? asked->packet_id : 0, 2);
  put_le(out, asked ? asked->command + 1 : 0, 4);
  put_le(out, 0, 4);
  put_le(out, records.empty() ? 0 : records.size() - 1, 4);
  for (const auto& r : records) out.insert(out.end(), r.begin(), r.end());
  put_le(out, 0, 4);
  return out;
}

std::optional<Bytes> SimulatedInverter::answer(std::span<const std::uint8_t> request) {
  received.emplace_back(request.begin(), request.end());
  const auto asked = sma::parse_inverter_packet(request);
  if (!asked) return std::nullopt;
  commands.push_back(asked->command);
  if (answers_nothing) return std::nullopt;
  const bool for_me = asked->destination == sma::any_device || asked->destination == address;
  if (!for_me) return std::nullopt;
  switch (asked->command) {
    case sma::command_identify: return sma_reply(request, address, 0, {text_record(0x0003, "")});
    case sma::command_logoff: logged_in = false; return std::nullopt;
    case sma::command_login: {
      const auto expected = sma::encode_password(password, group);
      const bool ok = expected && request.size() >= 74 && std::equal(expected->begin(), expected->end(), request.begin() + 62);
      logged_in = ok;
      std::vector<Bytes> echo;
      if (echoes_password && request.size() >= 74) echo.emplace_back(request.begin() + 54, request.begin() + 74);
      return sma_reply(request, address, ok ? 0 : sma::error_bad_password, echo);
    }
    default: break;
  }
  if (silent.contains(asked->first)) return std::nullopt;
  if (forgets_login) logged_in = false;
  if (!logged_in) return sma_reply(request, address, sma::error_not_authenticated, {});
  if (unsupported.contains(asked->first)) return sma_reply(request, address, sma::error_unsupported, {});
  return sma_reply(request, address, 0, records_for(asked->first));
}

std::vector<Bytes> SimulatedInverter::records_for(std::uint32_t first) const {
  switch (first) {
    case 0x00823400: return {version_record(0x03100A04)};
    case 0x00821E00:
      return {text_record(0x821E, "SN: " + std::to_string(address.serial)), status_record(0x821F, {{8001, true}}),
              status_record(0x8220, {{9345, true}})};
    case 0x00260100: return {counter_record(0x2601, 33304161), counter_record(0x2622, 6391)};
    case 0x00251E00: return {spot_record(0x251E, 1, 87), spot_record(0x251E, 2, 94)};
    case 0x00451F00:
      return {spot_record(0x451F, 1, 24837, 0x00), spot_record(0x451F, 2, 23376, 0x00), spot_record(0x4521, 1, 352, 0x00),
              spot_record(0x4521, 2, 405, 0x00)};
    case 0x00263F00: return {spot_record(0x263F, 1, ac_power_total)};
    case 0x00464000: return {spot_record(0x4640, 1, 56), spot_record(0x4641, 1, 55), spot_record(0x4642, 1, 57)};
    case 0x00464800:
      return {spot_record(0x4648, 1, 22874, 0x00), spot_record(0x4649, 1, 22991, 0x00), spot_record(0x464A, 1, 22906, 0x00),
              spot_record(0x4653, 1, 292, 0x00),   spot_record(0x4654, 1, 286, 0x00),   spot_record(0x4655, 1, 291, 0x00)};
    case 0x00465700: return {spot_record(0x4657, 1, 5001, 0x00)};
    case 0x00237700: return {spot_record(0x2377, 1, 3850)};
    case 0x00214800: return {status_record(0x2148, {{307, device_status == 307}, {455, device_status == 455}, {35, device_status == 35}})};
    case 0x00416400: return {status_record(0x4164, {{51, true}, {311, false}})};
    case 0x00295A00: return {spot_record(0x295A, 7, 97, 0x00)};
    default: return {};
  }
}

}  // namespace sunkeep::test
