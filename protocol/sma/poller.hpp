// The conversation with the configured SMA inverters (sma-speedwire.md §9.2–§9.4) as a sans-IO
// state machine: datagrams and times go in, events come out. Each cycle polls the inverters one
// after another: identify when the device is not known (or answered nothing last cycle), log in
// once and keep the login, read software version and type label after each login, then the
// per-cycle queries in table order, one request at a time, each retried with a new packet id.
// An inverter silent from the start of its turn through three queries' last retries is skipped
// for the rest of the cycle. A bad password stops logins to that inverter for 15 minutes. With
// discovery on, the first cycle and the first one each hour begin with the multicast discovery
// request and `timeout` of listening; the caller adds the inverters it finds (add_inverter()). It reads no clock and does no I/O,
// storage or logging; every datagram it asks to send comes from protocol/sma/requests.hpp.
#pragma once

#include "protocol/sma/packet.hpp"
#include "protocol/sma/records.hpp"
#include "protocol/sma/requests.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace sunkeep::sma {

using PollerClock = std::chrono::steady_clock;
using PollerTime = PollerClock::time_point;

struct PollerSettings {
  std::chrono::milliseconds poll_interval{30000};
  std::chrono::milliseconds timeout{2000};  // per attempt
  unsigned retries = 2;                      // further attempts per request
  std::chrono::milliseconds login_pause{15LL * 60 * 1000};  // after a bad password
  int silent_cycles_unsupported = 3;  // a query unanswered this many cycles in a row becomes unsupported
  bool discovery = false;
  std::chrono::milliseconds discovery_interval{60LL * 60 * 1000};
  std::uint32_t source_serial = 900000000;
  std::int64_t unix_seconds_at_start = 0;  // the login's time field is this plus the time since start
};

// One configured inverter; its index in the list names it in every event.
struct InverterLogin {
  UserGroup group = UserGroup::user;
  EncodedPassword password{};
};

// What a request was for.
enum class Step { discovery, identify, login, query };

// The `inverter` of a Send that goes to the multicast group (the discovery request).
inline constexpr std::size_t multicast_group = static_cast<std::size_t>(-1);

// Send this datagram to inverter `inverter` (or to the multicast group).
struct Send {
  std::size_t inverter = 0;
  Datagram datagram;
  std::uint32_t command = 0;
  Step step = Step::query;

  [[nodiscard]] const Datagram& bytes() const { return datagram; }
  [[nodiscard]] std::size_t peer() const { return inverter; }
};

// A reply passed §3.2: archive it; for a query without error, store what `records` hold. What
// the reply means for the conversation follows as other events (AuthFailed, RequestFailed, …).
struct Answered {
  std::size_t inverter = 0;
  Step step = Step::query;
  std::optional<Query> query;  // for Step::query
  Datagram datagram;
  std::uint16_t error = 0;
  std::vector<Record> records;  // a query's, decoded (empty on an error or malformed records)
  bool decoded = false;         // a query's reply without error whose records decoded: data
};

// A device answered the discovery request from `address` (IPv4, network order). The caller adds it
// with add_inverter() unless it polls that address already.
struct Discovered {
  std::array<std::uint8_t, 4> address{};
  Datagram datagram;
};

// Identify named the device behind inverter `inverter` (first time, or a new one).
struct Identified {
  std::size_t inverter = 0;
  Address device;
};

struct LoggedIn {
  std::size_t inverter = 0;
};

// Error 0x0100: the password was refused; no login is tried before `until`.
struct AuthFailed {
  std::size_t inverter = 0;
  PollerTime until;
};

// A request ended without an answer this cycle.
struct RequestFailed {
  enum class Why { timed_out, device_error, unsupported, malformed };
  std::size_t inverter = 0;
  Step step = Step::query;
  std::optional<Query> query;
  Why why = Why::timed_out;
  std::uint16_t error = 0;  // the device's error code, for device_error / unsupported
  std::string detail;       // for malformed
};

// A datagram that answered no outstanding request. `well_formed`: a 0x6065 datagram (archive it);
// otherwise it is malformed (count and drop it).
struct Unanswered {
  Datagram datagram;
  bool well_formed = false;
  std::string why;
};

// A cycle begins; the inverter's values of the last cycle are history.
struct CycleStarted {};

// Inverter `inverter` answered nothing this cycle: it is identified and logged in afresh next cycle.
struct InverterSilent {
  std::size_t inverter = 0;
};

enum class NoteLevel { debug, info, warn };

struct Note {
  NoteLevel level = NoteLevel::info;
  std::string text;
  std::string once_key;  // log only the first Note with this key ("" = always)
};

// There is nothing to poll (no inverters).
struct Close {
  std::string text;
};

// Nothing to do before `until`: read with that deadline, pass any datagram to receive().
struct Wait {
  PollerTime until;
};

using PollerEvent = std::variant<Wait, Send, Answered, Discovered, Identified, LoggedIn, AuthFailed, RequestFailed, Unanswered,
                                 CycleStarted, InverterSilent, Note, Close>;

class Poller {
 public:
  // The first cycle is due at `start`.
  Poller(PollerSettings settings, std::vector<InverterLogin> inverters, PollerTime start);

  // One datagram received at `now`.
  void receive(std::span<const std::uint8_t> datagram, PollerTime now);
  // The next thing to do at `now`. Call it until it returns Wait or Close.
  PollerEvent next_event(PollerTime now);

  // Polls one more inverter from the next cycle on (or this one's, if its turn has not come);
  // returns its index.
  std::size_t add_inverter(InverterLogin login);

  // Logoffs to every logged-in inverter (best effort: no reply is awaited); they count as logged out.
  std::vector<Send> logoffs(PollerTime now);

  // The device behind an inverter once identified.
  [[nodiscard]] std::optional<Address> device(std::size_t inverter) const;
  [[nodiscard]] bool logged_in(std::size_t inverter) const { return inverters_.at(inverter).logged_in; }
  [[nodiscard]] bool unsupported(std::size_t inverter, Query query) const {
    return inverters_.at(inverter).unsupported.contains(query);
  }

 private:
  // What an inverter's turn in one cycle keeps; a new turn starts from a fresh one.
  struct Turn {
    std::deque<Query> queue;
    std::set<Query> timed_out;
    std::optional<Query> repeat_after_login;  // lost its login (0x0017): asked once more after the next
    bool relogged = false;       // logged in again this turn after a 0x0017
    int fresh_timeouts = 0;      // queries timed out this turn that were not silent before
    bool gave_up = false;        // identify or login failed: nothing more to ask this cycle
    bool answered = false;       // any reply at all
    bool data_answered = false;  // a query reply
  };

  struct Inverter {
    InverterLogin login;
    std::optional<Address> device;
    bool identify_due = true;
    bool logged_in = false;
    std::optional<std::size_t> duplicate_of;  // another inverter is the same device
    std::optional<PollerTime> no_login_before;
    std::set<Query> unsupported;
    std::map<Query, int> silent_cycles;  // consecutive cycles a query timed out
    Turn turn;                           // this cycle's
  };

  struct Request {
    Step step = Step::query;
    std::optional<Query> query;
    std::uint32_t command = 0;
    std::uint16_t packet_id = 0;
    unsigned attempt = 0;
    bool repeated_after_login = false;
    int fragments = 0;  // datagrams of the reply received that announced more
    PollerTime deadline;
  };

  void advance(PollerTime now);
  void start_cycle(PollerTime now);
  void start_discovery(PollerTime now);
  void finish_discovery(PollerTime now);
  void start_inverter();
  void next_request(PollerTime now);
  void finish_inverter();
  void send(Step step, std::optional<Query> query, PollerTime now, bool repeated_after_login = false);
  void resend(PollerTime now);
  [[nodiscard]] Datagram build(const Request& request, PollerTime now) const;
  void on_reply(const InverterPacket& reply, std::span<const std::uint8_t> datagram, PollerTime now);
  void on_identified(const InverterPacket& reply);
  void on_login_reply(const InverterPacket& reply, PollerTime now);
  void on_query_reply(const InverterPacket& reply, Answered& answered, PollerTime now);
  void on_timeout();
  void mark_unsupported(Query query, const std::string& why);
  void fail(RequestFailed::Why why, std::uint16_t error = 0, std::string detail = {});
  [[nodiscard]] std::uint16_t next_packet_id();
  [[nodiscard]] Inverter& current() { return inverters_[current_]; }
  [[nodiscard]] std::string name(std::size_t inverter) const;

  PollerSettings settings_;
  PollerTime start_;
  std::vector<Inverter> inverters_;
  std::deque<PollerEvent> outbox_;
  bool cycle_running_ = false;
  PollerTime next_cycle_;
  std::size_t current_ = 0;
  std::optional<Request> request_;
  std::uint16_t packet_counter_ = 0;
  std::optional<PollerTime> next_discovery_;  // set when discovery is on
};

}  // namespace sunkeep::sma
