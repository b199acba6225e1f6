// ConnectionLimiter: counting open connections per listener and per source address.
#include "server/connection_limiter.hpp"

#include <spdlog/spdlog.h>

namespace sunkeep::server {

ConnectionLimiter::ConnectionLimiter(std::string listener, config::ConnectionLimits limits, metrics::Registry* metrics)
    : listener_(std::move(listener)),
      limits_(limits),
      accepted_(metrics::given_or_own(metrics, own_metrics_)
                    .counter("sunkeep_connections_accepted_total", "Connections accepted under the listener's caps.",
                             {{"listener", listener_}})),
      refused_(metrics::given_or_own(metrics, own_metrics_)
                   .counter("sunkeep_connections_refused_total",
                            "Connections closed at once because a connection cap was reached.", {{"listener", listener_}})),
      open_gauge_(metrics::given_or_own(metrics, own_metrics_)
                      .gauge("sunkeep_connections_open", "Connections open now.", {{"listener", listener_}})) {}

std::shared_ptr<ConnectionLimiter::Slot> ConnectionLimiter::admit(const std::string& host, Clock::time_point now) {
  {
    std::lock_guard lock(mutex_);
    auto& from_host = open_per_host_[host];
    const bool listener_full = open_ >= limits_.max_connections;
    const bool host_full = from_host >= limits_.max_connections_per_host;
    if (!listener_full && !host_full) {
      ++from_host;
      ++open_;
      ++accepted_;
      ++open_gauge_;
      return std::make_shared<Slot>(shared_from_this(), host);
    }
    if (from_host == 0) open_per_host_.erase(host);
    ++refused_;
    if (!log_due(host, now)) return nullptr;
    const std::string cap = listener_full ? "max_connections = " + std::to_string(limits_.max_connections)
                                          : "max_connections_per_host = " + std::to_string(limits_.max_connections_per_host);
    spdlog::warn("{}: refusing connections from {}: {} reached (logged once a minute per host)", listener_, host, cap);
  }
  return nullptr;
}

bool ConnectionLimiter::log_due(const std::string& host, Clock::time_point now) {
  // At most 1024 hosts are remembered: those not logged for a minute are forgotten (looked for at
  // most once a second), and while all are recent, every other host shares one entry, so a flood
  // from many addresses gets one line a minute and neither memory nor a scan per refusal.
  constexpr std::size_t remembered_hosts = 1024;
  if (last_logged_.size() >= remembered_hosts && now >= next_sweep_) {
    std::erase_if(last_logged_, [now](const auto& entry) { return now - entry.second >= log_interval; });
    next_sweep_ = now + std::chrono::seconds(1);
  }
  const bool room = last_logged_.size() < remembered_hosts || last_logged_.contains(host);
  const auto [it, first] = last_logged_.try_emplace(room ? host : std::string(any_other_host), now);
  if (!first && now - it->second < log_interval) return false;
  it->second = now;
  return true;
}

void ConnectionLimiter::release(const std::string& host) {
  std::lock_guard lock(mutex_);
  --open_;
  --open_gauge_;
  const auto it = open_per_host_.find(host);
  if (it != open_per_host_.end() && --it->second == 0) open_per_host_.erase(it);
}

std::uint64_t ConnectionLimiter::refused() const { return refused_.value(); }

std::size_t ConnectionLimiter::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

}  // namespace sunkeep::server
