// FailureBackoff: doubling pauses and a log line at each change of state.
#include "storage/failure_backoff.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace sunkeep::storage {

namespace {
double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

void FailureBackoff::failed(Clock::time_point now, const std::string& reason, std::string summary) {
  if (failures_ == 0) {
    first_failure_ = now;
    pause_ = first_pause_;
    spdlog::error("{} failed ({}); retrying after pauses doubling up to {:g} s, logged again when it works",
                  activity_, reason, seconds(max_pause_));
  } else {
    pause_ = std::min(max_pause_, pause_ * 2);
  }
  ++failures_;
  retry_at_ = now + pause_;
  summary_ = std::move(summary);
}

void FailureBackoff::succeeded(Clock::time_point now) {
  if (failures_ == 0) return;
  spdlog::info("{} works again, after {} failed attempts over {:.1f} s", activity_, failures_,
               seconds(now - first_failure_));
  failures_ = 0;
  pause_ = std::chrono::milliseconds(0);
}

}  // namespace sunkeep::storage
