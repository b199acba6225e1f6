// A simulated SMA inverter for tests, pure: given a request datagram it returns the reply a real
// inverter would send (or none), keeping its login state. Values are those of the captured
// fixtures (sma-speedwire.md §11). Also the builders of reply records, for tests that need odd ones.
#pragma once

#include "protocol/sma/packet.hpp"
#include "protocol/sma/records.hpp"
#include "protocol/sma/requests.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace sunkeep::test {

using Bytes = std::vector<std::uint8_t>;

// Records as a reply carries them (little-endian, §7).
Bytes spot_record(std::uint16_t lri, std::uint8_t record_class, std::uint32_t value, std::uint8_t type = 0x40);
Bytes counter_record(std::uint16_t lri, std::uint64_t value);
Bytes status_record(std::uint16_t lri, const std::vector<std::pair<std::uint32_t, bool>>& entries);
Bytes text_record(std::uint16_t lri, const std::string& text);
Bytes version_record(std::uint32_t word);

// The reply of `device` to `request`: command + 1, the same packet id, `error`, and `records`
// (all of one size) as records first = 0 .. last = count − 1.
Bytes sma_reply(std::span<const std::uint8_t> request, sma::Address device, std::uint16_t error,
                const std::vector<Bytes>& records, std::uint16_t fragment = 0);

inline constexpr std::uint32_t nan32 = 0x80000000;

struct SimulatedInverter {
  sma::Address address{378, 3010538116};
  std::string password = "0000";
  sma::UserGroup group = sma::UserGroup::user;
  std::uint32_t ac_power_total = nan32;  // NaN: the phases give ac_power
  std::uint32_t device_status = 307;     // Ok
  std::set<std::uint32_t> unsupported{0x00295A00, 0x00491E00};  // first register of each: error 0x0015
  std::set<std::uint32_t> silent;        // first register of each: no reply
  bool answers_nothing = false;
  bool forgets_login = false;  // every query finds the login gone (0x0017)
  bool echoes_password = false;  // the login reply repeats the request's data, password included
  bool logged_in = false;

  // Every request received, and their command words.
  std::vector<Bytes> received;
  std::vector<std::uint32_t> commands;

  // The reply to `request`, if one is sent.
  std::optional<Bytes> answer(std::span<const std::uint8_t> request);

 private:
  [[nodiscard]] std::vector<Bytes> records_for(std::uint32_t first) const;
};

}  // namespace sunkeep::test
