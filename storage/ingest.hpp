// The one ingest path: stores an Observation (common/observation.hpp) inside the writer's
// transaction (raw frames first, then the device, its records, readings, events, configuration
// and commands) and fills in what only storage knows: the UTC time of each record and event
// stamped by the device clock (corrected by the device's clock offset) and each record's outcome.
#pragma once

#include "common/observation.hpp"
#include "storage/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sunkeep::storage {

struct IngestResult {
  std::optional<DeviceId> device;  // the observation's device, when it names one
  // The newest stored record of Observation::history_kinds before this observation.
  std::optional<LatestRecord> history_before;
  std::optional<std::int64_t> clock_offset_ms;  // the device's, after this observation
  int inserted = 0;
  int duplicates = 0;
  int conflicts = 0;
  std::vector<std::string> foreign_serials;  // records stored under a serial other than the observation's
};

// Runs on the writer thread inside a job; throws what the Store throws (the job then fails).
IngestResult ingest(Store& store, Observation& observation);

}  // namespace sunkeep::storage
