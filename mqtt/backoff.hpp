// The reconnect back-off of mqtt.md §5: 1 s doubling to 60 s, each wait ±20 % jitter, back to
// 1 s once a connection has lasted 60 s.
#pragma once

#include <algorithm>
#include <chrono>

namespace sunkeep::mqtt {

class Backoff {
 public:
  static constexpr std::chrono::milliseconds first{1000};
  static constexpr std::chrono::milliseconds longest{60'000};
  static constexpr std::chrono::milliseconds stable{60'000};

  // The wait before the next attempt; `jitter` in [-1, 1] scales the ±20 %.
  std::chrono::milliseconds next(double jitter) {
    const auto base = current_;
    current_ = std::min(current_ * 2, longest);
    const double factor = 1.0 + 0.2 * std::clamp(jitter, -1.0, 1.0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * factor));
  }
  // A connection ended after lasting `lasted`: a stable one starts the back-off over.
  void connection_lasted(std::chrono::steady_clock::duration lasted) {
    if (lasted >= stable) current_ = first;
  }

 private:
  std::chrono::milliseconds current_ = first;
};

}  // namespace sunkeep::mqtt
