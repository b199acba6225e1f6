// Samples that are committed and acknowledged but not yet in the `sample` table. The ack
// transaction appends each record's samples as one `sample_batch` row (an append touches a few
// pages, where one row per sample in `sample` touched a b-tree page per series) and the writer
// publishes them here after COMMIT. To move them into `sample`, the writer freezes what is here
// and drains the frozen generation a slice of series at a time, in small transactions between
// group commits, so the per-series pages are written once per drain instead of once per commit.
// Readers on other threads see the union of the tables and both generations.
#pragma once

#include "storage/sample_block.hpp"

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <vector>

namespace sunkeep::storage {

struct SeriesPoint {
  std::int64_t series = 0;
  Point point;
};

struct SeriesPoints {
  std::int64_t series = 0;
  std::vector<Point> points;
};

class RecentSamples {
 public:
  // Adds committed points. A point at a time the series already holds here is dropped: the first
  // stored value of a series and time is the one kept, as everywhere in storage.
  void publish(std::span<const SeriesPoint> points);

  // Starts a drain: what was published so far becomes the frozen generation. False (and nothing
  // changes) when a drain is under way or nothing was published.
  bool freeze();
  // Up to about `max_points` points of frozen series, whole series at a time.
  [[nodiscard]] std::vector<SeriesPoints> frozen_slice(std::size_t max_points) const;
  // Forgets frozen series once their points are committed in `sample`.
  void drop_frozen(std::span<const SeriesPoints> drained);
  [[nodiscard]] bool draining() const;

  // The points of `series` in [from, to), sorted by time.
  [[nodiscard]] std::vector<Point> points(std::int64_t series, UtcMillis from, UtcMillis to) const;
  [[nodiscard]] std::optional<Point> newest(std::int64_t series) const;
  [[nodiscard]] std::size_t size() const;
  // Points published since the last freeze.
  [[nodiscard]] std::size_t unfrozen_size() const;

 private:
  using Generation = std::unordered_map<std::int64_t, std::vector<Point>>;  // each sorted by time

  mutable std::shared_mutex mutex_;
  Generation current_;
  Generation frozen_;
  std::size_t size_ = 0;
  std::size_t frozen_size_ = 0;
};

}  // namespace sunkeep::storage
