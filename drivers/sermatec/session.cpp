// One connection to a Sermatec inverter.
#include "drivers/sermatec/session.hpp"

#include "common/hex.hpp"
#include "drivers/metric_names.hpp"
#include "server/clock.hpp"
#include "server/connection.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>

// The poll session writes the poller's Send, reads on its Wait and ends on its Close.
template <>
struct sunkeep::server::PollEvents<sunkeep::sermatec::Poller> {
  using Send = sermatec::Send;
  using Wait = sermatec::Wait;
  using Close = sermatec::Close;
};

namespace sunkeep::drivers {

namespace asio = boost::asio;
using asio::awaitable;
using server::now_ms;
using server::PollEnd;

namespace {

using Clock = std::chrono::steady_clock;

std::string codes_text(const std::vector<std::uint8_t>& codes) {
  std::string out;
  for (auto c : codes) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%s%02X", out.empty() ? "" : " ", c);
    out += buf;
  }
  return out;
}

spdlog::level::level_enum level_of(sermatec::NoteLevel level) {
  switch (level) {
    case sermatec::NoteLevel::debug: return spdlog::level::debug;
    case sermatec::NoteLevel::info: return spdlog::level::info;
    case sermatec::NoteLevel::warn: return spdlog::level::warn;
    case sermatec::NoteLevel::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

sermatec::PollerSettings settings_of(const SermatecShared& shared) {
  return {.poll_interval = shared.config.poll_interval,
          .answer_timeout = shared.timing.answer_timeout,
          .identity_refresh = shared.timing.identity_refresh,
          .min_idle = shared.timing.min_idle,
          .query_drm = shared.config.query_drm,
          .query_forced_charge = shared.config.query_forced_charge,
          .query_network = shared.config.query_network};
}

const metrics::Labels listener{{"listener", sermatec::vendor_name}};

}  // namespace

SermatecCounters::SermatecCounters(metrics::Registry& m)
    : local_connections_open(m.gauge("sunkeep_poll_connections_open",
                                     "Connections sunkeep opened to devices on the LAN (local mode) open now.",
                                     listener)),
      identified(m.counter("sunkeep_devices_identified_total", "Polled devices that identified themselves.", listener)),
      queries_answered(m.counter(metric::polls, metric::polls_help, {{"listener", "sermatec"}, {"result", "answered"}})),
      answer_timeouts(m.counter(metric::polls, metric::polls_help, {{"listener", "sermatec"}, {"result", "timeout"}})),
      frames_received(m.counter(metric::frames_received, metric::frames_received_help, listener)),
      bad_checksum(m.counter("sunkeep_frames_bad_checksum_total", "Frames received with a wrong checksum (archived).",
                             listener)),
      junk_bytes(m.counter("sunkeep_junk_bytes_total", "Received bytes that were not part of any frame.", listener)),
      unexpected_frames(m.counter("sunkeep_frames_unexpected_total",
                                  "Frames that answered no outstanding query (archived).", listener)),
      commit_failures(m.counter(metric::commit_failures, metric::commit_failures_help)) {}

SermatecSession::SermatecSession(asio::ip::tcp::socket socket, SermatecShared& shared, SermatecOrigin origin)
    : transport_(std::move(socket), write_timeout),
      shared_(shared),
      origin_(origin),
      poller_(settings_of(shared), Clock::now()),
      peer_(server::peer_name(transport_.socket())) {}

void SermatecSession::start(const std::shared_ptr<SermatecSession>& session, server::TaskGroup& tasks,
                            std::shared_ptr<const void> slot) {
  server::spawn_session(tasks, session, std::move(slot), "sermatec " + session->who());
}

void SermatecSession::close_from_elsewhere() {
  asio::post(transport_.executor(), [self = shared_from_this()] { self->transport_.close(); });
}

std::string SermatecSession::who() const {
  const char* path = origin_ == SermatecOrigin::cloud ? "cloud" : "local";
  return std::string(path) + " " + peer_.text + (serial_.empty() ? "" : " (" + serial_ + ")");
}

awaitable<bool> SermatecSession::run() {
  const std::string ip_key = origin_ == SermatecOrigin::cloud ? "ip:" + peer_.host : "";
  if (!ip_key.empty()) shared_.registry.bind(ip_key, shared_from_this());  // S3: a reconnect replaces the old link
  spdlog::info("sermatec {}: connected", who());
  auto handler = [this](sermatec::PollerEvent&& event) { return on_event(std::move(event)); };
  const PollEnd end = co_await server::run_poll_session(poller_, transport_, handler);
  log_end(end);
  transport_.close();
  shared_.registry.unbind(this, {ip_key, serial_.empty() ? "" : "serial:" + serial_});
  spdlog::info("sermatec {}: connection closed", who());
  co_return identified_once_;
}

awaitable<void> SermatecSession::on_event(sermatec::PollerEvent&& event) {
  auto& counters = shared_.counters;
  if (const auto* sent = std::get_if<sermatec::Send>(&event)) {
    Received query{sermatec::Frame{sent->plain(), true, sent->rc4}, now_ms(), true};
    co_await archive(std::move(query));
  } else if (auto* received = std::get_if<sermatec::FrameReceived>(&event)) {
    ++counters.frames_received;
    if (!received->frame.checksum_ok) ++counters.bad_checksum;
    if (received->unexpected) ++counters.unexpected_frames;  // archived, completes nothing
    Received frame{std::move(received->frame), now_ms(), false};
    co_await archive(std::move(frame));
  } else if (const auto* identified = std::get_if<sermatec::Identified>(&event)) {
    co_await bind(*identified);
  } else if (const auto* changed = std::get_if<sermatec::SerialChanged>(&event)) {
    unbind(*changed);
  } else if (const auto* layouts = std::get_if<sermatec::DefinitionsChanged>(&event)) {
    spdlog::info("sermatec {}: PCU version now {}; layouts reselected", who(), layouts->pcu_version);
  } else if (std::holds_alternative<sermatec::CycleStarted>(event)) {
    answers_.cycle_battery_status.reset();
  } else if (std::holds_alternative<sermatec::QueryAnswered>(event)) {
    ++counters.queries_answered;
  } else if (const auto* timed_out = std::get_if<sermatec::AnswerTimedOut>(&event)) {
    ++counters.answer_timeouts;
    spdlog::info("sermatec {}: query {:02X}: no {} within {} ms; going on", who(), timed_out->query,
                 codes_text(timed_out->missing), shared_.timing.answer_timeout.count());
  } else if (const auto* junk = std::get_if<sermatec::JunkSkipped>(&event)) {
    note_junk(*junk);
  } else if (const auto* note = std::get_if<sermatec::Note>(&event)) {
    log_note(*note);
  } else if (const auto* close = std::get_if<sermatec::Close>(&event)) {
    if (close->reason == sermatec::CloseReason::idle) spdlog::info("sermatec {}: {}; closing", who(), close->text);
  }
}

awaitable<void> SermatecSession::bind(const sermatec::Identified& identified) {
  const sermatec::Identity& id = identified.identity;
  identified_once_ = true;
  if (!shared_.registry.bind("serial:" + id.serial, shared_from_this())) {
    spdlog::warn("sermatec {}: inverter {} is already polled through its cloud connection; closing this one", who(), id.serial);
    poller_.binding_refused();
    co_return;
  }
  serial_ = id.serial;
  ++shared_.counters.identified;
  Observation identity = sermatec::observe_identity(id, peer_.text, now_ms());
  const server::Committed committed = co_await shared_.observations.commit(std::move(identity));
  if (committed.error) {
    ++shared_.counters.commit_failures;
    spdlog::error("sermatec {}: inverter not stored: {}; closing", who(), committed.error.message());
    poller_.binding_refused();
    co_return;
  }
  device_ = committed.result.device;
  poller_.bound(Clock::now());
  std::vector<Received> early = std::move(pending_);
  pending_.clear();
  for (auto& frame : early) co_await archive(std::move(frame));
}

void SermatecSession::unbind(const sermatec::SerialChanged& changed) {
  spdlog::warn("sermatec {}: serial changed to {}; identifying afresh", who(), changed.new_serial);
  shared_.registry.unbind(this, {"serial:" + serial_});
  serial_.clear();
  device_.reset();
}

awaitable<void> SermatecSession::archive(Received&& received) {
  const auto& identity = poller_.identity();
  if (!device_ || !identity) {
    if (pending_.size() < max_pending_frames) pending_.push_back(std::move(received));
    co_return;
  }
  std::vector<std::string> notes;
  Observation observation = sermatec::observe({.frame = received.frame,
                                               .outgoing = received.outgoing,
                                               .time = received.time,
                                               .serial = identity->serial,
                                               .peer = peer_.text,
                                               .definitions = *poller_.definitions(),
                                               .battery_brand = identity->battery_brand,
                                               .poll_interval_ms = shared_.config.poll_interval.count()},
                                              answers_, notes);
  for (const auto& note : notes) {
    if (shared_.log_once.first("sermatec-note:" + peer_.text + ":" + note)) spdlog::warn("sermatec {}: {}", who(), note);
  }
  const server::Committed committed = co_await shared_.observations.commit(std::move(observation));
  if (committed.error) {
    ++shared_.counters.commit_failures;
    spdlog::error("sermatec {}: frame not stored: {}", who(), committed.error.message());
  }
}

void SermatecSession::note_junk(const sermatec::JunkSkipped& junk) {
  shared_.counters.junk_bytes += junk.count;
  if (shared_.log_once.first("sermatec-junk:" + peer_.text)) {
    // The poller leaves first_bytes empty when B1 is asked: junk may be a B1 answer that lost its frame.
    spdlog::warn("sermatec {}: {} bytes that are not a frame skipped{}{}", who(), junk.count,
                 junk.first_bytes.empty() ? "" : ": ", to_hex(junk.first_bytes));
  } else {
    spdlog::debug("sermatec {}: {} junk bytes skipped", who(), junk.count);
  }
}

void SermatecSession::log_note(const sermatec::Note& note) const {
  if (!note.once_key.empty() && !shared_.log_once.first(note.once_key)) return;
  spdlog::log(level_of(note.level), "sermatec {}: {}", who(), note.text);
}

void SermatecSession::log_end(const PollEnd& end) const {
  if (end.cause == PollEnd::Cause::write_timed_out) spdlog::warn("sermatec {}: write timed out; closing", who());
  if (end.cause == PollEnd::Cause::read_failed && end.error != asio::error::eof &&
      end.error != asio::error::operation_aborted) {
    spdlog::info("sermatec {}: read failed: {}", who(), end.error.message());
  }
}

}  // namespace sunkeep::drivers
