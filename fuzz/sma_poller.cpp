// Fuzz target: the SMA poller state machine fed arbitrary datagrams, replies shaped from its own
// requests (with arbitrary error codes, record counts and bodies) and clock steps. Besides not
// crashing, it must only ever ask to send discovery, identify, login or a whitelisted read
// (sma-speedwire.md §9.6), and never ask to wait for the past.
#include "protocol/sma/poller.hpp"
#include "protocol/sma/requests.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <variant>

using namespace sunkeep::sma;

namespace {

void check_send(const Send& send) {
  if (send.step == Step::discovery) {
    if (send.datagram != build_discovery() || send.inverter != multicast_group) std::abort();
    return;
  }
  const auto p = parse_inverter_packet(send.datagram);
  if (!p) std::abort();
  if (p->command == command_identify || p->command == command_login) return;
  const bool listed = std::any_of(query_table().begin(), query_table().end(), [&](const QueryRow& row) {
    return row.command == p->command && row.first == p->first && p->last && row.last == *p->last;
  });
  if (!listed) std::abort();
}

// Takes every event due at `now`, remembering the last request sent. Adds an inverter for each
// discovery answer.
void drain(Poller& poller, PollerTime now, std::optional<Datagram>& last_request) {
  for (int i = 0; i < 512; ++i) {
    PollerEvent event = poller.next_event(now);
    if (std::holds_alternative<Close>(event)) return;
    if (const auto* wait = std::get_if<Wait>(&event)) {
      if (wait->until < now) std::abort();
      return;
    }
    if (const auto* send = std::get_if<Send>(&event)) {
      check_send(*send);
      last_request = send->datagram;
    }
    if (std::holds_alternative<Discovered>(event)) poller.add_inverter({});
  }
}

// A reply to `request`: command + 1, error and first/last from the input, `body` as records.
Datagram reply_to(const Datagram& request, std::uint16_t error, std::uint8_t last, std::span<const std::uint8_t> body) {
  if (request.size() < 58) return request;
  Datagram reply(request.begin(), request.begin() + 54);
  reply.insert(reply.end(), body.begin(), body.end());
  reply.insert(reply.end(), 4, 0);
  const auto n = static_cast<std::uint16_t>(reply.size() - 20);
  reply[12] = static_cast<std::uint8_t>(n >> 8);
  reply[13] = static_cast<std::uint8_t>(n);
  reply[36] = static_cast<std::uint8_t>(error);
  reply[37] = static_cast<std::uint8_t>(error >> 8);
  reply[42] = static_cast<std::uint8_t>(reply[42] + 1);
  std::fill(reply.begin() + 46, reply.begin() + 54, std::uint8_t{0});
  reply[50] = last;
  return reply;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  PollerSettings settings;
  settings.poll_interval = std::chrono::seconds(5 + data[0] % 60);
  settings.retries = data[0] % 3;
  settings.discovery = (data[0] & 0x80) != 0;
  PollerTime now{};
  Poller poller(settings, std::vector<InverterLogin>(1 + data[0] % 3), now);
  std::optional<Datagram> last_request;
  std::span<const std::uint8_t> rest(data + 1, size - 1);
  drain(poller, now, last_request);
  while (rest.size() >= 4) {
    const std::uint8_t op = rest[0];
    const std::size_t chunk = std::min<std::size_t>(rest[1], rest.size() - 4);
    if (op % 4 == 0) {
      now += std::chrono::milliseconds(std::size_t{rest[1]} * 100);  // a clock step of up to 25.5 s
      rest = rest.subspan(2);
    } else if (op % 4 == 1 || !last_request) {
      poller.receive(rest.subspan(4, chunk), now);
      rest = rest.subspan(4 + chunk);
    } else {
      const auto error = static_cast<std::uint16_t>(op % 3 == 0 ? rest[2] | (rest[3] << 8) : 0);
      poller.receive(reply_to(*last_request, error, rest[3] % 8, rest.subspan(4, chunk)), now);
      rest = rest.subspan(4 + chunk);
    }
    drain(poller, now, last_request);
  }
  return 0;
}
