// Polling the SMA inverters.
#include "drivers/sma/inverters.hpp"

#include "protocol/sma/observation.hpp"
#include "protocol/sma/poller.hpp"
#include "server/clock.hpp"
#include "server/connection.hpp"
#include "server/poll_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

// The poll session writes the poller's Send (to the inverter it names), reads on its Wait and ends
// on its Close.
template <>
struct sunkeep::server::PollEvents<sunkeep::sma::Poller> {
  using Send = sma::Send;
  using Wait = sma::Wait;
  using Close = sma::Close;
};

namespace sunkeep::drivers {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::udp;
using server::now_ms;
using server::tuple_awaitable;

namespace {

constexpr std::size_t max_pending_frames = 32;
constexpr std::chrono::seconds socket_retry_pause{30};
const auto discovery_group = asio::ip::make_address_v4("239.12.255.254");
constexpr std::uint16_t sma_port = 9522;

sma::UserGroup group_of(config::SmaUserGroup group) {
  return group == config::SmaUserGroup::installer ? sma::UserGroup::installer : sma::UserGroup::user;
}

const char* group_name(config::SmaUserGroup group) { return group == config::SmaUserGroup::installer ? "installer" : "user"; }

spdlog::level::level_enum level_of(sma::NoteLevel level) {
  switch (level) {
    case sma::NoteLevel::debug: return spdlog::level::debug;
    case sma::NoteLevel::info: return spdlog::level::info;
    case sma::NoteLevel::warn: return spdlog::level::warn;
  }
  return spdlog::level::info;
}

std::int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One configured inverter as this side knows it.
struct InverterState {
  config::SmaUserGroup group = config::SmaUserGroup::user;
  std::string peer;    // "host:port" for logs and the archive
  std::string serial;  // decimal, once identified
  std::vector<RawFrame> pending;  // archived once the device is known
  sma::InverterDecoder decoder;
};

class InverterPoll {
 public:
  InverterPoll(udp::socket socket, std::vector<udp::endpoint> peers, SmaShared& shared, std::uint32_t source_serial);
  static_assert(sma::multicast_group == server::UdpTransport::group_peer);

  // Polls until the task is cancelled (true) or the socket fails (false).
  awaitable<bool> run();

 private:
  awaitable<void> on_event(sma::PollerEvent&& event);
  awaitable<void> on_sent(const sma::Send& sent);
  awaitable<void> on_answered(sma::Answered&& answered);
  awaitable<void> on_identified(const sma::Identified& identified);
  awaitable<void> on_auth_failed(const sma::AuthFailed& failed);
  awaitable<void> on_unanswered(const sma::Unanswered& unanswered);
  awaitable<void> on_discovered(const sma::Discovered& discovered);
  // Archives a datagram that belongs to no device (discovery, strays).
  awaitable<void> archive_unowned(std::span<const std::uint8_t> datagram, FrameDirection direction, std::string peer);
  void on_failed(const sma::RequestFailed& failed);
  // Stores `seen` for inverter `index`: its frames wait until the inverter is identified.
  awaitable<void> commit(std::size_t index, Observation&& seen);
  [[nodiscard]] Observation observation(std::size_t index) const;
  void log_off();

  SmaShared& shared_;
  server::UdpTransport transport_;
  std::vector<InverterState> inverters_;
  sma::Poller poller_;
};

sma::InverterLogin login_of(config::SmaUserGroup configured, const std::string& password) {
  const auto group = group_of(configured);
  const auto encoded = sma::encode_password(password, group);
  // check-config refuses a password that cannot be encoded; an empty one stands in for it here.
  return {group, encoded ? *encoded : *sma::encode_password("", group)};
}

std::vector<sma::InverterLogin> logins_of(const config::SmaConfig& config) {
  std::vector<sma::InverterLogin> logins;
  for (const auto& inverter : config.inverters) {
    logins.push_back(login_of(config.group_of(inverter), config.password_of(inverter)));
  }
  return logins;
}

sma::PollerSettings settings_of(const config::SmaConfig& config, std::uint32_t source_serial) {
  return {.poll_interval = config.poll_interval,
          .timeout = config.timeout,
          .retries = config.retries,
          .discovery = config.discovery,
          .source_serial = source_serial,
          .unix_seconds_at_start = unix_seconds_now()};
}

InverterPoll::InverterPoll(udp::socket socket, std::vector<udp::endpoint> peers, SmaShared& shared,
                           std::uint32_t source_serial)
    : shared_(shared),
      transport_(std::move(socket), std::move(peers),
                 shared.config.discovery ? std::optional(udp::endpoint(discovery_group, sma_port)) : std::nullopt),
      poller_(settings_of(shared.config, source_serial), logins_of(shared.config), server::PollClock::now()) {
  for (const auto& inverter : shared.config.inverters) {
    InverterState state;
    state.group = shared.config.group_of(inverter);
    state.peer = inverter.host + ":" + std::to_string(inverter.port);
    inverters_.push_back(std::move(state));
  }
}

awaitable<bool> InverterPoll::run() {
  auto handler = [this](sma::PollerEvent&& event) { return on_event(std::move(event)); };
  const server::PollEnd end = co_await server::run_poll_session(poller_, transport_, handler);
  const bool failed = end.cause == server::PollEnd::Cause::read_failed || end.cause == server::PollEnd::Cause::write_failed;
  if (failed) spdlog::error("sma: the inverter socket failed ({}); a new one follows", end.error.message());
  log_off();
  transport_.close();
  co_return !failed;
}

// Best effort and without waiting: the task is ending.
void InverterPoll::log_off() {
  for (const sma::Send& logoff : poller_.logoffs(server::PollClock::now())) {
    boost::system::error_code error;
    const auto& peer = inverters_[logoff.inverter].peer;
    transport_.socket().send_to(asio::buffer(logoff.datagram), transport_.peer(logoff.inverter), 0, error);
    spdlog::info("sma {}: logged off{}", peer, error ? " (send failed: " + error.message() + ")" : "");
  }
}

awaitable<void> InverterPoll::on_event(sma::PollerEvent&& event) {
  auto& counters = shared_.counters;
  if (const auto* sent = std::get_if<sma::Send>(&event)) {
    co_await on_sent(*sent);
  } else if (auto* answered = std::get_if<sma::Answered>(&event)) {
    co_await on_answered(std::move(*answered));
  } else if (const auto* discovered = std::get_if<sma::Discovered>(&event)) {
    co_await on_discovered(*discovered);
  } else if (const auto* identified = std::get_if<sma::Identified>(&event)) {
    co_await on_identified(*identified);
  } else if (const auto* logged_in = std::get_if<sma::LoggedIn>(&event)) {
    ++counters.logins_ok;
    spdlog::info("sma {}: logged in", inverters_[logged_in->inverter].peer);
  } else if (const auto* failed = std::get_if<sma::AuthFailed>(&event)) {
    co_await on_auth_failed(*failed);
  } else if (const auto* request_failed = std::get_if<sma::RequestFailed>(&event)) {
    on_failed(*request_failed);
  } else if (const auto* unanswered = std::get_if<sma::Unanswered>(&event)) {
    co_await on_unanswered(*unanswered);
  } else if (std::holds_alternative<sma::CycleStarted>(event)) {
    for (auto& inverter : inverters_) inverter.decoder.cycle_started();
  } else if (const auto* silent = std::get_if<sma::InverterSilent>(&event)) {
    const auto& inverter = inverters_[silent->inverter];
    if (shared_.log_once.first("sma-silent:" + inverter.peer)) spdlog::warn("sma {}: no answer this cycle", inverter.peer);
  } else if (const auto* note = std::get_if<sma::Note>(&event)) {
    if (note->once_key.empty() || shared_.log_once.first("sma-note:" + note->once_key)) {
      spdlog::log(level_of(note->level), "sma: {}", note->text);
    }
  } else if (const auto* close = std::get_if<sma::Close>(&event)) {
    spdlog::info("sma: {}", close->text);
  }
}

Observation InverterPoll::observation(std::size_t index) const {
  const InverterState& inverter = inverters_[index];
  return Observation{.vendor = std::string(sma::vendor_name),
                     .serial = inverter.serial,
                     .peer = inverter.peer,
                     .received = now_ms(),
                     .cadence_ms = shared_.config.poll_interval.count()};
}

awaitable<void> InverterPoll::commit(std::size_t index, Observation&& seen) {
  InverterState& inverter = inverters_[index];
  if (inverter.serial.empty()) {
    for (auto& frame : seen.frames) {
      if (inverter.pending.size() < max_pending_frames) inverter.pending.push_back(std::move(frame));
    }
    co_return;
  }
  const server::Committed committed = co_await shared_.observations.commit(std::move(seen));
  if (committed.error) {
    ++shared_.counters.commit_failures;
    spdlog::error("sma {}: not stored: {}", inverter.peer, committed.error.message());
  }
}

awaitable<void> InverterPoll::on_sent(const sma::Send& sent) {
  if (sent.inverter == sma::multicast_group) {
    std::string group = server::endpoint_text(discovery_group, sma_port);
    co_await archive_unowned(sent.datagram, FrameDirection::to_device, std::move(group));
    co_return;
  }
  Observation seen = observation(sent.inverter);
  seen.frames.push_back(sma::archived(sent.datagram, FrameDirection::to_device));
  co_await commit(sent.inverter, std::move(seen));
}

awaitable<void> InverterPoll::on_answered(sma::Answered&& answered) {
  ++shared_.counters.frames_received;
  InverterState& inverter = inverters_[answered.inverter];
  Observation seen = observation(answered.inverter);
  seen.frames.push_back(sma::archived(answered.datagram, FrameDirection::from_device));
  if (answered.query && answered.decoded) {
    ++shared_.counters.polls_answered;
    sma::Decoded decoded = inverter.decoder.decode(*answered.query, answered.records);
    seen.readings = std::move(decoded.readings);
    seen.events = std::move(decoded.events);
    seen.model = std::move(decoded.model);
    seen.firmware = std::move(decoded.firmware);
    if (!inverter.serial.empty()) shared_.liveness.heard(inverter.serial, seen.received, shared_.config.poll_interval);
  }
  co_await commit(answered.inverter, std::move(seen));
}

awaitable<void> InverterPoll::on_identified(const sma::Identified& identified) {
  InverterState& inverter = inverters_[identified.inverter];
  const std::string serial = std::to_string(identified.device.serial);
  if (!inverter.serial.empty() && inverter.serial != serial) {
    spdlog::warn("sma {}: now answers as sma:{} (was sma:{})", inverter.peer, serial, inverter.serial);
    shared_.liveness.forget(inverter.serial);
    inverter.decoder = {};  // the other device's class and status tags are not this one's
  }
  inverter.serial = serial;
  ++shared_.counters.identified;
  spdlog::info("sma {}: identified as sma:{} (SUSy-ID {})", inverter.peer, serial, identified.device.susy_id);
  Observation seen = observation(identified.inverter);
  seen.frames = std::move(inverter.pending);
  inverter.pending.clear();
  co_await commit(identified.inverter, std::move(seen));
}

awaitable<void> InverterPoll::on_auth_failed(const sma::AuthFailed& failed) {
  ++shared_.counters.logins_refused;
  InverterState& inverter = inverters_[failed.inverter];
  const char* group = group_name(inverter.group);
  const auto minutes = std::chrono::ceil<std::chrono::minutes>(failed.until - server::PollClock::now()).count();
  spdlog::warn("sma {}: the inverter refused the {} password; no login for {} min", inverter.peer, group, minutes);
  if (!inverter.serial.empty()) shared_.liveness.forget(inverter.serial);
  Observation seen = observation(failed.inverter);
  DeviceEvent event;
  event.source = "sma";
  event.code = "auth_failed";
  event.text = std::string("the inverter refused the ") + group + " password; no login for " + std::to_string(minutes) + " min";
  seen.events.push_back(std::move(event));
  co_await commit(failed.inverter, std::move(seen));
}

void InverterPoll::on_failed(const sma::RequestFailed& failed) {
  const InverterState& inverter = inverters_[failed.inverter];
  const std::string what = failed.query ? std::string(sma::row_of(*failed.query).name)
                           : failed.step == sma::Step::identify ? "identify"
                                                                : "login";
  if (failed.why == sma::RequestFailed::Why::timed_out) {
    if (failed.query) ++shared_.counters.polls_timed_out;
    spdlog::debug("sma {}: {}: no answer", inverter.peer, what);
    return;
  }
  if (failed.query) ++shared_.counters.polls_failed;
  if (shared_.log_once.first("sma-failed:" + inverter.peer + ":" + what + ":" + failed.detail)) {
    spdlog::info("sma {}: {}: {}", inverter.peer, what,
                 failed.detail.empty() ? "error " + std::to_string(failed.error) : failed.detail);
  }
}

awaitable<void> InverterPoll::on_unanswered(const sma::Unanswered& unanswered) {
  const std::string sender = server::endpoint_text(transport_.sender().address(), transport_.sender().port());
  if (!unanswered.well_formed) {
    ++shared_.counters.malformed;
    if (shared_.log_once.first("sma-malformed:" + sender)) spdlog::warn("sma: a datagram from {} dropped: {}", sender, unanswered.why);
    co_return;
  }
  ++shared_.counters.frames_received;
  ++shared_.counters.unexpected;
  co_await archive_unowned(unanswered.datagram, FrameDirection::from_device, sender);
}

awaitable<void> InverterPoll::archive_unowned(std::span<const std::uint8_t> datagram, FrameDirection direction,
                                              std::string peer) {
  Observation seen{.vendor = std::string(sma::vendor_name), .peer = std::move(peer), .received = now_ms()};
  seen.frames.push_back(sma::archived(datagram, direction));
  const server::Committed committed = co_await shared_.observations.commit(std::move(seen));
  if (committed.error) ++shared_.counters.commit_failures;
}

// A device that answered discovery: polled from now on unless its address is polled already.
awaitable<void> InverterPoll::on_discovered(const sma::Discovered& discovered) {
  ++shared_.counters.frames_received;
  const auto address = asio::ip::address_v4(discovered.address);
  std::string sender = server::endpoint_text(transport_.sender().address(), transport_.sender().port());
  co_await archive_unowned(discovered.datagram, FrameDirection::from_device, std::move(sender));
  const auto& peers = transport_.peers();
  if (std::any_of(peers.begin(), peers.end(), [&](const udp::endpoint& p) { return p.address() == address; })) co_return;
  const std::size_t index = poller_.add_inverter(login_of(shared_.config.user_group, shared_.config.password));
  const std::size_t peer = transport_.add_peer(udp::endpoint(address, sma_port));
  InverterState state;
  state.group = shared_.config.user_group;
  state.peer = server::endpoint_text(address, sma_port);
  inverters_.push_back(std::move(state));
  if (index != peer || index + 1 != inverters_.size()) {
    spdlog::error("sma: discovered inverter {} misnumbered; not polled", address.to_string());  // cannot happen
  }
  spdlog::info("sma: discovered an inverter at {}; polling it with the [sma] login", address.to_string());
}

// Discovery goes to the multicast group from the inverters' socket, out of `interface`.
void set_up_discovery(udp::socket& socket, const std::string& interface) {
  boost::system::error_code error;
  if (!interface.empty()) {
    socket.set_option(asio::ip::multicast::outbound_interface(asio::ip::make_address_v4(interface, error)), error);
  }
  if (!error) socket.set_option(asio::ip::multicast::hops(1), error);
  if (error) spdlog::warn("sma: discovery on interface {}: {}", interface.empty() ? "(system default)" : interface, error.message());
}

// Where each inverter is: a host that does not resolve stays unknown (its requests go nowhere and
// time out) and is named in the log.
awaitable<std::vector<udp::endpoint>> resolve_inverters(const config::SmaConfig& config) {
  udp::resolver resolver(co_await asio::this_coro::executor);
  std::vector<udp::endpoint> peers;
  for (const auto& inverter : config.inverters) {
    const std::string port = std::to_string(inverter.port);
    auto resolved = co_await resolver.async_resolve(udp::v4(), inverter.host, port, tuple_awaitable);
    if (std::get<0>(resolved) || std::get<1>(resolved).empty()) {
      spdlog::error("sma: inverter host {} does not resolve to an IPv4 address; it is not polled", inverter.host);
      peers.emplace_back();
      continue;
    }
    peers.push_back(std::get<1>(resolved).begin()->endpoint());
  }
  co_return peers;
}

// One socket's life: open, poll until the task is cancelled or the socket fails (false).
awaitable<bool> poll_from_one_socket(SmaShared& shared, std::uint32_t source_serial) {
  const auto executor = co_await asio::this_coro::executor;
  std::vector<udp::endpoint> peers = co_await resolve_inverters(shared.config);
  udp::socket socket(executor);
  boost::system::error_code error;
  socket.open(udp::v4(), error);
  if (!error) socket.bind(udp::endpoint(udp::v4(), 0), error);
  if (error) {
    spdlog::error("sma: cannot open a UDP socket for the inverters: {}", error.message());
    co_return false;
  }
  if (shared.config.discovery) set_up_discovery(socket, shared.config.interface);
  spdlog::info("sma: polling {} inverter(s) from UDP port {}", peers.size(), socket.local_endpoint(error).port());
  InverterPoll poll(std::move(socket), std::move(peers), shared, source_serial);
  co_return co_await poll.run();
}

// Polls until cancelled; a socket that fails is replaced after a pause (identify and login start
// afresh on the new one).
awaitable<void> poll_inverters(SmaShared& shared, std::uint32_t source_serial) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  while (!co_await poll_from_one_socket(shared, source_serial)) {
    if (co_await server::TaskGroup::cancelled()) break;
    pause.expires_after(socket_retry_pause);
    auto waited = co_await pause.async_wait(tuple_awaitable);
    if (std::get<0>(waited)) break;  // cancelled: shutting down
  }
}

}  // namespace

void spawn_sma_inverter_poller(asio::io_context& io, server::TaskGroup& tasks, SmaShared& shared,
                               std::uint32_t source_serial) {
  tasks.spawn(asio::make_strand(io), poll_inverters(shared, source_serial), "sma inverters");
}

}  // namespace sunkeep::drivers
