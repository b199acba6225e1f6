// The connections refused per peer and reason, kept in memory as the `rejection` table holds
// them, so that health lists them without a query: loaded once at start, then noted where each
// rejection is written. Thread-safe.
#pragma once

#include "storage/history.hpp"

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::server {

class RejectionSummary {
 public:
  // Rows kept; past it a new (peer, reason) replaces the one refused longest ago.
  static constexpr std::size_t capacity = 1000;

  // The stored rows (e.g. HistoryReader::rejections()), replacing what is held.
  void load(std::vector<storage::RejectionItem> rows) {
    std::sort(rows.begin(), rows.end(), newer);
    if (rows.size() > capacity) rows.resize(capacity);
    std::lock_guard lock(mutex_);
    rows_ = std::move(rows);
  }

  // As Store::note_rejection counts it: one more for (peer, reason), the serial kept once known.
  void note(const std::string& peer_host, const std::string& reason, const std::optional<std::string>& serial,
            UtcMillis when) {
    std::lock_guard lock(mutex_);
    const auto same = std::find_if(rows_.begin(), rows_.end(), [&](const storage::RejectionItem& r) {
      return r.peer_host == peer_host && r.reason == reason;
    });
    if (same != rows_.end()) {
      ++same->count;
      same->last = when;
      if (serial) same->serial = serial;
      return;
    }
    if (rows_.size() >= capacity) rows_.erase(std::min_element(rows_.begin(), rows_.end(), older));
    rows_.push_back({peer_host, reason, serial, 1, when});
  }

  // Newest first, as health lists them.
  [[nodiscard]] std::vector<storage::RejectionItem> newest_first() const {
    std::vector<storage::RejectionItem> copy;
    {
      std::lock_guard lock(mutex_);
      copy = rows_;
    }
    std::stable_sort(copy.begin(), copy.end(), newer);
    return copy;
  }

 private:
  static bool newer(const storage::RejectionItem& a, const storage::RejectionItem& b) { return a.last > b.last; }
  static bool older(const storage::RejectionItem& a, const storage::RejectionItem& b) { return a.last < b.last; }

  mutable std::mutex mutex_;
  std::vector<storage::RejectionItem> rows_;
};

}  // namespace sunkeep::server
