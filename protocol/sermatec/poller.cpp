// The sans-IO conversation with one Sermatec inverter: identification, poll cycles, timeouts.
#include "protocol/sermatec/poller.hpp"

#include "common/hex.hpp"

#include <algorithm>
#include <cstdio>

namespace sunkeep::sermatec {

namespace {

constexpr std::uint8_t identity_code = 0x98;
constexpr std::size_t unidentified_head_bytes = 64;

std::string code_text(std::uint8_t code) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02X", code);
  return buf;
}

}  // namespace

Poller::Poller(PollerSettings settings, PollerTime connected)
    : settings_(settings), deadline_(connected), last_valid_frame_(connected), received_at_(connected) {}

void Poller::receive(std::span<const std::uint8_t> bytes, PollerTime now) {
  if (close_) return;
  received_at_ = now;
  const bool identifying = phase_ == Phase::identify_pause || phase_ == Phase::identify_wait;
  if (identifying && !found_) {
    unidentified_bytes_ += bytes.size();
    const std::size_t room = unidentified_head_bytes - std::min(unidentified_head_bytes, unidentified_head_.size());
    const auto take = static_cast<std::ptrdiff_t>(std::min(room, bytes.size()));
    unidentified_head_.insert(unidentified_head_.end(), bytes.begin(), bytes.begin() + take);
  }
  decoder_.feed(bytes);
}

void Poller::bound(PollerTime now) {
  if (close_ || phase_ != Phase::awaiting_binding) return;
  identity_ = found_;
  definitions_.emplace(identity_->pcu_version);
  last_identity_ = now;
  next_cycle_ = now;
  deadline_ = now;
  phase_ = Phase::cycle_due;
  if (definitions_->poll_list().empty()) {
    outbox_.push_back(Note{
        NoteLevel::warn,
        "PCU version " + std::to_string(identity_->pcu_version) + " has no poll list; only the hourly 0x98 is sent",
        "sermatec-old:" + identity_->serial});
  }
  outbox_.push_back(Note{NoteLevel::info,
                         "inverter " + identity_->serial + " (" + model_name(identity_->model_code) + "), PCU " +
                             std::to_string(identity_->pcu_version) + (rc4_ ? ", RC4 queries" : ""),
                         {}});
}

void Poller::binding_refused() {
  if (!close_) close_ = Close{CloseReason::binding_refused, "binding refused"};
}

void Poller::connection_closed() {
  if (!close_) close_ = Close{CloseReason::connection_closed, "connection closed"};
}

PollerEvent Poller::next_event(PollerTime now) {
  if (outbox_.empty() && !close_ && phase_ != Phase::awaiting_binding && !decode_step(now)) advance(now);
  if (!outbox_.empty()) {
    PollerEvent event = std::move(outbox_.front());
    outbox_.pop_front();
    return event;
  }
  if (close_) return *close_;
  return wait_or_close(now);
}

// One step of the receive path; false when the decoder needs more bytes.
bool Poller::decode_step(PollerTime now) {
  DecodeStep step = decoder_.next();
  if (std::holds_alternative<NeedMoreBytes>(step)) {
    if (!decoder_.has_partial()) {
      partial_since_.reset();
      return false;
    }
    if (!partial_since_) partial_since_ = received_at_;
    if (now < *partial_since_ + settings_.answer_timeout) return false;
    decoder_.drop_partial();  // incomplete for too long: resynchronise after its first byte
    step = decoder_.next();   // that byte, as junk
  }
  partial_since_.reset();  // the candidate at the buffer's start is a new one
  if (auto* junk = std::get_if<Junk>(&step)) {
    JunkSkipped skipped{junk->count, std::move(junk->first_bytes)};
    if (settings_.query_network) skipped.first_bytes.clear();
    outbox_.push_back(std::move(skipped));
  } else {
    handle(std::move(std::get<Frame>(step)));
  }
  return true;
}

void Poller::handle(Frame frame) {
  bool unexpected = false;
  if (frame.is_answer()) {
    last_valid_frame_ = received_at_;
    if (frame.code() == identity_code) {
      if (auto id = read_identity(frame)) found_ = std::move(id);
    }
    unexpected = expected_.erase(frame.code()) == 0;
  } else {
    unexpected = frame.checksum_ok;  // a query from another client, or an echo
  }
  outbox_.push_back(FrameReceived{std::move(frame), unexpected});
}

// Steps the conversation until it has something to report or must wait.
void Poller::advance(PollerTime now) {
  while (outbox_.empty()) {
    const Phase before = phase_;
    step(now);
    if (phase_ == before) return;
  }
}

void Poller::step(PollerTime now) {
  const bool due = now >= deadline_;
  switch (phase_) {
    case Phase::identify_pause:
      if (due) start_identification(now);
      return;
    case Phase::identify_wait:
      if (due || expected_.empty()) finish_identity_query(now);
      return;
    case Phase::awaiting_binding: return;
    case Phase::cycle_due:
      if (due) start_cycle(now);
      return;
    case Phase::cycle_next: send_next_query(now); return;
    case Phase::querying:
      if (due || expected_.empty()) finish_query(now);
      return;
  }
}

void Poller::start_identification(PollerTime now) {
  attempt_start_ = now;
  found_.reset();
  unidentified_bytes_ = 0;
  unidentified_head_.clear();
  send_identity_query(false, now);
}

void Poller::send_identity_query(bool rc4, PollerTime now) {
  query_rc4_ = rc4;
  expected_ = {identity_code};
  deadline_ = now + settings_.answer_timeout;
  phase_ = Phase::identify_wait;
  outbox_.push_back(Send{*build_query(identity_code), rc4, true});
}

// Plain unanswered: RC4. Neither: report and try again a poll interval after the attempt began.
void Poller::finish_identity_query(PollerTime now) {
  if (found_) {
    rc4_ = query_rc4_;
    phase_ = Phase::awaiting_binding;
    outbox_.push_back(Identified{*found_, rc4_});
    return;
  }
  if (!query_rc4_) {
    send_identity_query(true, now);
    return;
  }
  expected_.clear();
  phase_ = Phase::identify_pause;
  deadline_ = attempt_start_ + settings_.poll_interval;
  outbox_.push_back(Note{NoteLevel::warn, unidentified_text(), {}});
}

void Poller::start_cycle(PollerTime now) {
  outbox_.push_back(CycleStarted{});
  refreshing_ = now - last_identity_ >= settings_.identity_refresh;
  if (refreshing_) {
    found_.reset();
    cycle_codes_ = {identity_code};  // the poll codes follow once its answer is known
  } else {
    const auto codes = poll_codes();
    cycle_codes_.assign(codes.begin(), codes.end());
  }
  phase_ = Phase::cycle_next;
}

void Poller::send_next_query(PollerTime now) {
  if (cycle_codes_.empty()) {
    next_cycle_ = std::max<PollerTime>(next_cycle_ + settings_.poll_interval, now);  // overruns are not made up
    deadline_ = next_cycle_;
    phase_ = Phase::cycle_due;
    return;
  }
  const std::uint8_t code = cycle_codes_.front();
  cycle_codes_.pop_front();
  auto query = build_query(code);
  if (!query) {
    outbox_.push_back(
        Note{NoteLevel::error, "refusing to send code " + code_text(code) + ": not a read-only query", {}});
    return;
  }
  const auto answers = definitions_->answers_to(code);
  expected_ = std::set<std::uint8_t>(answers.begin(), answers.end());
  query_code_ = code;
  deadline_ = now + settings_.answer_timeout;
  phase_ = Phase::querying;
  outbox_.push_back(Send{std::move(*query), rc4_, false});
}

// No retry within a cycle: report what is missing and go on.
void Poller::finish_query(PollerTime now) {
  if (expected_.empty()) {
    outbox_.push_back(QueryAnswered{query_code_});
  } else {
    outbox_.push_back(AnswerTimedOut{query_code_, std::vector<std::uint8_t>(expected_.begin(), expected_.end())});
    expected_.clear();
  }
  phase_ = Phase::cycle_next;
  if (refreshing_) finish_identity_refresh(now);
}

// After the hourly 0x98: a new serial means identifying afresh, a new PCU version new layouts,
// no answer keeps the binding (the next cycle asks again).
void Poller::finish_identity_refresh(PollerTime now) {
  refreshing_ = false;
  if (found_) {
    last_identity_ = now;
    if (found_->serial != identity_->serial) {
      outbox_.push_back(SerialChanged{identity_->serial, found_->serial});
      identity_.reset();
      definitions_.reset();
      deadline_ = now;
      phase_ = Phase::identify_pause;
      return;
    }
    if (found_->pcu_version != identity_->pcu_version) {
      identity_ = found_;
      definitions_.emplace(identity_->pcu_version);
      outbox_.push_back(DefinitionsChanged{identity_->pcu_version});
    }
  }
  const auto codes = poll_codes();
  cycle_codes_.assign(codes.begin(), codes.end());
}

// The definitions' list, then A1, A2, B1 when switched on and defined at this PCU version.
std::vector<std::uint8_t> Poller::poll_codes() const {
  std::vector<std::uint8_t> codes = definitions_->poll_list();
  const auto add_if = [&](bool wanted, std::uint8_t code) {
    if (wanted && definitions_->layout(code)) codes.push_back(code);
  };
  add_if(settings_.query_drm, 0xA1);
  add_if(settings_.query_forced_charge, 0xA2);
  add_if(settings_.query_network, 0xB1);
  return codes;
}

PollerEvent Poller::wait_or_close(PollerTime now) {
  if (phase_ == Phase::awaiting_binding) return Wait{PollerTime::max()};
  const PollerTime idle_at = last_valid_frame_ + idle_limit();
  if (now >= idle_at) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(idle_limit()).count();
    close_ = Close{CloseReason::idle, "no valid frame for " + std::to_string(seconds) + " s"};
    return *close_;
  }
  PollerTime until = std::min(deadline_, idle_at);
  if (partial_since_) until = std::min<PollerTime>(until, *partial_since_ + settings_.answer_timeout);
  return Wait{until};
}

std::chrono::milliseconds Poller::idle_limit() const {
  return std::max(settings_.min_idle, 3 * settings_.poll_interval);
}

// What arrived during a failed identification attempt; no bytes shown when B1 may be among them.
std::string Poller::unidentified_text() const {
  std::string text = "no valid 0x98 answer; received " + std::to_string(unidentified_bytes_) + " bytes";
  if (!unidentified_head_.empty() && !settings_.query_network) text += ", first: " + to_hex(unidentified_head_);
  return text;
}

}  // namespace sunkeep::sermatec
