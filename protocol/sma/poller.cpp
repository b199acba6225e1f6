// The conversation with the SMA inverters.
#include "protocol/sma/poller.hpp"

#include <algorithm>
#include <cstdio>

namespace sunkeep::sma {

namespace {

constexpr std::uint16_t ctrl_word_login = 0x0100;
constexpr std::uint16_t ctrl_word_read = 0x0000;
constexpr int silent_queries_gone = 3;
constexpr int max_fragments = 16;  // datagrams of one reply beyond the first

std::string hex4(std::uint16_t value) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%04X", value);
  return text;
}

}  // namespace

Poller::Poller(PollerSettings settings, std::vector<InverterLogin> inverters, PollerTime start)
    : settings_(settings), start_(start), next_cycle_(start) {
  if (settings_.discovery) next_discovery_ = start;
  for (auto& login : inverters) {
    Inverter inverter;
    inverter.login = login;
    inverters_.push_back(std::move(inverter));
  }
}

std::size_t Poller::add_inverter(InverterLogin login) {
  Inverter inverter;
  inverter.login = login;
  inverters_.push_back(std::move(inverter));
  return inverters_.size() - 1;
}

std::optional<Address> Poller::device(std::size_t inverter) const { return inverters_.at(inverter).device; }

std::string Poller::name(std::size_t inverter) const {
  const auto& device = inverters_[inverter].device;
  return "inverter " + std::to_string(inverter + 1) + (device ? " (" + std::to_string(device->serial) + ")" : "");
}

std::uint16_t Poller::next_packet_id() {
  packet_counter_ = packet_counter_ >= 0x7FFF ? 1 : static_cast<std::uint16_t>(packet_counter_ + 1);
  return static_cast<std::uint16_t>(packet_counter_ | 0x8000);
}

PollerEvent Poller::next_event(PollerTime now) {
  if (outbox_.empty()) advance(now);
  if (!outbox_.empty()) {
    PollerEvent event = std::move(outbox_.front());
    outbox_.pop_front();
    return event;
  }
  if (inverters_.empty() && !next_discovery_) return Close{"no SMA inverters to poll"};
  return Wait{request_ ? request_->deadline : next_cycle_};
}

// Moves the conversation on until it has something to say or must wait.
void Poller::advance(PollerTime now) {
  if (inverters_.empty() && !next_discovery_) return;
  while (outbox_.empty()) {
    if (request_) {
      if (now < request_->deadline) return;
      resend(now);
      continue;
    }
    if (!cycle_running_) {
      if (now < next_cycle_) return;
      start_cycle(now);
      continue;
    }
    next_request(now);
  }
}

void Poller::start_cycle(PollerTime now) {
  cycle_running_ = true;
  next_cycle_ += settings_.poll_interval;  // fixed rate; a late one is moved to its start below
  current_ = 0;
  outbox_.emplace_back(CycleStarted{});
  if (next_discovery_ && now >= *next_discovery_) return start_discovery(now);
  if (!inverters_.empty()) start_inverter();
}

void Poller::start_discovery(PollerTime now) {
  request_ = Request{.step = Step::discovery, .deadline = now + settings_.timeout};
  outbox_.emplace_back(Send{multicast_group, build_discovery(), 0, Step::discovery});
}

// The listening time is over: the cycle goes on with the inverters, those found included.
void Poller::finish_discovery(PollerTime now) {
  request_.reset();
  next_discovery_ = now + settings_.discovery_interval;
  if (!inverters_.empty()) start_inverter();
}

void Poller::start_inverter() {
  Turn& turn = current().turn;
  turn = Turn{};
  for (const QueryRow& row : query_table()) {
    if (row.use == QueryUse::per_cycle) turn.queue.push_back(row.query);
  }
}

// The next request of the current inverter, or the next inverter, or the end of the cycle.
void Poller::next_request(PollerTime now) {
  if (current_ >= inverters_.size()) {
    cycle_running_ = false;
    if (next_cycle_ < now) next_cycle_ = now;  // a late cycle starts at once
    return;
  }
  Inverter& inverter = current();
  if (inverter.duplicate_of || inverter.turn.gave_up) return finish_inverter();
  if (inverter.identify_due) return send(Step::identify, std::nullopt, now);
  if (!inverter.logged_in) {
    if (inverter.no_login_before && now < *inverter.no_login_before) return finish_inverter();
    inverter.no_login_before.reset();
    return send(Step::login, std::nullopt, now);
  }
  while (!inverter.turn.queue.empty() && inverter.unsupported.contains(inverter.turn.queue.front())) {
    const Query skipped = inverter.turn.queue.front();
    inverter.turn.queue.pop_front();
    if (skipped == Query::dc_power && !inverter.unsupported.contains(Query::dc_power_sb1600)) {
      inverter.turn.queue.push_front(Query::dc_power_sb1600);  // the SB1600TL-10's register for the same value
    }
  }
  if (inverter.turn.queue.empty()) return finish_inverter();
  const Query query = inverter.turn.queue.front();
  inverter.turn.queue.pop_front();
  const bool repeated = inverter.turn.repeat_after_login == query;
  if (repeated) inverter.turn.repeat_after_login.reset();
  send(Step::query, query, now, repeated);
}

void Poller::finish_inverter() {
  Inverter& inverter = current();
  if (!inverter.duplicate_of && !inverter.turn.answered && !(inverter.no_login_before && !inverter.logged_in)) {
    inverter.identify_due = true;
    inverter.logged_in = false;
    outbox_.emplace_back(InverterSilent{current_});
  }
  // A query silent in several cycles in a row while others were answered counts as unsupported.
  std::erase_if(inverter.silent_cycles, [&inverter](const auto& silent) {
    return inverter.turn.data_answered && !inverter.turn.timed_out.contains(silent.first);
  });
  if (inverter.turn.data_answered) {
    for (const Query query : inverter.turn.timed_out) {
      if (++inverter.silent_cycles[query] >= settings_.silent_cycles_unsupported) {
        inverter.silent_cycles.erase(query);
        mark_unsupported(query, "unanswered in " + std::to_string(settings_.silent_cycles_unsupported) +
                                    " cycles in a row while other queries were answered");
      }
    }
  }
  ++current_;
  if (current_ < inverters_.size()) start_inverter();
}

void Poller::send(Step step, std::optional<Query> query, PollerTime now, bool repeated_after_login) {
  Request request{.step = step,
                  .query = query,
                  .command = step == Step::identify ? command_identify
                             : step == Step::login  ? command_login
                                                    : row_of(*query).command,
                  .packet_id = next_packet_id(),
                  .attempt = 0,
                  .repeated_after_login = repeated_after_login,
                  .deadline = now + settings_.timeout};
  outbox_.emplace_back(Send{current_, build(request, now), request.command, step});
  request_ = request;
}

// Another attempt with a new packet id, or the request fails for this cycle.
void Poller::resend(PollerTime now) {
  if (request_->step == Step::discovery) return finish_discovery(now);
  if (request_->fragments > 0) {
    request_.reset();  // the last fragments never came: what did come was answered
    return;
  }
  if (request_->attempt >= settings_.retries) return on_timeout();
  ++request_->attempt;
  request_->packet_id = next_packet_id();
  request_->deadline = now + settings_.timeout;
  outbox_.emplace_back(Send{current_, build(*request_, now), request_->command, request_->step});
}

Datagram Poller::build(const Request& request, PollerTime now) const {
  const Inverter& inverter = inverters_[current_];
  RequestHeader header{.destination = any_device,
                       .source_serial = settings_.source_serial,
                       .ctrl_word = ctrl_word_read,
                       .packet_id = request.packet_id};
  switch (request.step) {
    case Step::identify: return build_identify(header);
    case Step::login: {
      header.destination = inverter.device.value_or(any_device);
      header.ctrl_word = ctrl_word_login;
      const auto since_start = std::chrono::duration_cast<std::chrono::seconds>(now - start_).count();
      const auto unix_time = static_cast<std::uint32_t>(settings_.unix_seconds_at_start + since_start);
      return build_login(header, inverter.login.group, inverter.login.password, unix_time);
    }
    case Step::query:
      header.destination = inverter.device.value_or(any_device);
      return build_query(header, *request.query);
    case Step::discovery: return build_discovery();
  }
  return {};
}

void Poller::receive(std::span<const std::uint8_t> datagram, PollerTime now) {
  if (request_ && request_->step == Step::discovery) {
    if (const auto address = discovery_reply_address(datagram)) {
      outbox_.emplace_back(Discovered{*address, Datagram(datagram.begin(), datagram.end())});
      return;
    }
  }
  const auto packet = parse_inverter_packet(datagram);
  if (!packet) {
    outbox_.emplace_back(Unanswered{Datagram(datagram.begin(), datagram.end()), false, packet.error()});
    return;
  }
  if (!request_ || request_->step == Step::discovery || !answers(*packet, Outstanding{.packet_id = request_->packet_id,
                                                 .command = request_->command,
                                                 .target = request_->step == Step::identify
                                                               ? std::nullopt
                                                               : current().device})) {
    outbox_.emplace_back(Unanswered{Datagram(datagram.begin(), datagram.end()), true, "answers no request"});
    return;
  }
  on_reply(*packet, datagram, now);
}

void Poller::on_reply(const InverterPacket& reply, std::span<const std::uint8_t> datagram, PollerTime now) {
  Inverter& inverter = current();
  inverter.turn.answered = true;
  // Every reply is handed on whole (to be archived) before what it means.
  outbox_.emplace_back(Answered{current_, request_->step, request_->query, Datagram(datagram.begin(), datagram.end()),
                                reply.error, {}});
  switch (request_->step) {
    case Step::identify: {
      if (reply.error != 0) {
        inverter.turn.gave_up = true;
        return fail(RequestFailed::Why::device_error, reply.error);
      }
      on_identified(reply);
      request_.reset();
      return;
    }
    case Step::login: return on_login_reply(reply, now);
    case Step::query: return on_query_reply(reply, std::get<Answered>(outbox_.back()), now);
    case Step::discovery: return;  // not reached: receive() leaves 0x6065 datagrams unanswered then
  }
}

void Poller::on_identified(const InverterPacket& reply) {
  Inverter& inverter = current();
  inverter.identify_due = false;
  const Address device = reply.source;
  for (std::size_t other = 0; other < inverters_.size(); ++other) {
    if (other != current_ && inverters_[other].device == device && !inverters_[other].duplicate_of) {
      inverter.duplicate_of = other;
      outbox_.emplace_back(Note{NoteLevel::warn,
                                name(current_) + " is the same device (serial " + std::to_string(device.serial) +
                                    ") as " + name(other) + "; polling it once, through the first",
                                "duplicate:" + std::to_string(current_)});
      return;
    }
  }
  if (inverter.device != device) {
    inverter.device = device;
    inverter.logged_in = false;
    outbox_.emplace_back(Identified{current_, device});
  }
}

void Poller::on_login_reply(const InverterPacket& reply, PollerTime now) {
  Inverter& inverter = current();
  if (reply.error == error_bad_password) {
    inverter.logged_in = false;
    inverter.no_login_before = now + settings_.login_pause;
    outbox_.emplace_back(AuthFailed{current_, *inverter.no_login_before});
    request_.reset();
    inverter.turn.gave_up = true;
    return;
  }
  if (reply.error != 0) {
    inverter.turn.gave_up = true;
    return fail(RequestFailed::Why::device_error, reply.error);
  }
  request_.reset();
  inverter.logged_in = true;
  inverter.no_login_before.reset();
  inverter.unsupported.clear();
  inverter.silent_cycles.clear();
  outbox_.emplace_back(LoggedIn{current_});
  std::erase_if(inverter.turn.queue, [](Query q) { return row_of(q).use == QueryUse::per_login; });
  inverter.turn.queue.push_front(Query::type_label);  // read right after each login, before the rest
  inverter.turn.queue.push_front(Query::software_version);
}

void Poller::on_query_reply(const InverterPacket& reply, Answered& answered, PollerTime now) {
  Inverter& inverter = current();
  const Query query = *request_->query;
  if (reply.error == error_not_authenticated && (request_->repeated_after_login || inverter.turn.relogged)) {
    // The login does not hold: no more logins this turn (the next cycle tries once more).
    inverter.turn.gave_up = true;
    outbox_.emplace_back(Note{NoteLevel::warn, name(current_) + ": login lost again; trying next cycle",
                              "relogin:" + std::to_string(current_)});
    return fail(RequestFailed::Why::device_error, reply.error);
  }
  if (reply.error == error_not_authenticated) {
    // The login was lost: log in again, then repeat this query once.
    inverter.logged_in = false;
    inverter.turn.relogged = true;
    outbox_.emplace_back(Note{NoteLevel::info, name(current_) + ": login lost; logging in again", ""});
    request_.reset();
    inverter.turn.queue.push_front(query);
    inverter.turn.repeat_after_login = query;
    return;
  }
  if (reply.error == error_unsupported) {
    mark_unsupported(query, "the device has no such registers (error 0x0015)");
    return fail(RequestFailed::Why::unsupported, reply.error);
  }
  if (reply.error != 0) return fail(RequestFailed::Why::device_error, reply.error);
  auto records = decode_records(reply);
  if (!records) return fail(RequestFailed::Why::malformed, 0, records.error());
  inverter.turn.data_answered = true;
  inverter.silent_cycles.erase(query);
  answered.records = std::move(*records);
  answered.decoded = true;
  if (reply.fragment > 0 && request_->fragments < max_fragments) {
    ++request_->fragments;
    request_->deadline = now + settings_.timeout;  // more datagrams of this reply follow
    return;
  }
  request_.reset();
}

void Poller::on_timeout() {
  Inverter& inverter = current();
  const Request request = *request_;
  fail(RequestFailed::Why::timed_out);
  if (request.step == Step::query) {
    inverter.turn.timed_out.insert(*request.query);
    // Silent since its turn began, through three queries it answered before: the device is gone
    // for now, and its other queries would only hold up the other inverters' turn. (Queries
    // already silent in earlier cycles may just be ones it does not have.)
    if (!inverter.silent_cycles.contains(*request.query)) ++inverter.turn.fresh_timeouts;
    if (!inverter.turn.answered && inverter.turn.fresh_timeouts >= silent_queries_gone) inverter.turn.gave_up = true;
    return;
  }
  inverter.turn.gave_up = true;  // no identity or no login: nothing more to ask this cycle
}

void Poller::mark_unsupported(Query query, const std::string& why) {
  current().unsupported.insert(query);
  outbox_.emplace_back(Note{NoteLevel::info,
                            name(current_) + ": " + std::string(row_of(query).name) + " unsupported until the next login: " + why,
                            ""});
}

void Poller::fail(RequestFailed::Why why, std::uint16_t error, std::string detail) {
  RequestFailed failed{.inverter = current_, .step = request_->step, .query = request_->query, .why = why,
                       .error = error, .detail = std::move(detail)};
  if (why == RequestFailed::Why::device_error && failed.detail.empty()) failed.detail = "device error " + hex4(error);
  outbox_.emplace_back(std::move(failed));
  request_.reset();
}

std::vector<Send> Poller::logoffs(PollerTime /*now*/) {
  std::vector<Send> out;
  for (std::size_t i = 0; i < inverters_.size(); ++i) {
    if (!inverters_[i].logged_in) continue;
    inverters_[i].logged_in = false;
    out.push_back(Send{i, build_logoff(settings_.source_serial, next_packet_id()), command_logoff, Step::login});
  }
  return out;
}

}  // namespace sunkeep::sma
