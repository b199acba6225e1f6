// The conversation with one Sermatec inverter (sermatec.md §6.1–6.4) as a sans-IO state machine:
// bytes and times go in, events come out. It identifies the inverter with 0x98 (plain, then RC4),
// then polls the read-only queries of its PCU version strictly one at a time, asks 0x98 again
// hourly and gives up on a link that stays silent. It reads no clock and does no I/O, storage or
// logging: the caller writes, reads, archives, binds and logs as the events say. Every frame it
// asks to send is a QueryFrame from build_query().
#pragma once

#include "protocol/sermatec/decode.hpp"
#include "protocol/sermatec/definitions.hpp"
#include "protocol/sermatec/frame.hpp"
#include "protocol/sermatec/frame_decoder.hpp"
#include "protocol/sermatec/queries.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace sunkeep::sermatec {

using PollerClock = std::chrono::steady_clock;
using PollerTime = PollerClock::time_point;

// The spec's constants and the [sermatec] switches; tests shorten the times.
struct PollerSettings {
  std::chrono::milliseconds poll_interval{30000};
  std::chrono::milliseconds answer_timeout{5000};
  std::chrono::milliseconds identity_refresh{60LL * 60 * 1000};
  std::chrono::milliseconds min_idle{5LL * 60 * 1000};  // idle limit: max(this, 3 × poll_interval)
  bool query_drm = false;                               // A1
  bool query_forced_charge = false;                     // A2
  bool query_network = false;                           // B1 (its answer holds the Wi-Fi password)
};

// The events next_event() returns. There is no Stats struct: the caller keeps its counters from the
// events, as their comments say.

// Write this query to the inverter (count it as `queries_sent` unless `identification`).
struct Send {
  QueryFrame query;             // from build_query(): the only source of bytes for an inverter
  bool rc4 = false;             // write the RC4 form
  bool identification = false;  // a 0x98 of identification rather than of the poll cycle

  [[nodiscard]] std::vector<std::uint8_t> bytes() const { return rc4 ? query.rc4() : query.plain(); }
  [[nodiscard]] const std::vector<std::uint8_t>& plain() const { return query.plain(); }  // for the archive
  [[nodiscard]] std::uint8_t code() const { return query.code(); }
};

// A frame was decoded (count `frames_received`, and `bad_checksum` when !frame.checksum_ok). The
// machine has already taken what it needs from it; the caller archives and decodes it. A B1 answer
// still holds the Wi-Fi password: redact before archiving or logging.
struct FrameReceived {
  Frame frame;
  bool unexpected = false;  // valid but awaited by nothing (count `unexpected_frames`)
};

// A valid 0x98 answer named the inverter: the caller binds it and answers with bound() or
// binding_refused(); until then next_event() only waits.
struct Identified {
  Identity identity;
  bool rc4 = false;  // the form every later query takes
};

// The hourly 0x98 named another serial: the caller drops the binding of `old_serial`;
// identification starts afresh and ends in a new Identified.
struct SerialChanged {
  std::string old_serial;
  std::string new_serial;
};

// The hourly 0x98 reported a new PCU version: definitions() now hold its layouts.
struct DefinitionsChanged {
  int pcu_version = 0;
};

// A poll cycle begins (decoders reset what they keep per cycle, e.g. the 0x0A battery status).
struct CycleStarted {};

// Every expected frame of a poll query came in time (count `queries_answered`). Each poll query
// (not those of identification) ends in one QueryAnswered or one AnswerTimedOut.
struct QueryAnswered {
  std::uint8_t query = 0;
};

// The answer timeout passed before every expected frame came (count `answer_timeouts`).
struct AnswerTimedOut {
  std::uint8_t query = 0;
  std::vector<std::uint8_t> missing;  // ascending
};

// Bytes that are not a frame were skipped (count `junk_bytes`). `first_bytes` stays empty when B1
// is queried, as such bytes may be a B1 answer that lost its framing.
struct JunkSkipped {
  std::size_t count = 0;
  std::vector<std::uint8_t> first_bytes;
};

enum class NoteLevel { debug, info, warn, error };

// Something worth a log line. With `once_key` set, log only the first Note carrying that key.
struct Note {
  NoteLevel level = NoteLevel::info;
  std::string text;
  std::string once_key;
};

enum class CloseReason { idle, binding_refused, connection_closed };

// The conversation is over: close the connection. Returned again by every later next_event().
struct Close {
  CloseReason reason = CloseReason::idle;
  std::string text;
};

// Nothing to do before `until` (time_point::max(): until bound() or binding_refused()). Read with
// that deadline, pass any bytes to receive(), then call next_event() again.
struct Wait {
  PollerTime until;
};

using PollerEvent = std::variant<Wait, Send, FrameReceived, Identified, SerialChanged, DefinitionsChanged, CycleStarted,
                                 QueryAnswered, AnswerTimedOut, JunkSkipped, Note, Close>;

class Poller {
 public:
  // `connected`: when the connection was established (the first 0x98 is due then).
  Poller(PollerSettings settings, PollerTime connected);

  // Bytes read from the connection at `now` (the receive time of the frames they complete).
  void receive(std::span<const std::uint8_t> bytes, PollerTime now);
  // The caller's answer to Identified.
  void bound(PollerTime now);
  void binding_refused();
  // The peer closed the connection or a write failed.
  void connection_closed();

  // The next thing to do at `now`. Call it until it returns Wait or Close.
  PollerEvent next_event(PollerTime now);

  // The inverter as bound (nullopt before bound() and after a serial change) and its layouts.
  [[nodiscard]] const std::optional<Identity>& identity() const { return identity_; }
  [[nodiscard]] const Definitions* definitions() const { return definitions_ ? &*definitions_ : nullptr; }
  [[nodiscard]] bool rc4() const { return rc4_; }

 private:
  enum class Phase {
    identify_pause,    // until deadline_: the next identification attempt
    identify_wait,     // a 0x98 of identification is out
    awaiting_binding,  // Identified was emitted
    cycle_due,         // until deadline_: the next poll cycle
    cycle_next,        // send the cycle's next query, or end the cycle
    querying,          // a poll query is out
  };

  bool decode_step(PollerTime now);
  void handle(Frame frame);
  void advance(PollerTime now);
  void step(PollerTime now);
  void start_identification(PollerTime now);
  void send_identity_query(bool rc4, PollerTime now);
  void finish_identity_query(PollerTime now);
  void start_cycle(PollerTime now);
  void send_next_query(PollerTime now);
  void finish_query(PollerTime now);
  void finish_identity_refresh(PollerTime now);
  [[nodiscard]] std::vector<std::uint8_t> poll_codes() const;
  [[nodiscard]] PollerEvent wait_or_close(PollerTime now);
  [[nodiscard]] std::chrono::milliseconds idle_limit() const;
  [[nodiscard]] std::string unidentified_text() const;

  PollerSettings settings_;
  FrameDecoder decoder_;
  std::deque<PollerEvent> outbox_;
  std::optional<Close> close_;
  Phase phase_ = Phase::identify_pause;
  PollerTime deadline_;  // of the wait the phase stands for
  std::set<std::uint8_t> expected_;
  std::uint8_t query_code_ = 0;           // of the poll query out
  bool query_rc4_ = false;                // form of the identification 0x98 out
  bool rc4_ = false;                      // form of every poll query
  bool refreshing_ = false;               // the poll query out is the hourly 0x98
  std::deque<std::uint8_t> cycle_codes_;  // still to send this cycle, in order
  PollerTime attempt_start_;
  PollerTime next_cycle_;
  PollerTime last_valid_frame_;
  PollerTime last_identity_;
  PollerTime received_at_;
  std::optional<PollerTime> partial_since_;
  std::optional<Identity> found_;  // the last valid 0x98 answer of this attempt or hourly 0x98
  std::optional<Identity> identity_;
  std::optional<Definitions> definitions_;
  std::size_t unidentified_bytes_ = 0;
  std::vector<std::uint8_t> unidentified_head_;
};

}  // namespace sunkeep::sermatec
