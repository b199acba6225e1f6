// Overrides of the writer's tuning for tests and benchmarks, never needed in the field: the crash
// test shortens the drain interval and the log restart size so that its kills also land in drain
// steps, batch deletions and log restarts; latency benchmarks vary the drain's pacing and the
// checkpoints. The server reads them from the environment variable
// SUNKEEP_WRITER_TUNING, written "key=value,key=value" with the keys below (whole numbers;
// milliseconds for intervals, bytes for sizes).
#pragma once

#include "storage/writer.hpp"

#include <string_view>

namespace sunkeep::storage {

inline constexpr const char* writer_tuning_variable = "SUNKEEP_WRITER_TUNING";

// Keys: drain_interval_ms, drain_threshold, drain_slice_points, batch_delete_step,
// drain_pause_factor (at most 1000), wal_restart_bytes, wal_limit_bytes, checkpoint_interval_ms,
// short_checkpoint_ms, failure_pause_ms, max_failure_pause_ms, max_page_count (a database that
// cannot grow, as on a full disk). Throws std::invalid_argument naming the entry it cannot use.
WriterTuning override_tuning(WriterTuning tuning, std::string_view overrides);

}  // namespace sunkeep::storage
