// Fuzz target: the APsystems ECU poller fed arbitrary connect outcomes, reply bytes in arbitrary
// pieces (often after a valid header for the command asked, so the decoders see them), lost
// connections and clock steps. Besides not crashing, it must only ever ask to send the three
// whitelisted requests, never ask to connect while a connection is open, never send without
// one, and never ask to wait for the past.
#include "protocol/apsystems/poller.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <variant>

using namespace sunkeep::apsystems;

namespace {

struct Input {
  std::span<const std::uint8_t> rest;

  std::uint8_t byte() {
    if (rest.empty()) return 0;
    const std::uint8_t b = rest.front();
    rest = rest.subspan(1);
    return b;
  }
  std::span<const std::uint8_t> take(std::size_t n) {
    const auto piece = rest.first(std::min(n, rest.size()));
    rest = rest.subspan(piece.size());
    return piece;
  }
};

void check_send(const Send& send, const Poller& poller) {
  const std::string request(send.request.begin(), send.request.end());
  const std::string& id = poller.ecu_id();
  const bool whitelisted = request == "APS1100160001END\n" || request == "APS1100280002" + id + "END\n" ||
                           request == "APS1100280030" + id + "END\n";
  if (!whitelisted || (!valid_ecu_id(id) && request != "APS1100160001END\n")) std::abort();
}

// A header announcing a reply of `payload` bytes after it (plus END\n) for `command`, so the bytes
// that follow reach the decoder.
Bytes header(Command command, std::size_t payload) {
  std::array<char, 8> length{};
  std::snprintf(length.data(), length.size(), "%04zu", 13 + payload + 4 - 1);
  const std::string text = "APS11" + std::string(length.data()) + std::string(command_code(command));
  return {text.begin(), text.end()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  Input in{std::span<const std::uint8_t>(data, size)};
  const std::uint8_t setup = in.byte();
  PollerSettings settings;
  settings.retries = setup % 3;
  if (setup & 0x80) settings.ecu_id = "216300090693";
  PollerTime now{};
  Poller poller(settings, now);
  bool open = false;
  Command command = Command::ecu_info;
  for (int step = 0; step < 2000 && (!in.rest.empty() || !open); ++step) {
    PollerEvent event = poller.next_event(now);
    if (const auto* wait = std::get_if<Wait>(&event)) {
      if (wait->until < now) std::abort();
      if (!open || in.rest.empty()) {
        if (in.rest.empty()) break;
        now = wait->until;
        continue;
      }
      const std::uint8_t action = in.byte();
      if (action < 16) {
        now = wait->until;  // the read times out
      } else if (action < 24) {
        open = false;
        poller.connection_lost(now, "lost");
      } else if (action < 128) {
        const Bytes head = header(command, in.byte() * 4u);
        poller.receive(head, now);
        poller.receive(in.take(in.byte()), now);
      } else {
        poller.receive(in.take(action - 127u), now);
      }
    } else if (const auto* connect = std::get_if<Connect>(&event)) {
      if (open) std::abort();
      command = connect->command;
      if (in.byte() % 4 == 0) {
        poller.connect_failed(now, "refused");
      } else {
        open = true;
        poller.connected(now);
      }
    } else if (const auto* send = std::get_if<Send>(&event)) {
      if (!open) std::abort();
      check_send(*send, poller);
    } else if (std::holds_alternative<Close>(event)) {
      if (!open) std::abort();
      open = false;
    }
  }
  return 0;
}
