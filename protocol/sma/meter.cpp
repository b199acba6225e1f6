// Energy Meter / Sunny Home Manager datagram decoding (sma-speedwire.md §8).
#include "protocol/sma/meter.hpp"

#include "common/bytes.hpp"

#include <algorithm>

namespace sunkeep::sma {

namespace {

using bytes::big_endian;
using bytes::holds;

constexpr std::size_t data2_start = 16;
constexpr std::size_t sender_at = 18;           // 0x6069
constexpr std::size_t extended_sender_at = 20;  // 0x6081: `00 03` sits at 18
constexpr std::size_t sender_and_ticker_size = 10;
constexpr std::size_t obis_id_size = 4;

constexpr std::uint32_t firmware_id = 0x90000000;  // 144.0.0.0
constexpr std::size_t firmware_size = 4;
constexpr std::uint8_t kind_current = 4;
constexpr std::uint8_t kind_counter = 8;

using Meter = Parsed<MeterDatagram>;

// "2.0.18.R" from `02 00 12 52`; a release byte that is no printable letter is written as a number.
std::string firmware_text(std::span<const std::uint8_t> value) {
  const std::uint8_t release = value[3];
  const bool printable = release > 0x20 && release < 0x7F;
  return std::to_string(value[0]) + "." + std::to_string(value[1]) + "." + std::to_string(value[2]) + "." +
         (printable ? std::string(1, static_cast<char>(release)) : std::to_string(release));
}

// The bytes of the item whose id starts at `at`: 4 for the firmware, else D; 0 when unknown or cut short.
std::size_t value_size(std::span<const std::uint8_t> items, std::size_t at) {
  const auto id = big_endian<std::uint32_t>(items, at);
  const std::size_t size = id == firmware_id ? firmware_size : static_cast<std::uint8_t>(id >> 8);
  const bool known = id == firmware_id || size == kind_current || size == kind_counter;
  return known && holds(items, at + obis_id_size, size) ? size : 0;
}

// Reads the OBIS items of `items` (the bytes from the first item up to 16 + n) into `meter`, up to
// the first item of unknown length or one cut short.
void read_items(std::span<const std::uint8_t> items, MeterDatagram& meter) {
  std::size_t at = 0;
  while (holds(items, at, obis_id_size)) {
    const std::size_t size = value_size(items, at);
    if (size == 0) break;
    const auto id = big_endian<std::uint32_t>(items, at);
    const auto value = items.subspan(at + obis_id_size, size);
    if (id == firmware_id) {
      meter.firmware = firmware_text(value);
    } else {
      const std::uint64_t number =
          size == kind_counter ? big_endian<std::uint64_t>(value, 0) : big_endian<std::uint32_t>(value, 0);
      meter.items.push_back({static_cast<std::uint8_t>(id >> 24), static_cast<std::uint8_t>(id >> 16),
                             static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id), number});
    }
    at += obis_id_size + size;
  }
  meter.stopped_early = at < items.size();
}

std::optional<std::uint64_t> value_of(const MeterDatagram& meter, std::uint8_t index, std::uint8_t kind) {
  const auto item = std::find_if(meter.items.begin(), meter.items.end(), [&](const ObisItem& i) {
    return i.channel == 0 && i.index == index && i.kind == kind;
  });
  if (item == meter.items.end()) return std::nullopt;
  return item->value;
}

}  // namespace

Parsed<MeterDatagram> decode_meter(std::span<const std::uint8_t> datagram) {
  const auto protocol = protocol_of(datagram);
  if (!protocol) return Meter::failure("not a Speedwire datagram with a data2 tag");
  if (*protocol != protocol_meter && *protocol != protocol_meter_extended) {
    return Meter::failure("not a meter (0x6069/0x6081) datagram");
  }
  const std::size_t data_end = data2_start + big_endian<std::uint16_t>(datagram, 12);
  const std::size_t at = *protocol == protocol_meter_extended ? extended_sender_at : sender_at;
  if (data_end < at + sender_and_ticker_size) return Meter::failure("meter datagram too short for sender and ticker");
  MeterDatagram meter;
  meter.protocol = *protocol;
  meter.sender = {big_endian<std::uint16_t>(datagram, at), big_endian<std::uint32_t>(datagram, at + 2)};
  meter.ticker = big_endian<std::uint32_t>(datagram, at + 6);
  const std::size_t items_at = at + sender_and_ticker_size;
  read_items(datagram.subspan(items_at, data_end - items_at), meter);
  return meter;
}

std::optional<std::uint64_t> current_value(const MeterDatagram& meter, std::uint8_t index) {
  return value_of(meter, index, kind_current);
}

std::optional<std::uint64_t> counter_value(const MeterDatagram& meter, std::uint8_t index) {
  return value_of(meter, index, kind_counter);
}

}  // namespace sunkeep::sma
