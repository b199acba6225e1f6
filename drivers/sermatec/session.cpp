// One connection to a Sermatec inverter.
#include "drivers/sermatec/session.hpp"

#include "common/hex.hpp"
#include "drivers/metric_names.hpp"
#include "server/clock.hpp"
#include "server/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace sunkeep::drivers {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::awaitable;
using server::close_socket;
using server::now_ms;
using server::peer_text;
using server::tuple_awaitable;
using server::write_within;
using server::WriteResult;

namespace {

constexpr std::uint8_t identity_query = 0x98;
constexpr std::size_t unidentified_head_bytes = 64;

std::string codes_text(const std::set<std::uint8_t>& codes) {
  std::string out;
  for (auto c : codes) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%s%02X", out.empty() ? "" : " ", c);
    out += buf;
  }
  return out;
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
    : socket_(std::move(socket)),
      shared_(shared),
      origin_(origin),
      read_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()) {
  peer_ = peer_text(socket_, peer_host_);
  boost::system::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  socket_.set_option(asio::socket_base::keep_alive(true), ignored);
}

void SermatecSession::start(const std::shared_ptr<SermatecSession>& session, server::TaskGroup& tasks,
                            std::shared_ptr<const void> slot) {
  auto run = [](std::shared_ptr<SermatecSession> self, std::shared_ptr<const void> /*held*/) -> awaitable<void> {
    co_await self->run();
  };
  tasks.spawn(session->executor(), run(session, std::move(slot)), "sermatec " + session->who());
}

void SermatecSession::close_from_elsewhere() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
}

void SermatecSession::close() {
  closed_ = true;
  close_socket(socket_);
  read_timer_.cancel();
  write_timer_.cancel();
}

std::string SermatecSession::who() const {
  const char* path = origin_ == SermatecOrigin::cloud ? "cloud" : "local";
  return std::string(path) + " " + peer_ + (bound_identity_ ? " (" + bound_identity_->serial + ")" : "");
}

awaitable<bool> SermatecSession::run() {
  shared_.registry.track(shared_from_this());
  const std::string ip_key = origin_ == SermatecOrigin::cloud ? "ip:" + peer_host_ : "";
  if (!ip_key.empty()) shared_.registry.bind(ip_key, shared_from_this());  // S3: a reconnect replaces the old link
  last_valid_frame_ = Clock::now();
  spdlog::info("sermatec {}: connected", who());
  bool identified_once = false;
  while (!closed_) {
    const bool identified = co_await identify();
    if (!identified) break;
    identified_once = true;
    const bool bound = co_await bind_device();
    if (!bound) break;
    const bool reidentify = co_await poll_forever();
    if (!reidentify) break;
  }
  close();
  shared_.registry.untrack(this, {ip_key, bound_identity_ ? "serial:" + bound_identity_->serial : ""});
  spdlog::info("sermatec {}: connection closed", who());
  co_return identified_once;
}

awaitable<bool> SermatecSession::identify() {
  const auto query = sermatec::build_query(identity_query);
  while (!closed_) {
    const auto attempt_start = Clock::now();
    identity_.reset();
    unidentified_bytes_ = 0;
    unidentified_head_.clear();
    for (const bool rc4 : {false, true}) {
      const bool sent = co_await send(*query, rc4);
      if (!sent) co_return false;
      expected_ = {identity_query};
      const bool open = co_await pump(Clock::now() + shared_.timing.answer_timeout, true);
      if (!open) co_return false;
      if (identity_) {
        rc4_ = rc4;
        co_return true;
      }
    }
    expected_.clear();
    spdlog::warn("sermatec {}: no valid 0x98 answer; received {} bytes{}{}", who(), unidentified_bytes_,
                 unidentified_head_.empty() ? "" : ", first: ", to_hex(unidentified_head_));
    const bool open = co_await pump(attempt_start + shared_.config.poll_interval, false);
    if (!open) co_return false;
  }
  co_return false;
}

awaitable<bool> SermatecSession::bind_device() {
  const sermatec::Identity id = *identity_;
  if (!shared_.registry.bind("serial:" + id.serial, shared_from_this())) {
    spdlog::warn("sermatec {}: inverter {} is already polled through its cloud connection; closing this one", who(), id.serial);
    co_return false;
  }
  bound_identity_ = id;
  definitions_.emplace(id.pcu_version);
  last_identity_ = Clock::now();
  ++shared_.counters.identified;
  Observation identified = sermatec::observe_identity(id, peer_, now_ms());
  const server::Committed committed = co_await shared_.observations.commit(std::move(identified));
  if (committed.error) {
    ++shared_.counters.commit_failures;
    co_return false;
  }
  device_ = committed.result.device;
  if (definitions_->poll_list().empty() && shared_.log_once.first("sermatec-old:" + id.serial)) {
    spdlog::warn("sermatec {}: PCU version {} has no poll list; only the hourly 0x98 is sent", who(), id.pcu_version);
  }
  spdlog::info("sermatec {}: inverter {} ({}), PCU {}{}", who(), id.serial, sermatec::model_name(id.model_code),
               id.pcu_version, rc4_ ? ", RC4 queries" : "");
  std::vector<Received> early = std::move(pending_);
  pending_.clear();
  for (auto& r : early) co_await process(std::move(r));
  co_return true;
}

std::vector<std::uint8_t> SermatecSession::poll_codes() const {
  std::vector<std::uint8_t> codes = definitions_->poll_list();
  const auto& cfg = shared_.config;
  const auto add_if = [&](bool wanted, std::uint8_t code) {
    if (wanted && definitions_->layout(code)) codes.push_back(code);
  };
  add_if(cfg.query_drm, 0xA1);
  add_if(cfg.query_forced_charge, 0xA2);
  add_if(cfg.query_network, 0xB1);
  return codes;
}

awaitable<bool> SermatecSession::poll_forever() {
  auto next_cycle = Clock::now();
  while (!closed_) {
    const bool open = co_await run_cycle();
    if (!open) co_return false;
    if (reidentify_) {
      reidentify_ = false;
      co_return true;
    }
    next_cycle += shared_.config.poll_interval;
    if (next_cycle < Clock::now()) next_cycle = Clock::now();  // an overrun cycle is not made up
    const bool still_open = co_await pump(next_cycle, false);
    if (!still_open) co_return false;
  }
  co_return false;
}

awaitable<bool> SermatecSession::run_cycle() {
  answers_.cycle_battery_status.reset();
  if (Clock::now() - last_identity_ >= shared_.timing.identity_refresh) {
    identity_.reset();
    const bool open = co_await query(identity_query, rc4_);
    if (!open) co_return false;
    apply_identity_refresh();
    if (reidentify_) co_return true;
  }
  for (const std::uint8_t code : poll_codes()) {
    const bool open = co_await query(code, rc4_);
    if (!open) co_return false;
  }
  co_return true;
}

void SermatecSession::apply_identity_refresh() {
  if (!identity_) return;  // no answer this hour: keep the binding, try again next cycle
  last_identity_ = Clock::now();
  if (identity_->serial != bound_identity_->serial) {
    spdlog::warn("sermatec {}: serial changed to {}; identifying afresh", who(), identity_->serial);
    shared_.registry.untrack(this, {"serial:" + bound_identity_->serial});
    shared_.registry.track(shared_from_this());
    bound_identity_.reset();
    device_.reset();
    reidentify_ = true;
  } else if (identity_->pcu_version != bound_identity_->pcu_version) {
    spdlog::info("sermatec {}: PCU version now {}; layouts reselected", who(), identity_->pcu_version);
    bound_identity_ = identity_;
    definitions_.emplace(identity_->pcu_version);
  }
}

awaitable<bool> SermatecSession::query(std::uint8_t code, bool rc4) {
  const auto q = sermatec::build_query(code);
  if (!q) {
    spdlog::error("sermatec {}: refusing to send code {:02X}: not a read-only query", who(), code);
    co_return true;
  }
  const auto answers = definitions_ ? definitions_->answers_to(code) : std::vector<std::uint8_t>{code};
  const bool sent = co_await send(*q, rc4);
  if (!sent) co_return false;
  expected_ = std::set<std::uint8_t>(answers.begin(), answers.end());
  const bool open = co_await pump(Clock::now() + shared_.timing.answer_timeout, true);
  if (!open) co_return false;
  if (expected_.empty()) {
    ++shared_.counters.queries_answered;
  } else {
    ++shared_.counters.answer_timeouts;
    spdlog::info("sermatec {}: query {:02X}: no {} within {} ms; going on", who(), code, codes_text(expected_),
                 shared_.timing.answer_timeout.count());
    expected_.clear();
  }
  co_return true;
}

awaitable<bool> SermatecSession::send(const sermatec::QueryFrame& query, bool rc4) {
  const std::vector<std::uint8_t> bytes = rc4 ? query.rc4() : query.plain();
  const WriteResult result = co_await write_within(socket_, write_timer_, asio::buffer(bytes), write_timeout);
  if (result == WriteResult::timed_out) spdlog::warn("sermatec {}: write timed out; closing", who());
  if (result != WriteResult::written) co_return false;
  Received sent{sermatec::Frame{query.plain(), true, rc4}, now_ms(), true};
  co_await process(std::move(sent));
  co_return true;
}

awaitable<bool> SermatecSession::pump(Clock::time_point deadline, bool until_answered) {
  const auto idle_limit = std::max(shared_.timing.min_idle, 3 * shared_.config.poll_interval);
  while (!closed_) {
    if (until_answered && expected_.empty()) co_return true;
    const auto now = Clock::now();
    if (now >= deadline) co_return true;
    if (now - last_valid_frame_ >= idle_limit) {
      spdlog::info("sermatec {}: no valid frame for {} s; closing", who(),
                   std::chrono::duration_cast<std::chrono::seconds>(idle_limit).count());
      co_return false;
    }
    auto wake = std::min(deadline, last_valid_frame_ + idle_limit);
    if (partial_since_) wake = std::min(wake, *partial_since_ + shared_.timing.answer_timeout);
    const bool open = co_await read_some(wake);
    if (!open) co_return false;
    if (partial_since_ && Clock::now() >= *partial_since_ + shared_.timing.answer_timeout) {
      decoder_.drop_partial();  // a frame that never completed: resynchronise after its first byte
      partial_since_.reset();
    }
    while (true) {
      auto step = decoder_.next();
      if (std::holds_alternative<sermatec::NeedMoreBytes>(step)) break;
      if (const auto* junk = std::get_if<sermatec::Junk>(&step)) {
        note_junk(*junk);
        continue;
      }
      co_await handle(std::move(std::get<sermatec::Frame>(step)));
    }
    if (!decoder_.has_partial()) {
      partial_since_.reset();
    } else if (!partial_since_) {
      partial_since_ = Clock::now();
    }
  }
  co_return false;
}

awaitable<bool> SermatecSession::read_some(Clock::time_point wake) {
  read_timer_.expires_at(wake);
  auto result = co_await (socket_.async_read_some(asio::buffer(read_buffer_), tuple_awaitable) ||
                          read_timer_.async_wait(tuple_awaitable));
  if (result.index() == 1) co_return !closed_;
  const boost::system::error_code ec = std::get<0>(std::get<0>(result));
  const std::size_t n = std::get<1>(std::get<0>(result));
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted) spdlog::info("sermatec {}: read failed: {}", who(), ec.message());
    co_return false;
  }
  if (!identity_) {
    unidentified_bytes_ += n;
    const std::size_t room = unidentified_head_bytes - std::min(unidentified_head_bytes, unidentified_head_.size());
    unidentified_head_.insert(unidentified_head_.end(), read_buffer_.begin(),
                              read_buffer_.begin() + static_cast<std::ptrdiff_t>(std::min(room, n)));
  }
  decoder_.feed(std::span<const std::uint8_t>(read_buffer_.data(), n));
  co_return true;
}

void SermatecSession::note_junk(const sermatec::Junk& junk) {
  shared_.counters.junk_bytes += junk.count;
  if (shared_.log_once.first("sermatec-junk:" + peer_)) {
    // Junk may be a B1 answer that lost its frame, so its bytes are shown only when B1 is never asked.
    const bool may_hold_secret = shared_.config.query_network;
    spdlog::warn("sermatec {}: {} bytes that are not a frame skipped{}{}", who(), junk.count,
                 may_hold_secret || junk.first_bytes.empty() ? "" : ": ",
                 may_hold_secret ? "" : to_hex(junk.first_bytes));
  } else {
    spdlog::debug("sermatec {}: {} junk bytes skipped", who(), junk.count);
  }
}

awaitable<void> SermatecSession::handle(sermatec::Frame frame) {
  ++shared_.counters.frames_received;
  if (!frame.checksum_ok) ++shared_.counters.bad_checksum;
  if (frame.is_answer()) {
    last_valid_frame_ = Clock::now();
    if (frame.code() == identity_query) {
      if (auto id = sermatec::read_identity(frame)) identity_ = std::move(id);
    }
    if (expected_.erase(frame.code()) == 0) ++shared_.counters.unexpected_frames;  // archived, completes nothing
  } else if (frame.checksum_ok) {
    ++shared_.counters.unexpected_frames;  // a query from another client, or an echo
  }
  Received received{std::move(frame), now_ms(), false};
  co_await process(std::move(received));
}

awaitable<void> SermatecSession::process(Received r) {
  if (!device_) {
    if (pending_.size() < max_pending_frames) pending_.push_back(std::move(r));
    co_return;
  }
  std::vector<std::string> notes;
  Observation observation = sermatec::observe({.frame = r.frame,
                                               .outgoing = r.outgoing,
                                               .time = r.time,
                                               .serial = bound_identity_->serial,
                                               .peer = peer_,
                                               .definitions = *definitions_,
                                               .battery_brand = bound_identity_->battery_brand,
                                               .poll_interval_ms = shared_.config.poll_interval.count()},
                                              answers_, notes);
  for (const auto& note : notes) {
    if (shared_.log_once.first("sermatec-note:" + peer_ + ":" + note)) spdlog::warn("sermatec {}: {}", who(), note);
  }
  const server::Committed committed = co_await shared_.observations.commit(std::move(observation));
  if (committed.error) {
    ++shared_.counters.commit_failures;
    spdlog::error("sermatec {}: frame not stored: {}", who(), committed.error.message());
  }
}

}  // namespace sunkeep::drivers
