// The caps on a device listener's open connections (interfaces.md §2: `max_connections` per
// listener, `max_connections_per_host` per source address). A connection beyond them is closed at
// once; each host's refusals are logged at most once a minute, so a flood cannot fill the log.
#pragma once

#include "common/metrics.hpp"
#include "config/config.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sunkeep::server {

class ConnectionLimiter : public std::enable_shared_from_this<ConnectionLimiter> {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::minutes log_interval{1};

  // A connection's place under the caps, given back when the last copy is destroyed.
  class Slot {
   public:
    Slot(std::shared_ptr<ConnectionLimiter> limiter, std::string host)
        : limiter_(std::move(limiter)), host_(std::move(host)) {}
    ~Slot() { limiter_->release(host_); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    std::shared_ptr<ConnectionLimiter> limiter_;
    std::string host_;
  };

  // Counts into `metrics` (sunkeep_connections_{accepted_total,refused_total,open}{listener}),
  // or into a registry of its own.
  static std::shared_ptr<ConnectionLimiter> create(std::string listener, config::ConnectionLimits limits,
                                                   metrics::Registry* metrics = nullptr) {
    return std::shared_ptr<ConnectionLimiter>(new ConnectionLimiter(std::move(listener), limits, metrics));
  }

  // A slot for a new connection from `host`, or nullptr (counted, logged once a minute per host)
  // when either cap is reached.
  std::shared_ptr<Slot> admit(const std::string& host, Clock::time_point now = Clock::now());

  [[nodiscard]] std::uint64_t refused() const;
  [[nodiscard]] std::size_t open() const;

 private:
  ConnectionLimiter(std::string listener, config::ConnectionLimits limits, metrics::Registry* metrics);
  void release(const std::string& host);
  // Whether a refusal for `host` is logged now (the first in a minute).
  bool log_due(const std::string& host, Clock::time_point now);

  const std::string listener_;
  const config::ConnectionLimits limits_;
  std::unique_ptr<metrics::Registry> own_metrics_;  // when none was given
  metrics::Counter& accepted_;
  metrics::Counter& refused_;
  metrics::Gauge& open_gauge_;
  mutable std::mutex mutex_;
  std::size_t open_ = 0;
  std::unordered_map<std::string, std::uint32_t> open_per_host_;
  std::unordered_map<std::string, Clock::time_point> last_logged_;
  static constexpr std::string_view any_other_host = "*";  // not an address: the hosts beyond those remembered
  Clock::time_point next_sweep_;
};

}  // namespace sunkeep::server
