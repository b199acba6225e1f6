// Writing the Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE` once per family,
// then its samples, label values and help text escaped, no timestamps.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sunkeep::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { counter, gauge, histogram };

class PrometheusText {
 public:
  // Starts a family; its samples follow.
  void family(std::string_view name, std::string_view help, MetricType type);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, std::uint64_t value);
  void sample(std::string_view name, const Labels& labels, std::int64_t value);

  void reserve(std::size_t bytes) { out_.reserve(bytes); }
  // Where the text ends now, and taking back what was written after such a mark.
  [[nodiscard]] std::size_t mark() const { return out_.size(); }
  void truncate(std::size_t mark) { out_.resize(mark); }

  [[nodiscard]] const std::string& text() const { return out_; }
  [[nodiscard]] std::string take() { return std::move(out_); }

 private:
  void series(std::string_view name, const Labels& labels);

  std::string out_;
};

}  // namespace sunkeep::metrics
