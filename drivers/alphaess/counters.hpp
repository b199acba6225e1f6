// What the AlphaESS driver counts, as series of the server's metrics registry (interfaces.md
// §3.1, label listener="alphaess"), readable from any thread.
#pragma once

#include "common/metrics.hpp"
#include "protocol/alphaess/frame_decoder.hpp"
#include "server/rejection_summary.hpp"

#include <array>

namespace sunkeep::drivers {

struct AlphaEssCounters {
  explicit AlphaEssCounters(metrics::Registry& metrics);

  metrics::Counter& frames_received;
  metrics::Counter& acks_sent;
  metrics::Counter& records_stored;
  metrics::Counter& duplicate_records;
  metrics::Counter& conflicting_records;
  metrics::Counter& decode_errors;
  metrics::Counter& unknown_commands;
  metrics::Counter& serial_mismatches;
  metrics::Counter& resumes_sent;
  metrics::Counter& commit_failures;
  metrics::Counter& idle_timeouts;
  // Indexed by alphaess::RejectReason.
  std::array<metrics::Counter*, 4> rejections{};
  // Per peer and reason, as health lists them (loaded from the database at start).
  server::RejectionSummary rejection_summary;
};

}  // namespace sunkeep::drivers
