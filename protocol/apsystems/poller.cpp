// The ECU poller's state machine.
#include "protocol/apsystems/poller.hpp"

#include <algorithm>
#include <utility>

namespace sunkeep::apsystems {

namespace {

// The reply decoded for the command it answers, or why it does not decode.
std::variant<EcuInfo, Realtime, Signal, Malformed> decode(Command command, std::span<const std::uint8_t> reply) {
  auto widen = [](auto&& decoded) -> std::variant<EcuInfo, Realtime, Signal, Malformed> {
    return std::visit([](auto&& value) -> std::variant<EcuInfo, Realtime, Signal, Malformed> { return std::move(value); },
                      std::move(decoded));
  };
  switch (command) {
    case Command::ecu_info: return widen(decode_ecu_info(reply));
    case Command::realtime: return widen(decode_realtime(reply));
    case Command::signal: return widen(decode_signal(reply));
  }
  return Malformed{"unknown command"};
}

// Whether the bytes so far can begin a reply ("APS").
bool starts_like_a_reply(const Bytes& bytes) {
  static constexpr std::string_view start = "APS";
  const std::size_t n = std::min(bytes.size(), start.size());
  return std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n), start.begin());
}

}  // namespace

Poller::Poller(PollerSettings settings, PollerTime start)
    : settings_(std::move(settings)), next_cycle_(start), pause_until_(start) {
  if (valid_ecu_id(settings_.ecu_id)) learn_id(settings_.ecu_id);
}

void Poller::connected(PollerTime now) {
  if (phase_ != Phase::connecting) return;
  const auto request = build_request(command_, ecu_id_);
  if (!request) {  // cannot happen: commands that need the id are not started without one
    close_connection("no request to send", now);
    end_cycle(now);
    return;
  }
  phase_ = Phase::reading;
  deadline_ = now + settings_.read_timeout;
  reply_.clear();
  outbox_.emplace_back(Send{command_, *request});
}

void Poller::connect_failed(PollerTime now, std::string why) {
  if (phase_ != Phase::connecting) return;
  phase_ = Phase::pausing;
  pause_until_ = now + settings_.command_pause;
  fail(AttemptFailed::Why::connect_failed, std::move(why), now);
}

void Poller::receive(std::span<const std::uint8_t> bytes, PollerTime now) {
  if (phase_ != Phase::reading) return;
  reply_.insert(reply_.end(), bytes.begin(), bytes.end());
  if (!starts_like_a_reply(reply_)) {
    fail(AttemptFailed::Why::invalid, "does not start with APS", now);
    return;
  }
  if (reply_.size() < length_prefix) return;
  const auto size = announced_size(reply_);
  if (!size) {
    fail(AttemptFailed::Why::invalid, "the length field is not four digits", now);
    return;
  }
  if (reply_.size() < *size) return;
  if (reply_.size() > *size) {
    outbox_.emplace_back(ExtraBytes{command_, reply_.size() - *size});
    reply_.resize(*size);
  }
  finish_reply(now);
}

void Poller::connection_lost(PollerTime now, std::string why) {
  if (!connection_open()) return;
  phase_ = Phase::pausing;
  pause_until_ = now + settings_.command_pause;
  fail(AttemptFailed::Why::closed_early, std::move(why), now);
}

PollerEvent Poller::next_event(PollerTime now) {
  advance(now);
  if (!outbox_.empty()) {
    PollerEvent event = std::move(outbox_.front());
    outbox_.pop_front();
    return event;
  }
  switch (phase_) {
    case Phase::idle: return Wait{next_cycle_};
    case Phase::pausing: return Wait{pause_until_};
    case Phase::connecting:
    case Phase::reading: return Wait{deadline_};
  }
  return Wait{next_cycle_};
}

void Poller::advance(PollerTime now) {
  if (!outbox_.empty()) return;
  if (phase_ == Phase::idle && now >= next_cycle_) start_cycle(now);
  if (phase_ == Phase::pausing && now >= pause_until_) {
    phase_ = Phase::connecting;
    deadline_ = now + settings_.connect_timeout;
    outbox_.emplace_back(Connect{command_, deadline_});
  } else if (phase_ == Phase::connecting && now >= deadline_) {
    connect_failed(now, "no connection within the connect timeout");
  } else if (phase_ == Phase::reading && now >= deadline_) {
    fail(AttemptFailed::Why::timed_out,
         reply_.empty() ? "no reply within the read timeout" : "the reply was incomplete at the read timeout", now);
  }
}

void Poller::start_cycle(PollerTime now) {
  cycle_succeeded_ = false;
  cycle_start_ = now;
  outbox_.emplace_back(CycleStarted{});
  commands_ = {Command::realtime, Command::signal};
  start_command(Command::ecu_info);
}

void Poller::start_command(Command command) {
  command_ = command;
  attempt_ = 0;
  reply_.clear();
  phase_ = Phase::pausing;
}

void Poller::finish_reply(PollerTime now) {
  if (const auto invalid = invalid_reply(reply_, command_)) {
    fail(AttemptFailed::Why::invalid, *invalid, now);
    return;
  }
  auto decoded = decode(command_, reply_);
  if (const auto* malformed = std::get_if<Malformed>(&decoded)) {
    fail(AttemptFailed::Why::malformed, malformed->why, now);
    return;
  }
  Answered answered{.command = command_, .reply = std::move(reply_), .decoded = EcuInfo{}};
  std::visit(
      [&](auto&& value) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(value)>, Malformed>) answered.decoded = std::move(value);
      },
      std::move(decoded));
  succeed(std::move(answered), now);
}

void Poller::succeed(Answered answered, PollerTime now) {
  close_connection("reply read", now);
  cycle_succeeded_ = true;
  if (unreachable()) outbox_.emplace_back(Recovered{});
  failed_cycles_ = 0;
  if (const auto* info = std::get_if<EcuInfo>(&answered.decoded)) learn_id(info->ecu_id);
  outbox_.emplace_back(std::move(answered));
  next_command(now);
}

void Poller::fail(AttemptFailed::Why why, std::string detail, PollerTime now) {
  if (connection_open()) close_connection("attempt failed", now);
  const bool last = attempt_ >= settings_.retries;
  outbox_.emplace_back(AttemptFailed{command_, why, std::move(detail), std::move(reply_), last});
  reply_.clear();
  if (!last) {
    ++attempt_;
    phase_ = Phase::pausing;
  } else if (command_ == Command::ecu_info && ecu_id_.empty()) {
    end_cycle(now);
  } else {
    next_command(now);
  }
}

void Poller::close_connection(std::string text, PollerTime now) {
  outbox_.emplace_back(Close{std::move(text)});
  pause_until_ = now + settings_.command_pause;
  phase_ = Phase::pausing;
}

void Poller::next_command(PollerTime now) {
  if (commands_.empty() || ecu_id_.empty()) {
    end_cycle(now);
    return;
  }
  const Command command = commands_.front();
  commands_.pop_front();
  start_command(command);
}

void Poller::end_cycle(PollerTime now) {
  commands_.clear();
  phase_ = Phase::idle;
  if (!cycle_succeeded_) ++failed_cycles_;
  const auto interval = interval_after_failures();
  if (!cycle_succeeded_ && failed_cycles_ == settings_.failed_cycles_unreachable) {
    outbox_.emplace_back(Unreachable{failed_cycles_, interval});
  }
  next_cycle_ = std::max(cycle_start_ + interval, now);
  outbox_.emplace_back(CycleEnded{cycle_succeeded_, next_cycle_});
}

// poll_interval until the ECU is unreachable, then doubled for each further failed cycle, up to
// max_backoff (or poll_interval, if that is longer).
std::chrono::milliseconds Poller::interval_after_failures() const {
  const auto cap = std::max(settings_.max_backoff, settings_.poll_interval);
  auto interval = settings_.poll_interval;
  for (int extra = failed_cycles_ - settings_.failed_cycles_unreachable; extra > 0 && interval < cap; --extra) {
    interval *= 2;
  }
  return std::min(interval, cap);
}

void Poller::learn_id(const std::string& id) {
  if (id == ecu_id_) return;
  IdKnown known{.id = id,
                .previous = ecu_id_.empty() ? std::nullopt : std::optional(ecu_id_),
                .differs_from_configured = valid_ecu_id(settings_.ecu_id) && id != settings_.ecu_id};
  ecu_id_ = id;
  outbox_.emplace_back(std::move(known));
}

}  // namespace sunkeep::apsystems
