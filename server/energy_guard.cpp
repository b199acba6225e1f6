// The lifetime-counter guard.
#include "server/energy_guard.hpp"

#include <spdlog/spdlog.h>

namespace sunkeep::server {

bool EnergyGuard::guards(std::string_view metric) { return metric.ends_with("_energy_total"); }

void EnergyGuard::load(const std::vector<storage::CounterGuardRow>& rows) {
  for (const auto& row : rows) {
    states_[{row.vendor, row.serial, row.metric}] = {.exposed = row.exposed, .below_since = row.below_since};
  }
}

double EnergyGuard::admit(const std::string& vendor, const std::string& serial, const std::string& metric,
                          double value, UtcMillis time) {
  const Key key{vendor, serial, metric};
  auto [it, first] = states_.try_emplace(key);
  State& state = it->second;
  if (first || value >= state.exposed) {
    if (first || value != state.exposed || state.below_since) state.changed = true;
    state.exposed = value;
    state.below_since.reset();
    return value;
  }
  if (state.below_since && time - *state.below_since >= reset_after_ms) {
    spdlog::info("{}:{}: {} stayed below {} for 24 h: taken as reset, now {}", vendor, serial, metric, state.exposed,
                 value);
    state = {.exposed = value, .below_since = std::nullopt, .changed = true};
    return value;
  }
  note_regression(key, state, value, time);
  return state.exposed;
}

std::optional<double> EnergyGuard::exposed(const std::string& vendor, const std::string& serial,
                                           const std::string& metric) const {
  const auto it = states_.find(Key{vendor, serial, metric});
  return it == states_.end() ? std::nullopt : std::optional(it->second.exposed);
}

void EnergyGuard::note_regression(const Key& key, State& state, double value, UtcMillis time) {
  const auto& [vendor, serial, metric] = key;
  ++metrics_.counter("sunkeep_energy_regressions_total",
                     "Lifetime counter values held back for being below the last value exposed.",
                     {{"device", vendor + ":" + serial}, {"vendor", vendor}, {"metric", metric}});
  if (state.below_since) return;
  state.below_since = time;
  state.changed = true;
  spdlog::warn("{}:{}: {} went back from {} to {}; held back until it recovers (or stays lower for 24 h)", vendor,
               serial, metric, state.exposed, value);
}

std::vector<storage::CounterGuardRow> EnergyGuard::take_changes() {
  std::vector<storage::CounterGuardRow> changes;
  for (auto& [key, state] : states_) {
    if (!state.changed) continue;
    const auto& [vendor, serial, metric] = key;
    changes.push_back({vendor, serial, metric, state.exposed, state.below_since});
    state.changed = false;
  }
  return changes;
}

}  // namespace sunkeep::server
