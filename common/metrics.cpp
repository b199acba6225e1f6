// The metrics registry.
#include "common/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <variant>

namespace sunkeep::metrics {

namespace {

using Reading = std::function<double()>;

}  // namespace

struct Registry::Family {
  struct Series {
    Labels labels;
    std::variant<Counter*, Gauge*, Histogram*, Reading> metric;
  };
  std::string name;
  std::string help;
  MetricType type = MetricType::counter;
  std::vector<Series> series;
  // The metrics themselves, at stable addresses.
  std::vector<std::unique_ptr<Counter>> counters;
  std::vector<std::unique_ptr<Gauge>> gauges;
  std::vector<std::unique_ptr<Histogram>> histograms;

  Series* find(const Labels& labels) {
    const auto it = std::find_if(series.begin(), series.end(), [&](const Series& s) { return s.labels == labels; });
    return it == series.end() ? nullptr : &*it;
  }
};

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double seconds) {
  const auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), seconds) - bounds_.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanoseconds_.fetch_add(static_cast<std::uint64_t>(std::max(0.0, seconds) * 1e9), std::memory_order_relaxed);
}

void Histogram::write(PrometheusText& out, std::string_view name, const Labels& labels) const {
  const std::string bucket_name = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    with_le.back().second = i < bounds_.size() ? fmt::format("{}", bounds_[i]) : "+Inf";
    out.sample(bucket_name, with_le, cumulative);
  }
  out.sample(std::string(name) + "_sum", labels,
             static_cast<double>(sum_nanoseconds_.load(std::memory_order_relaxed)) / 1e9);
  out.sample(std::string(name) + "_count", labels, cumulative);
}

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::family(std::string_view name, std::string_view help, MetricType type) {
  const auto it = std::find_if(families_.begin(), families_.end(), [name](const Family& f) { return f.name == name; });
  if (it == families_.end()) {
    families_.push_back({.name = std::string(name), .help = std::string(help), .type = type});
    return families_.back();
  }
  if (it->type != type) throw std::logic_error("metric family " + std::string(name) + " registered with two types");
  return *it;
}

Counter& Registry::counter(std::string_view name, std::string_view help, Labels labels) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, MetricType::counter);
  if (auto* s = f.find(labels)) return *std::get<Counter*>(s->metric);
  Counter& made = *f.counters.emplace_back(new Counter());
  f.series.push_back({std::move(labels), &made});
  return made;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, Labels labels) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, MetricType::gauge);
  if (auto* s = f.find(labels); s && std::holds_alternative<Gauge*>(s->metric)) return *std::get<Gauge*>(s->metric);
  Gauge& made = *f.gauges.emplace_back(new Gauge());
  f.series.push_back({std::move(labels), &made});
  return made;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, std::vector<double> bounds, Labels labels) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, MetricType::histogram);
  if (auto* s = f.find(labels)) return *std::get<Histogram*>(s->metric);
  Histogram& made = *f.histograms.emplace_back(new Histogram(std::move(bounds)));
  f.series.push_back({std::move(labels), &made});
  return made;
}

void Registry::gauge_reading(std::string_view name, std::string_view help, Labels labels, std::function<double()> read) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, MetricType::gauge);
  if (f.find(labels)) throw std::logic_error("gauge " + std::string(name) + " registered twice");
  f.series.push_back({std::move(labels), std::move(read)});
}

void Registry::write(PrometheusText& out) const {
  const std::lock_guard lock(mutex_);
  for (const Family& f : families_) {
    out.family(f.name, f.help, f.type);
    for (const auto& s : f.series) {
      if (const auto* c = std::get_if<Counter*>(&s.metric)) {
        out.sample(f.name, s.labels, (*c)->value());
      } else if (const auto* g = std::get_if<Gauge*>(&s.metric)) {
        out.sample(f.name, s.labels, (*g)->value());
      } else if (const auto* h = std::get_if<Histogram*>(&s.metric)) {
        (*h)->write(out, f.name, s.labels);
      } else {
        out.sample(f.name, s.labels, std::get<Reading>(s.metric)());
      }
    }
  }
}

std::vector<std::string> Registry::family_names() const {
  const std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const Family& f : families_) names.push_back(f.name);
  return names;
}

Registry& given_or_own(Registry* given, std::unique_ptr<Registry>& own) {
  if (given != nullptr) return *given;
  if (!own) own = std::make_unique<Registry>();
  return *own;
}

}  // namespace sunkeep::metrics
