// Remembers which messages were already logged, so repeated oddities are logged once.
#pragma once

#include <mutex>
#include <string>
#include <unordered_set>

namespace sunkeep::server {

class LogOnce {
 public:
  // True the first time `key` is seen. Bounded: after `limit` keys it stops remembering.
  bool first(const std::string& key) {
    std::lock_guard lock(mutex_);
    if (seen_.size() >= limit) return false;
    return seen_.insert(key).second;
  }

 private:
  static constexpr std::size_t limit = 100'000;
  std::mutex mutex_;
  std::unordered_set<std::string> seen_;
};

}  // namespace sunkeep::server
