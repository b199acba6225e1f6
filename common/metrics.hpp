// The server's one metrics registry: every counter, gauge and histogram the server keeps is made
// here (their constructors are private), so each one is exported by /metrics by construction
// (interfaces.md §3.1: "a counter that exists in code and not in /metrics is a bug"). Updates are
// lock-free atomics; registering takes a lock, so series are registered once, up front, except
// the few keyed by a device (looked up again only on rare events).
#pragma once

#include "common/prometheus_text.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::metrics {

class Registry;

class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  Counter& operator++() { add(); return *this; }
  Counter& operator+=(std::uint64_t n) { add(n); return *this; }
  [[nodiscard]] std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  friend class Registry;
  Counter() = default;
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
  Gauge& operator++() { add(1); return *this; }
  Gauge& operator--() { add(-1); return *this; }
  [[nodiscard]] std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  friend class Registry;
  Gauge() = default;
  std::atomic<std::int64_t> value_{0};
};

// Observations of durations in seconds, counted into cumulative buckets.
class Histogram {
 public:
  void observe(double seconds);
  [[nodiscard]] std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  friend class Registry;
  explicit Histogram(std::vector<double> bounds);
  void write(PrometheusText& out, std::string_view name, const Labels& labels) const;

  std::vector<double> bounds_;                            // upper bounds, ascending (+Inf implied)
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // one per bound, plus +Inf; not cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_nanoseconds_{0};
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The series of family `name` with these labels, made on first use. A family keeps the help
  // text and type it was first registered with; asking for it with another type throws
  // std::logic_error (a programming error).
  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, Labels labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds, Labels labels = {});
  // A gauge whose value `read` gives at each scrape (it must be cheap and thread-safe).
  void gauge_reading(std::string_view name, std::string_view help, Labels labels, std::function<double()> read);

  // Every family with its series, in the order first registered.
  void write(PrometheusText& out) const;
  [[nodiscard]] std::vector<std::string> family_names() const;

 private:
  struct Family;
  Family& family(std::string_view name, std::string_view help, MetricType type);

  mutable std::mutex mutex_;
  std::deque<Family> families_;
};

// `given`, or else a registry made into `own` (for parts used without a server: tests, tools).
Registry& given_or_own(Registry* given, std::unique_ptr<Registry>& own);

}  // namespace sunkeep::metrics
