// The in-memory overlay of committed samples not yet moved into the `sample` table.
#include "storage/recent_samples.hpp"

#include <algorithm>
#include <mutex>

namespace sunkeep::storage {

namespace {

bool earlier(const Point& p, UtcMillis t) { return p.t < t; }

bool holds_time(const std::vector<Point>& list, UtcMillis t) {
  const auto at = std::lower_bound(list.begin(), list.end(), t, earlier);
  return at != list.end() && at->t == t;
}

void append_range(const std::vector<Point>& list, UtcMillis from, UtcMillis to, std::vector<Point>& out) {
  const auto first = std::lower_bound(list.begin(), list.end(), from, earlier);
  const auto last = std::lower_bound(first, list.end(), to, earlier);
  out.insert(out.end(), first, last);
}

}  // namespace

void RecentSamples::publish(std::span<const SeriesPoint> points) {
  std::unique_lock lock(mutex_);
  for (const auto& [series, point] : points) {
    if (const auto frozen = frozen_.find(series); frozen != frozen_.end() && holds_time(frozen->second, point.t)) {
      continue;
    }
    auto& list = current_[series];
    if (list.empty() || list.back().t < point.t) {  // the usual case: time moves forward
      list.push_back(point);
    } else {
      const auto at = std::lower_bound(list.begin(), list.end(), point.t, earlier);
      if (at != list.end() && at->t == point.t) continue;
      list.insert(at, point);
    }
    ++size_;
  }
}

bool RecentSamples::freeze() {
  std::unique_lock lock(mutex_);
  if (!frozen_.empty() || current_.empty()) return false;
  frozen_.swap(current_);
  frozen_size_ = size_;
  return true;
}

std::vector<SeriesPoints> RecentSamples::frozen_slice(std::size_t max_points) const {
  std::shared_lock lock(mutex_);
  std::vector<SeriesPoints> out;
  std::size_t taken = 0;
  for (const auto& [series, list] : frozen_) {
    if (taken >= max_points) break;
    out.push_back({series, list});
    taken += list.size();
  }
  return out;
}

void RecentSamples::drop_frozen(std::span<const SeriesPoints> drained) {
  std::unique_lock lock(mutex_);
  for (const auto& s : drained) {
    const auto it = frozen_.find(s.series);
    if (it == frozen_.end()) continue;
    size_ -= it->second.size();
    frozen_size_ -= it->second.size();
    frozen_.erase(it);
  }
}

bool RecentSamples::draining() const {
  std::shared_lock lock(mutex_);
  return !frozen_.empty();
}

std::vector<Point> RecentSamples::points(std::int64_t series, UtcMillis from, UtcMillis to) const {
  std::shared_lock lock(mutex_);
  std::vector<Point> out;
  // publish() keeps a time in at most one generation, so the union is a merge of two sorted runs.
  if (const auto it = frozen_.find(series); it != frozen_.end()) append_range(it->second, from, to, out);
  const auto frozen_end = static_cast<std::ptrdiff_t>(out.size());
  if (const auto it = current_.find(series); it != current_.end()) append_range(it->second, from, to, out);
  std::inplace_merge(out.begin(), out.begin() + frozen_end, out.end(),
                     [](const Point& a, const Point& b) { return a.t < b.t; });
  return out;
}

std::optional<Point> RecentSamples::newest(std::int64_t series) const {
  std::shared_lock lock(mutex_);
  std::optional<Point> out;
  for (const Generation* g : {&frozen_, &current_}) {
    const auto it = g->find(series);
    if (it != g->end() && !it->second.empty() && (!out || it->second.back().t > out->t)) out = it->second.back();
  }
  return out;
}

std::size_t RecentSamples::size() const {
  std::shared_lock lock(mutex_);
  return size_;
}

std::size_t RecentSamples::unfrozen_size() const {
  std::shared_lock lock(mutex_);
  return size_ - frozen_size_;
}

}  // namespace sunkeep::storage
