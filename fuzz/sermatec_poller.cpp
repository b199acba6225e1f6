// Fuzz target: the Sermatec poller state machine fed arbitrary bytes, chunk sizes, clock steps and
// binding answers. Besides not crashing, it must only ever ask to send a frame that build_query()
// makes for an allow-listed code (do no harm to the device), and never ask to wait for the past.
#include "protocol/sermatec/poller.hpp"
#include "protocol/sermatec/queries.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>

using namespace sunkeep::sermatec;

namespace {

void check_send(const Send& send) {
  const auto allowed = build_query(send.code());
  if (!allowed || allowed->plain() != send.plain()) std::abort();
  if (std::find(read_only_codes.begin(), read_only_codes.end(), send.code()) == read_only_codes.end()) std::abort();
}

// Takes every event due at `now`; answers Identified as `bind` says. False once closed.
bool drain(Poller& poller, PollerTime now, bool bind) {
  for (int i = 0; i < 256; ++i) {
    PollerEvent event = poller.next_event(now);
    if (std::holds_alternative<Close>(event)) return false;
    if (const auto* wait = std::get_if<Wait>(&event)) {
      if (wait->until < now) std::abort();
      return true;
    }
    if (const auto* send = std::get_if<Send>(&event)) check_send(*send);
    if (std::holds_alternative<Identified>(event)) {
      if (bind) {
        poller.bound(now);
      } else {
        poller.binding_refused();
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  PollerSettings settings;
  settings.poll_interval = std::chrono::seconds(5 + data[0] % 60);
  settings.query_drm = (data[0] & 0x40) != 0;
  settings.query_forced_charge = (data[0] & 0x80) != 0;
  settings.query_network = (data[0] & 0x20) != 0;
  PollerTime now{};
  Poller poller(settings, now);
  std::span<const std::uint8_t> rest(data + 1, size - 1);
  bool open = drain(poller, now, true);
  while (open && rest.size() >= 2) {
    const std::uint8_t op = rest[0];
    const std::size_t chunk = std::min<std::size_t>(rest[1], rest.size() - 2);
    if (op % 4 == 0) {
      now += std::chrono::milliseconds(std::size_t{rest[1]} * 100);  // a clock step of up to 25.5 s
      rest = rest.subspan(2);
    } else {
      poller.receive(rest.subspan(2, chunk), now);
      rest = rest.subspan(2 + chunk);
    }
    open = drain(poller, now, op % 7 != 3);
  }
  return 0;
}
