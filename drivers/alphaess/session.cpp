// One AlphaESS device connection.
#include "drivers/alphaess/session.hpp"

#include "protocol/alphaess/device_time.hpp"
#include "protocol/alphaess/observation.hpp"
#include "server/clock.hpp"
#include "server/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace sunkeep::drivers {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::awaitable;
using asio::use_awaitable;
using server::close_socket;
using server::now_ms;
using server::tuple_awaitable;
using server::write_within;
using server::WriteResult;

namespace {

constexpr std::uint32_t ms_per_day = 86'400'000;
constexpr std::size_t logged_text_bytes = 64;

// Text a device chose (its serial, a command answer) as a log line may hold it: printable ASCII
// as it is, any other byte and the backslash as \xNN, at most 64 bytes.
std::string loggable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, logged_text_bytes)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '\\') {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", byte);
    }
  }
  if (text.size() > logged_text_bytes) out += "...";
  return out;
}

// The first of these frames in a connection is where Resume may follow (alphaess.md §5.5).
bool is_backfill_point(const alphaess::Frame& frame) {
  using namespace alphaess::command;
  return frame.is_initiating() &&
         (frame.command() == event_message || frame.command() == realtime || frame.command() == five_minute);
}

}  // namespace

AlphaEssSession::AlphaEssSession(asio::ip::tcp::socket socket, AlphaEssShared& shared)
    : socket_(std::move(socket)),
      shared_(shared),
      decoder_(shared.config.max_frame),
      idle_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()),
      peer_(server::peer_name(socket_)) {}

void AlphaEssSession::start(const std::shared_ptr<AlphaEssSession>& session, server::TaskGroup& tasks,
                            std::shared_ptr<const void> slot) {
  server::spawn_session(tasks, session, std::move(slot), "alphaess " + session->who());
}

void AlphaEssSession::close_from_elsewhere() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
}

void AlphaEssSession::close() {
  closed_ = true;
  close_socket(socket_);
  idle_timer_.cancel();
  write_timer_.cancel();
}

std::string AlphaEssSession::who() const {
  return peer_.text + (serial_.empty() ? "" : " (" + loggable(serial_) + ")");
}

awaitable<void> AlphaEssSession::run() {
  spdlog::debug("alphaess {}: connected", who());
  last_frame_ = std::chrono::steady_clock::now();
  bool keep_going = true;
  while (keep_going && !closed_) {
    const bool more = co_await read_more();
    if (!more) break;
    while (keep_going) {
      auto step = decoder_.next();
      if (std::holds_alternative<alphaess::NeedMoreBytes>(step)) break;
      if (const auto* rejection = std::get_if<alphaess::Rejection>(&step)) {
        co_await reject(*rejection);
        keep_going = false;
        break;
      }
      last_frame_ = std::chrono::steady_clock::now();
      const alphaess::Frame& frame = std::get<alphaess::Frame>(step);
      keep_going = co_await handle(frame);
    }
  }
  close();
  if (outstanding_command_) {
    spdlog::warn("alphaess {}: Resume {} was never answered before the connection closed", who(), *outstanding_command_);
  }
  shared_.registry.unbind(this, {serial_});
  spdlog::debug("alphaess {}: connection closed", who());
}

awaitable<bool> AlphaEssSession::read_more() {
  idle_timer_.expires_at(last_frame_ + shared_.config.idle_timeout);
  auto result = co_await (socket_.async_read_some(asio::buffer(read_buffer_), tuple_awaitable) ||
                          idle_timer_.async_wait(tuple_awaitable));
  if (result.index() == 1) {
    const boost::system::error_code timer_ec = std::get<0>(std::get<1>(result));
    if (!timer_ec) {
      ++shared_.counters.idle_timeouts;
      spdlog::info("alphaess {}: no complete frame for {} s, closing", who(),
                   std::chrono::duration_cast<std::chrono::seconds>(shared_.config.idle_timeout).count());
    }
    co_return false;
  }
  const boost::system::error_code ec = std::get<0>(std::get<0>(result));
  const std::size_t n = std::get<1>(std::get<0>(result));
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
      spdlog::info("alphaess {}: read failed: {}", who(), ec.message());
    }
    co_return false;
  }
  decoder_.feed(std::span<const std::uint8_t>(read_buffer_.data(), n));
  co_return true;
}

awaitable<bool> AlphaEssSession::send(const alphaess::OutboundFrame& frame) {
  const WriteResult result = co_await write_within(socket_, write_timer_, asio::buffer(frame.bytes()), write_timeout);
  if (result == WriteResult::timed_out) spdlog::warn("alphaess {}: write timed out after {} s, closing", who(), write_timeout.count());
  if (result == WriteResult::failed && !closed_) spdlog::info("alphaess {}: write failed, closing", who());
  co_return result == WriteResult::written;
}

awaitable<void> AlphaEssSession::reject(const alphaess::Rejection& rejection) {
  ++*shared_.counters.rejections[static_cast<std::size_t>(rejection.reason)];
  spdlog::warn("alphaess {}: closing connection, {}", who(), rejection.describe());
  const std::string reason = alphaess::to_string(rejection.reason);
  const std::optional<std::string> serial = serial_.empty() ? std::nullopt : std::optional(serial_);
  const UtcMillis when = now_ms();
  shared_.counters.rejection_summary.note(peer_.host, reason, serial, when);
  storage::Writer::Job note = [host = peer_.host, reason, serial, when](storage::Store& store) {
    store.note_rejection(host, reason, serial, when);
  };
  co_await shared_.writer.async_commit(std::move(note), tuple_awaitable);
}

bool AlphaEssSession::bind_serial(const alphaess::Message& message) {
  if (!serial_.empty()) return false;
  std::string named = alphaess::serial_of(message);
  if (named.empty()) return false;
  serial_ = std::move(named);
  shared_.registry.bind(serial_, shared_from_this());
  return true;
}

awaitable<bool> AlphaEssSession::handle(const alphaess::Frame& frame) {
  ++shared_.counters.frames_received;
  const alphaess::Message message = alphaess::decode_message(frame);
  const bool binds = bind_serial(message);
  std::optional<alphaess::OutboundFrame> reply;
  if (frame.is_initiating()) reply = alphaess::make_success_ack(frame.command());
  Observation observation = alphaess::observe({.peer = peer_.text,
                                               .received = now_ms(),
                                               .frame = frame,
                                               .message = message,
                                               .connection_serial = serial_,
                                               .binds_serial = binds,
                                               .reply = reply ? reply->bytes() : std::vector<std::uint8_t>{},
                                               .zone = &shared_.zone});
  const server::Committed committed = co_await shared_.observations.commit(std::move(observation));
  if (committed.error) {
    ++shared_.counters.commit_failures;
    spdlog::error("alphaess {}: frame F3={} not committed ({}); closing without ack", who(), frame.command(),
                  committed.error.message());
    co_return false;
  }
  const storage::IngestResult& result = committed.result;
  device_ = result.device;
  clock_offset_ms_ = result.clock_offset_ms;
  if (binds) history_before_ = result.history_before;
  report(frame, message, result);

  if (reply) {
    const bool sent = co_await send(*reply);
    if (!sent) co_return false;
    ++shared_.counters.acks_sent;
  } else if (frame.is_reply()) {
    note_command_answer(message);
  } else if (shared_.log_once.first("f2:" + who() + std::to_string(frame.f2()))) {
    spdlog::warn("alphaess {}: frame with F2={} (F3={}) archived, not answered", who(), frame.f2(), frame.command());
  }
  if (!backfill_point_passed_ && is_backfill_point(frame)) {
    backfill_point_passed_ = true;
    const bool keep_open = co_await maybe_backfill();
    co_return keep_open;
  }
  co_return true;
}

void AlphaEssSession::report(const alphaess::Frame& frame, const alphaess::Message& message,
                             const storage::IngestResult& result) {
  auto& counters = shared_.counters;
  const std::string device_key = serial_.empty() ? peer_.host : serial_;
  const std::string command = std::to_string(frame.command());
  if (const auto* failure = std::get_if<alphaess::DecodeFailure>(&message)) {
    ++counters.decode_errors;
    if (shared_.log_once.first("decode:" + device_key + ":" + command)) {
      spdlog::warn("alphaess {}: F3={} payload not decoded ({}); archived raw and acked", who(), command, failure->reason);
    }
  } else if (std::holds_alternative<alphaess::UnknownMessage>(message) && frame.is_initiating()) {
    ++counters.unknown_commands;
    if (shared_.log_once.first("unknown:" + device_key + ":" + command)) {
      spdlog::warn("alphaess {}: unknown command F3={}; archived raw and acked", who(), command);
    }
  } else if (const auto* t = std::get_if<alphaess::Telemetry>(&message); t && !t->problems.empty()) {
    ++counters.decode_errors;
    spdlog::warn("alphaess {}: F3={}: {} part(s) not decoded, first: {}", who(), command, t->problems.size(), t->problems.front());
  }
  counters.records_stored += static_cast<std::uint64_t>(result.inserted);
  counters.duplicate_records += static_cast<std::uint64_t>(result.duplicates);
  counters.conflicting_records += static_cast<std::uint64_t>(result.conflicts);
  if (result.conflicts > 0) {
    spdlog::warn("alphaess {}: {} record(s) repeat a stored key with different content; first kept", who(), result.conflicts);
  }
  for (const auto& other : result.foreign_serials) {
    ++counters.serial_mismatches;
    spdlog::warn("alphaess {}: record for SN {} stored under its own serial", who(), loggable(other));
  }
}

void AlphaEssSession::note_command_answer(const alphaess::Message& message) {
  const auto* answer = std::get_if<alphaess::CommandAnswer>(&message);
  if (!answer) {
    spdlog::warn("alphaess {}: device reply that is not a command answer archived", who());
    return;
  }
  if (!outstanding_command_ || *outstanding_command_ != answer->cmd_index) {
    spdlog::warn("alphaess {}: answer to unknown CmdIndex {} ({}: {})", who(), loggable(answer->cmd_index),
                 loggable(answer->command), loggable(answer->status));
  } else if (answer->status != "Success") {
    spdlog::warn("alphaess {}: {} {} answered with status {}", who(), loggable(answer->command), loggable(answer->cmd_index),
                 loggable(answer->status));
  } else {
    spdlog::info("alphaess {}: {} {} accepted", who(), loggable(answer->command), loggable(answer->cmd_index));
  }
  outstanding_command_.reset();
}

awaitable<bool> AlphaEssSession::maybe_backfill() {
  const auto& config = shared_.config;
  if (!config.backfill || !device_ || !history_before_ || !clock_offset_ms_ || outstanding_command_) co_return true;
  const UtcMillis now = now_ms();
  const std::int64_t gap_ms = now + *clock_offset_ms_ - history_before_->utc;
  if (gap_ms <= config.backfill_min_gap.count() || gap_ms >= config.backfill_max_age.count()) co_return true;
  const auto from = alphaess::parse_device_datetime(history_before_->device_time);
  if (!from) co_return true;

  const alphaess::ResumeRequest request{.cmd_index = static_cast<std::uint32_t>(now % ms_per_day),
                                        .from = *from,
                                        .gap_minutes = gap_ms / 60'000};
  const alphaess::OutboundFrame resume = alphaess::make_resume(request);
  const std::string cmd_index = std::to_string(request.cmd_index);
  Observation command = alphaess::observe_command_sent(serial_, peer_.text, now, resume.bytes(), cmd_index, "Resume");
  const server::Committed recorded = co_await shared_.observations.commit(std::move(command));
  if (recorded.error) {
    spdlog::error("alphaess {}: Resume not recorded ({}); not sent", who(), recorded.error.message());
    co_return true;
  }
  const bool sent = co_await send(resume);
  if (!sent) co_return false;
  outstanding_command_ = cmd_index;
  ++shared_.counters.resumes_sent;
  spdlog::info("alphaess {}: sent Resume from {} ({} min gap)", who(), history_before_->device_time, request.gap_minutes);
  co_return true;
}

}  // namespace sunkeep::drivers
