// Polling one APsystems ECU.
#include "drivers/apsystems/ecu_poll.hpp"

#include "protocol/apsystems/observation.hpp"
#include "protocol/apsystems/poller.hpp"
#include "server/clock.hpp"
#include "server/connection.hpp"
#include "server/poll_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>

// On an open connection the poll session writes the poller's Send, reads on its Wait and ends on
// its Close.
template <>
struct sunkeep::server::PollEvents<sunkeep::apsystems::Poller> {
  using Send = apsystems::Send;
  using Wait = apsystems::Wait;
  using Close = apsystems::Close;
};

namespace sunkeep::drivers {

namespace asio = boost::asio;
using asio::awaitable;
using server::now_ms;
using server::tuple_awaitable;

namespace {

constexpr std::int64_t malformed_event_interval_ms = 60LL * 60 * 1000;
// The ECU gathers its inverters' data about every 5 minutes; their values are stored that often
// (de-duplicated by its timestamp), so they stay fresh for 3 × this, or 3 × poll_interval if longer.
constexpr std::chrono::milliseconds inverter_data_interval{300'000};

const char* why_text(apsystems::AttemptFailed::Why why) {
  using Why = apsystems::AttemptFailed::Why;
  switch (why) {
    case Why::connect_failed: return "no connection";
    case Why::timed_out: return "timed out";
    case Why::closed_early: return "connection ended early";
    case Why::invalid: return "invalid reply";
    case Why::malformed: return "malformed reply";
  }
  return "failed";
}

std::string describe(const server::PollEnd& end) {
  if (end.cause == server::PollEnd::Cause::read_failed) {
    return end.error == asio::error::eof ? "the ECU closed the connection" : "read failed: " + end.error.message();
  }
  return end.cause == server::PollEnd::Cause::write_timed_out ? "the request could not be written in time"
                                                              : "the request could not be written";
}

apsystems::PollerSettings settings_of(const config::ApsystemsConfig& config, const config::ApsystemsEcu& ecu) {
  return {.poll_interval = config.poll_interval,
          .command_pause = config.command_pause,
          .connect_timeout = config.connect_timeout,
          .read_timeout = config.read_timeout,
          .retries = config.retries,
          .ecu_id = ecu.ecu_id};
}

class EcuPoll {
 public:
  EcuPoll(const config::ApsystemsEcu& ecu, ApsystemsShared& shared)
      : shared_(shared),
        peer_(ecu.host + ":" + std::to_string(ecu.port)),
        host_(ecu.host),
        port_(ecu.port),
        configured_id_(ecu.ecu_id),
        poller_(settings_of(shared.config, ecu), server::PollClock::now()) {}

  // Polls until the task is cancelled.
  awaitable<void> run();

 private:
  awaitable<void> exchange(const apsystems::Connect& connect);
  awaitable<void> on_event(apsystems::PollerEvent&& event);
  awaitable<void> on_sent(const apsystems::Send& sent);
  awaitable<void> on_answered(apsystems::Answered&& answered);
  awaitable<void> on_failed(apsystems::AttemptFailed&& failed);
  awaitable<void> on_unreachable(const apsystems::Unreachable& unreachable);
  void on_id(const apsystems::IdKnown& known);
  awaitable<void> store(apsystems::Update&& update, RawFrame&& frame, UtcMillis received);
  void note_states(const apsystems::Update& update, UtcMillis now);
  void report_problems(const apsystems::Realtime& realtime);
  // What `serial` said (or was sent) at `received`; an inverter's values have the ECU's cadence.
  [[nodiscard]] Observation observation(std::string serial, UtcMillis received) const;
  awaitable<void> commit(Observation&& seen);

  ApsystemsShared& shared_;
  std::string peer_;
  std::string host_;
  std::uint16_t port_;
  std::string configured_id_;
  apsystems::Poller poller_;
  apsystems::EcuMapper mapper_;
  std::string serial_;                // the ECU id, once known
  bool confirmed_ = false;            // a 0001 reply named serial_ (not only the config)
  std::set<std::string> inverters_;   // UIDs in this ECU's real-time replies (the only source of inverter updates)
  UtcMillis last_malformed_event_ = 0;
};

awaitable<void> EcuPoll::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!co_await server::TaskGroup::cancelled()) {
    apsystems::PollerEvent event = poller_.next_event(server::PollClock::now());
    if (const auto* wait = std::get_if<apsystems::Wait>(&event)) {
      timer.expires_at(wait->until);
      auto waited = co_await timer.async_wait(tuple_awaitable);
      if (std::get<0>(waited)) break;  // cancelled: shutting down
    } else if (const auto* connect = std::get_if<apsystems::Connect>(&event)) {
      co_await exchange(*connect);
    } else {
      co_await on_event(std::move(event));
    }
  }
}

// One connection: open it, let the poll session write the request and read the reply, close it.
awaitable<void> EcuPoll::exchange(const apsystems::Connect& connect) {
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(connect.until - server::PollClock::now());
  server::Connected connected = co_await server::connect_within(host_, port_, std::max(timeout, std::chrono::milliseconds(1)));
  if (!connected.socket) {
    poller_.connect_failed(server::PollClock::now(), std::move(connected.error));
    co_return;
  }
  poller_.connected(server::PollClock::now());
  server::TcpTransport transport(std::move(*connected.socket), shared_.config.read_timeout);
  auto handler = [this](apsystems::PollerEvent&& event) { return on_event(std::move(event)); };
  const server::PollEnd end = co_await server::run_poll_session(poller_, transport, handler);
  transport.close();
  if (end.cause != server::PollEnd::Cause::closed && end.cause != server::PollEnd::Cause::cancelled) {
    poller_.connection_lost(server::PollClock::now(), describe(end));
  }
}

awaitable<void> EcuPoll::on_event(apsystems::PollerEvent&& event) {
  if (const auto* sent = std::get_if<apsystems::Send>(&event)) {
    co_await on_sent(*sent);
  } else if (auto* answered = std::get_if<apsystems::Answered>(&event)) {
    co_await on_answered(std::move(*answered));
  } else if (auto* failed = std::get_if<apsystems::AttemptFailed>(&event)) {
    co_await on_failed(std::move(*failed));
  } else if (const auto* known = std::get_if<apsystems::IdKnown>(&event)) {
    on_id(*known);
  } else if (const auto* unreachable = std::get_if<apsystems::Unreachable>(&event)) {
    co_await on_unreachable(*unreachable);
  } else if (std::holds_alternative<apsystems::Recovered>(event)) {
    spdlog::info("apsystems {}: the ECU answers again", peer_);
  } else if (std::holds_alternative<apsystems::CycleStarted>(event)) {
    mapper_.cycle_started();
  } else if (const auto* extra = std::get_if<apsystems::ExtraBytes>(&event)) {
    if (shared_.log_once.first("apsystems-extra:" + peer_)) {
      spdlog::info("apsystems {}: {} byte(s) after the announced reply length ignored", peer_, extra->count);
    }
  } else if (const auto* ended = std::get_if<apsystems::CycleEnded>(&event)) {
    spdlog::debug("apsystems {}: cycle {}", peer_, ended->succeeded ? "done" : "failed");
  }
}

Observation EcuPoll::observation(std::string serial, UtcMillis received) const {
  const bool ecu = serial == serial_;
  const auto cadence = ecu ? shared_.config.poll_interval : std::max(shared_.config.poll_interval, inverter_data_interval);
  return Observation{.vendor = std::string(apsystems::vendor_name),
                     .serial = std::move(serial),
                     .peer = peer_,
                     .received = received,
                     .cadence_ms = cadence.count()};
}

awaitable<void> EcuPoll::commit(Observation&& seen) {
  const server::Committed committed = co_await shared_.observations.commit(std::move(seen));
  if (committed.error) {
    ++shared_.counters.commit_failures;
    spdlog::error("apsystems {}: not stored: {}", peer_, committed.error.message());
  }
}

// Requests are archived under the ECU once a 0001 reply named it (unowned before: a configured id
// that the ECU contradicts must not become a device).
awaitable<void> EcuPoll::on_sent(const apsystems::Send& sent) {
  Observation seen = observation(confirmed_ ? serial_ : std::string(), now_ms());
  seen.frames.push_back(apsystems::archived(sent.request, sent.command, FrameDirection::to_device));
  co_await commit(std::move(seen));
}

awaitable<void> EcuPoll::on_answered(apsystems::Answered&& answered) {
  auto& counters = shared_.counters;
  ++counters.frames_received;
  const UtcMillis now = now_ms();
  if (!serial_.empty()) shared_.liveness.heard(serial_, now, shared_.config.poll_interval);
  RawFrame frame = apsystems::archived(answered.reply, answered.command, FrameDirection::from_device);
  apsystems::Update update;
  if (const auto* info = std::get_if<apsystems::EcuInfo>(&answered.decoded)) {
    ++counters.polls_answered;
    confirmed_ = true;
    update = mapper_.ecu_info(*info, now);
  } else if (const auto* realtime = std::get_if<apsystems::Realtime>(&answered.decoded)) {
    ++(realtime->no_data() ? counters.polls_no_data : counters.polls_answered);
    report_problems(*realtime);
    update = mapper_.realtime(*realtime);
    note_states(update, now);
  } else if (const auto* signal = std::get_if<apsystems::Signal>(&answered.decoded)) {
    ++(signal->no_data() ? counters.polls_no_data : counters.polls_answered);
    update = mapper_.signal(*signal);
  }
  if (update.duplicate) ++counters.records_duplicate;
  counters.unknown_records += static_cast<std::uint64_t>(update.unknown_records);
  co_await store(std::move(update), std::move(frame), now);
}

// The ECU's observation carries the reply; each inverter's follows with the ECU as its parent.
awaitable<void> EcuPoll::store(apsystems::Update&& update, RawFrame&& frame, UtcMillis received) {
  Observation ecu = observation(serial_, received);
  ecu.frames.push_back(std::move(frame));
  if (update.ecu) {
    ecu.readings = std::move(update.ecu->readings);
    ecu.events = std::move(update.ecu->events);
    ecu.model = std::move(update.ecu->model);
    ecu.firmware = std::move(update.ecu->firmware);
  }
  co_await commit(std::move(ecu));
  for (auto& inverter : update.inverters) {
    Observation seen = observation(std::move(inverter.serial), received);
    seen.parent = serial_;
    seen.readings = std::move(inverter.readings);
    seen.events = std::move(inverter.events);
    seen.model = std::move(inverter.model);
    co_await commit(std::move(seen));
  }
}

// An inverter is online while its ECU's real-time data says so.
void EcuPoll::note_states(const apsystems::Update& update, UtcMillis now) {
  for (const auto& [uid, online] : update.inverter_states) {
    inverters_.insert(uid);
    if (online) {
      shared_.liveness.heard(uid, now, shared_.config.poll_interval);
    } else {
      shared_.liveness.forget(uid);
    }
  }
}

void EcuPoll::report_problems(const apsystems::Realtime& realtime) {
  if (realtime.problems.empty()) return;
  ++shared_.counters.decode_errors;
  for (const auto& problem : realtime.problems) {
    if (shared_.log_once.first("apsystems-problem:" + peer_ + ":" + problem)) {
      spdlog::warn("apsystems {}: real-time reply: {} (the reply is archived)", peer_, problem);
    }
  }
}

awaitable<void> EcuPoll::on_failed(apsystems::AttemptFailed&& failed) {
  auto& counters = shared_.counters;
  using Why = apsystems::AttemptFailed::Why;
  switch (failed.why) {
    case Why::connect_failed: ++counters.polls_refused; break;
    case Why::timed_out: ++counters.polls_timed_out; break;
    case Why::closed_early: ++counters.polls_cut_off; break;
    case Why::invalid:
    case Why::malformed:
      ++counters.polls_malformed;
      ++counters.decode_errors;
      break;
  }
  const std::string what = std::string(apsystems::command_code(failed.command)) + ": " + why_text(failed.why) + ": " +
                           failed.detail + (failed.last ? "" : "; trying again");
  spdlog::log(failed.last ? spdlog::level::info : spdlog::level::debug, "apsystems {}: {}", peer_, what);
  if (failed.reply.empty()) co_return;
  ++counters.frames_received;
  Observation seen = observation(serial_, now_ms());
  seen.frames.push_back(apsystems::archived(failed.reply, failed.command, FrameDirection::from_device));
  const bool bad_reply = failed.why == Why::invalid || failed.why == Why::malformed;
  if (bad_reply && !serial_.empty() && seen.received - last_malformed_event_ >= malformed_event_interval_ms) {
    last_malformed_event_ = seen.received;
    seen.events.push_back(apsystems::event("malformed_reply", what + " (archived)"));
  }
  co_await commit(std::move(seen));
}

void EcuPoll::on_id(const apsystems::IdKnown& known) {
  if (known.differs_from_configured) {
    spdlog::warn("apsystems {}: the ECU says its id is {}, not the configured ecu_id {}; using {}", peer_, known.id,
                 configured_id_, known.id);
  } else if (known.previous) {
    spdlog::warn("apsystems {}: now answers as ECU {} (was {})", peer_, known.id, *known.previous);
  } else {
    spdlog::info("apsystems {}: ECU {}", peer_, known.id);
  }
  if (!serial_.empty()) shared_.liveness.forget(serial_);
  serial_ = known.id;
  confirmed_ = false;  // until the 0001 reply that follows
  mapper_ = {};
  if (const auto it = shared_.stored_lifetime_kwh.find(serial_); it != shared_.stored_lifetime_kwh.end()) {
    mapper_.remember_lifetime(it->second);
  }
}

// Three failed cycles in a row: offline, and the owner is told what usually helps.
awaitable<void> EcuPoll::on_unreachable(const apsystems::Unreachable& unreachable) {
  ++shared_.counters.unreachable;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(unreachable.next_interval).count();
  const std::string text = "the ECU at " + peer_ + " has not answered for " + std::to_string(unreachable.failed_cycles) +
                           " cycles; it may have locked up and need a power cycle. Polling backs off (next try in " +
                           std::to_string(seconds) + " s, up to 15 min)";
  spdlog::warn("apsystems {}: {}", peer_, text);
  shared_.liveness.forget(serial_);
  for (const auto& uid : inverters_) shared_.liveness.forget(uid);
  if (serial_.empty()) co_return;  // no device to hold the event yet
  Observation seen = observation(serial_, now_ms());
  seen.events.push_back(apsystems::event("ecu_unreachable", text));
  co_await commit(std::move(seen));
}

awaitable<void> poll_ecu(config::ApsystemsEcu ecu, ApsystemsShared& shared) {
  EcuPoll poll(ecu, shared);
  co_await poll.run();
}

}  // namespace

void spawn_ecu_poll(asio::io_context& io, server::TaskGroup& tasks, const config::ApsystemsEcu& ecu,
                    ApsystemsShared& shared) {
  spdlog::info("apsystems: polling the ECU at {}:{}", ecu.host, ecu.port);
  tasks.spawn(asio::make_strand(io), poll_ecu(ecu, shared), "apsystems ECU " + ecu.host + ":" + std::to_string(ecu.port));
}

}  // namespace sunkeep::drivers
