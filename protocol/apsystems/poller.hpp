// The conversation with one APsystems ECU (apsystems-ecu.md §11.2) as a sans-IO state machine:
// bytes and times go in, events come out. Every poll_interval a cycle sends 0001, 0002 and 0030,
// each on a connection of its own: connect, write the request, read until the announced length
// (read_timeout), close; command_pause after every close before the next connect, retries
// included. A command that fails is retried up to `retries` times; when 0001 fails and no ECU id
// is known the cycle ends there. After three cycles in a row with no successful command the ECU is
// unreachable (possibly locked up): the interval doubles after each further failed cycle, up to
// 15 minutes, and returns to poll_interval with the first success. It reads no clock and does no
// I/O, storage or logging; every request it sends comes from build_request().
#pragma once

#include "protocol/apsystems/codec.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace sunkeep::apsystems {

using PollerClock = std::chrono::steady_clock;
using PollerTime = PollerClock::time_point;

struct PollerSettings {
  std::chrono::milliseconds poll_interval{60000};
  std::chrono::milliseconds command_pause{3000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{5000};
  unsigned retries = 2;      // further attempts per command
  std::string ecu_id;        // configured (12 digits) or "" to learn it from 0001
  int failed_cycles_unreachable = 3;
  std::chrono::milliseconds max_backoff{15LL * 60 * 1000};
};

// A cycle begins.
struct CycleStarted {};

// Open a connection to the ECU within `until`, then call connected() or connect_failed().
struct Connect {
  Command command = Command::ecu_info;
  PollerTime until;
};

// Write this request on the open connection.
struct Send {
  Command command = Command::ecu_info;
  Bytes request;

  [[nodiscard]] const Bytes& bytes() const { return request; }
};

// Nothing to do before `until`. On an open connection: read with that deadline and pass the bytes
// to receive(); between connections: sleep.
struct Wait {
  PollerTime until;
};

// Close the open connection (the exchange on it is over).
struct Close {
  std::string text;
};

// A valid reply (§3) that decoded. Realtime and Signal may say "no data" (match status 01).
struct Answered {
  Command command = Command::ecu_info;
  Bytes reply;
  std::variant<EcuInfo, Realtime, Signal> decoded;
};

// One attempt at a command failed; `reply` holds what arrived of a reply (archive it).
struct AttemptFailed {
  enum class Why { connect_failed, timed_out, closed_early, invalid, malformed };
  Command command = Command::ecu_info;
  Why why = Why::timed_out;
  std::string detail;
  Bytes reply;
  bool last = false;  // no attempt follows this cycle
};

// The ECU id in use: configured, learned from 0001, or a new one in 0001 (`previous`).
struct IdKnown {
  std::string id;
  std::optional<std::string> previous;
  bool differs_from_configured = false;
};

// Bytes after the announced length, ignored.
struct ExtraBytes {
  Command command = Command::ecu_info;
  std::size_t count = 0;
};

struct CycleEnded {
  bool succeeded = false;
  PollerTime next;
};

// The third failed cycle in a row: the ECU counts as offline until it answers again.
struct Unreachable {
  int failed_cycles = 0;
  std::chrono::milliseconds next_interval{0};
};

// The first success after Unreachable.
struct Recovered {};

using PollerEvent = std::variant<Wait, Connect, Send, Close, Answered, AttemptFailed, IdKnown, ExtraBytes, CycleStarted,
                                 CycleEnded, Unreachable, Recovered>;

class Poller {
 public:
  // The first cycle is due at `start`.
  Poller(PollerSettings settings, PollerTime start);

  // The connection asked for by Connect is open / could not be opened.
  void connected(PollerTime now);
  void connect_failed(PollerTime now, std::string why);
  // Bytes read from the open connection.
  void receive(std::span<const std::uint8_t> bytes, PollerTime now);
  // The open connection ended without a Close (the ECU closed it, or a read or write failed).
  void connection_lost(PollerTime now, std::string why);
  // The next thing to do at `now`. Call it until it returns Wait.
  PollerEvent next_event(PollerTime now);

  [[nodiscard]] const std::string& ecu_id() const { return ecu_id_; }
  [[nodiscard]] bool unreachable() const { return failed_cycles_ >= settings_.failed_cycles_unreachable; }
  [[nodiscard]] bool connection_open() const { return phase_ == Phase::reading; }

 private:
  // idle: between cycles; pausing: before connecting for the current command; connecting: a
  // Connect is out; reading: the connection is open (the request goes out first).
  enum class Phase { idle, pausing, connecting, reading };

  void advance(PollerTime now);
  void start_cycle(PollerTime now);
  void start_command(Command command);
  void finish_reply(PollerTime now);
  void succeed(Answered answered, PollerTime now);
  void fail(AttemptFailed::Why why, std::string detail, PollerTime now);
  void close_connection(std::string text, PollerTime now);
  void next_command(PollerTime now);
  void end_cycle(PollerTime now);
  void learn_id(const std::string& id);
  [[nodiscard]] std::chrono::milliseconds interval_after_failures() const;

  PollerSettings settings_;
  std::string ecu_id_;
  std::deque<PollerEvent> outbox_;
  Phase phase_ = Phase::idle;
  PollerTime next_cycle_;
  PollerTime cycle_start_;
  PollerTime pause_until_;
  PollerTime deadline_;  // of the connect or the read
  std::deque<Command> commands_;  // this cycle's, after the current one
  Command command_ = Command::ecu_info;
  unsigned attempt_ = 0;
  bool cycle_succeeded_ = false;
  int failed_cycles_ = 0;
  Bytes reply_;
};

}  // namespace sunkeep::apsystems
