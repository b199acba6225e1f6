// Waiting, bounded, for something another thread does.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace sunkeep::test {

// Waits up to `limit` for `condition`, checking every 10 ms.
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace sunkeep::test
