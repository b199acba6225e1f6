// Site energy per period.
#include "site/energy.hpp"

#include <algorithm>
#include <array>

namespace sunkeep::site {

namespace {

// The period a value ends: edges[k] < t ≤ edges[k+1] (its rise belongs there).
std::optional<std::size_t> period_ended_by(std::span<const UtcMillis> edges, UtcMillis t) {
  const auto it = std::lower_bound(edges.begin(), edges.end(), t);
  if (it == edges.begin() || it == edges.end()) return std::nullopt;
  return static_cast<std::size_t>(it - edges.begin()) - 1;
}

// The half-open period holding `t`: edges[k] ≤ t < edges[k+1].
std::optional<std::size_t> period_holding(std::span<const UtcMillis> edges, UtcMillis t) {
  const auto it = std::upper_bound(edges.begin(), edges.end(), t);
  if (it == edges.begin() || it == edges.end()) return std::nullopt;
  return static_cast<std::size_t>(it - edges.begin()) - 1;
}

}  // namespace

CounterRises::CounterRises(std::vector<UtcMillis> edges)
    : edges_(std::move(edges)), periods_(edges_.size() > 1 ? edges_.size() - 1 : 0) {}

void CounterRises::add(std::span<const Point> points, UtcMillis decide_before) {
  for (std::size_t i = 0; i < points.size() && points[i].t < decide_before; ++i) {
    const Point& p = points[i];
    note_presence(p.t);
    if (!previous_ || p.value >= previous_->value) {
      if (previous_) attribute(p.t, p.value - previous_->value);
      previous_ = p;
    } else if (!glitch(points, i)) {
      attribute(p.t, 0);  // a reset: the counter starts again from here, the drop adds nothing
      previous_ = p;
    }
  }
}

bool CounterRises::glitch(std::span<const Point> points, std::size_t i) const {
  const UtcMillis until = points[i].t + glitch_window_ms;
  for (std::size_t j = i + 1; j < points.size() && points[j].t <= until; ++j) {
    if (points[j].value >= previous_->value) return true;
  }
  return false;
}

// A period has data when a value falls inside it or a value ends it after another (a rise, or
// none): a lone value at a midnight alone does not make a day of data of either day.
void CounterRises::note_presence(UtcMillis t) {
  if (!first_) first_ = t;
  last_ = t;
  if (const auto k = period_holding(edges_, t); k && edges_[*k] < t) periods_[*k].has_data = true;
}

void CounterRises::attribute(UtcMillis t, double rise) {
  if (const auto k = period_ended_by(edges_, t)) {
    periods_[*k].amount += rise;
    periods_[*k].has_data = true;
  }
}

std::vector<PeriodAmount> CounterRises::periods() const {
  std::vector<PeriodAmount> out = periods_;
  for (std::size_t k = 0; k < out.size(); ++k) {
    out[k].value_at_start = first_ && *first_ <= edges_[k];
    out[k].value_at_end = last_ && *last_ >= edges_[k + 1];
  }
  return out;
}

std::vector<PeriodAmount> daily_final_values(std::span<const Point> day_finals, std::span<const UtcMillis> day_edges,
                                             std::span<const UtcMillis> period_edges) {
  const std::size_t periods = period_edges.size() > 1 ? period_edges.size() - 1 : 0;
  std::vector<PeriodAmount> out(periods);
  std::vector<std::size_t> days_in(periods, 0);
  std::vector<std::size_t> days_with_value(periods, 0);
  for (std::size_t d = 0; d + 1 < day_edges.size(); ++d) {
    if (const auto k = period_holding(period_edges, day_edges[d])) ++days_in[*k];
  }
  for (const Point& final_value : day_finals) {
    const auto k = period_holding(period_edges, final_value.t);
    if (!k) continue;
    out[*k].amount += final_value.value;
    out[*k].has_data = true;
    ++days_with_value[*k];
  }
  for (std::size_t k = 0; k < periods; ++k) {
    out[k].value_at_start = out[k].value_at_end = days_in[k] > 0 && days_with_value[k] == days_in[k];
  }
  return out;
}

namespace {

// A category's total in period k; nullopt when it is not known or a source has no counter.
std::optional<double> total(const EnergyCategory& category, std::size_t k) {
  if (!category.known || category.counters.empty() || category.source_without_counter) return std::nullopt;
  double sum = 0;
  for (const auto& counter : category.counters) sum += counter[k].amount;
  return sum;
}

bool any_data(const EnergyCategory& category, std::size_t k) {
  return std::any_of(category.counters.begin(), category.counters.end(), [k](const auto& c) { return c[k].has_data; });
}

bool edges_covered(const EnergyCategory& category, std::size_t k) {
  if (category.known && category.source_without_counter) return false;
  return std::all_of(category.counters.begin(), category.counters.end(),
                     [k](const auto& c) { return c[k].value_at_start && c[k].value_at_end; });
}

}  // namespace

std::vector<EnergyRow> energy_rows(const EnergyInputs& in, std::span<const UtcMillis> edges, UtcMillis now) {
  const std::array<const EnergyCategory*, 5> categories{&in.produced, &in.imported, &in.exported, &in.charged,
                                                        &in.discharged};
  std::vector<EnergyRow> rows;
  for (std::size_t k = 0; k + 1 < edges.size(); ++k) {
    if (std::none_of(categories.begin(), categories.end(), [k](const auto* c) { return any_data(*c, k); })) continue;
    EnergyRow row{.start = edges[k]};
    row.produced = total(in.produced, k);
    row.imported = total(in.imported, k);
    row.exported = total(in.exported, k);
    row.charged = total(in.charged, k);
    row.discharged = total(in.discharged, k);
    const bool any_known = row.produced || row.imported || row.exported || row.charged || row.discharged;
    // A category no device could give counts 0; one that should count and cannot makes it unknown.
    const bool all_counted =
        std::all_of(categories.begin(), categories.end(), [k](const auto* c) { return !c->known || total(*c, k); });
    if (!in.grid_unknown && any_known && all_counted) {
      row.consumed = row.produced.value_or(0) + row.imported.value_or(0) - row.exported.value_or(0) +
                     row.discharged.value_or(0) - row.charged.value_or(0);
    }
    if (row.consumed && *row.consumed > 0 && row.imported) {
      row.self_sufficiency = std::clamp(1.0 - *row.imported / *row.consumed, 0.0, 1.0);
    }
    row.complete = edges[k + 1] <= now &&
                   std::all_of(categories.begin(), categories.end(), [k](const auto* c) { return edges_covered(*c, k); });
    rows.push_back(row);
  }
  return rows;
}

}  // namespace sunkeep::site
