// The /metrics page (interfaces.md §3.1): the per-device families from the latest-values cache
// (gauges only while the device is online and the value fresh, lifetime counters whenever known,
// after the counter guard), then every series of the metrics registry. From memory only.
#pragma once

#include "api/api.hpp"
#include "common/metrics.hpp"
#include "server/latest_values.hpp"

#include <atomic>
#include <cstddef>

namespace sunkeep::server {

class MetricsPage final : public api::MetricsSource {
 public:
  MetricsPage(const metrics::Registry& registry, const LatestValues& latest, const api::LiveStatus& live)
      : registry_(registry), latest_(latest), live_(live) {}

  [[nodiscard]] std::string metrics_text(UtcMillis now) const override;

 private:
  const metrics::Registry& registry_;
  const LatestValues& latest_;
  const api::LiveStatus& live_;
  // The last page's size and some: the next page is rendered into one allocation.
  mutable std::atomic<std::size_t> size_hint_{64 * 1024};
};

}  // namespace sunkeep::server
