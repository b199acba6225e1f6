// Pacing and logging of one of the writer's background activities (drain, compaction, packing)
// while it keeps failing, e.g. for as long as the disk is full: after each failure the activity
// waits twice as long as after the one before, up to a limit, and the log gets one line when the
// failures start and one when they end, instead of a line per attempt many times a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace sunkeep::storage {

class FailureBackoff {
 public:
  using Clock = std::chrono::steady_clock;

  FailureBackoff(std::string activity, std::chrono::milliseconds first_pause, std::chrono::milliseconds max_pause)
      : activity_(std::move(activity)), first_pause_(first_pause), max_pause_(max_pause) {}

  // False while the pause after a failure lasts.
  [[nodiscard]] bool ready(Clock::time_point now) const { return failures_ == 0 || now >= retry_at_; }
  // When the activity may run again (meaningful while failing()).
  [[nodiscard]] Clock::time_point retry_at() const { return retry_at_; }
  [[nodiscard]] bool failing() const { return failures_ > 0; }
  [[nodiscard]] std::uint64_t failures() const { return failures_; }
  [[nodiscard]] std::chrono::milliseconds pause() const { return pause_; }
  // "<summary of the last failure> (<activity>)" while failing, "" otherwise.
  [[nodiscard]] std::string problem() const { return failing() ? summary_ + " (" + activity_ + ")" : std::string(); }

  // Logs the first failure of a run of them (`reason`, in full); every failure doubles the pause.
  // `summary` ("database or disk is full (0 KB free)") is what problem() shows.
  void failed(Clock::time_point now, const std::string& reason, std::string summary);
  // Logs the end of a run of failures.
  void succeeded(Clock::time_point now);

 private:
  std::string activity_;
  std::chrono::milliseconds first_pause_, max_pause_;
  std::chrono::milliseconds pause_{0};
  std::uint64_t failures_ = 0;
  std::string summary_;
  Clock::time_point first_failure_, retry_at_;
};

}  // namespace sunkeep::storage
