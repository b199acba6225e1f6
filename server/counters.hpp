// Server counters, readable from any thread (for logs now, the /metrics endpoint later).
#pragma once

#include "server/rejection_summary.hpp"

#include <array>
#include <atomic>
#include <cstdint>

namespace sunkeep::server {

struct AlphaEssCounters {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> frames_received{0};
  std::atomic<std::uint64_t> acks_sent{0};
  std::atomic<std::uint64_t> records_stored{0};
  std::atomic<std::uint64_t> duplicate_records{0};
  std::atomic<std::uint64_t> conflicting_records{0};
  std::atomic<std::uint64_t> decode_errors{0};
  std::atomic<std::uint64_t> unknown_commands{0};
  std::atomic<std::uint64_t> serial_mismatches{0};
  std::atomic<std::uint64_t> resumes_sent{0};
  std::atomic<std::uint64_t> commit_failures{0};
  std::atomic<std::uint64_t> idle_timeouts{0};
  // Indexed by alphaess::RejectReason.
  std::array<std::atomic<std::uint64_t>, 4> rejections{};
  // Per peer and reason, as health lists them (loaded from the database at start).
  RejectionSummary rejection_summary;
};

}  // namespace sunkeep::server
