// AlphaESS → storage mapping: what one received frame becomes in the database. Runs as a writer
// job, so the raw archive, the decoded records, their samples and the ack about to be sent are
// committed together (alphaess.md §5.2, §5.6–§5.9).
#pragma once

#include "common/time_zone.hpp"
#include "protocol/alphaess/frame.hpp"
#include "protocol/alphaess/messages.hpp"
#include "storage/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sunkeep::server {

inline constexpr const char* alphaess_vendor = "alphaess";

// A telemetry record's hash and samples, worked out before the job reaches the writer thread.
struct PreparedRecord {
  std::int64_t fields_hash = 0;
  std::vector<storage::Sample> samples;
};

struct AlphaEssIngest {
  std::string peer;
  UtcMillis received = 0;
  alphaess::Frame frame;
  alphaess::Message message;
  std::string connection_serial;        // "" until the connection names one
  bool snapshot_history = false;        // this frame binds the connection to its serial
  std::vector<std::uint8_t> reply;      // the reply about to be sent (archived too), or empty
  const TimeZone* zone = nullptr;
  std::vector<PreparedRecord> prepared;  // one per telemetry record of `message`, by prepare_records()
};

// Fills `in.prepared` (JSON, hashing, numeric parsing): call it on the session's thread so the
// single writer thread only stores. ingest_alphaess() prepares what was not.
void prepare_records(AlphaEssIngest& in);

struct AlphaEssIngestResult {
  std::optional<storage::DeviceId> device;
  // Before this frame's records: the newest stored telemetry (for Resume) — only when snapshotting.
  std::optional<storage::LatestRecord> history_before;
  std::optional<std::int64_t> clock_offset_ms;  // after this frame
  int inserted = 0;
  int duplicates = 0;
  int conflicts = 0;
  int new_events = 0;
  std::vector<std::string> foreign_serials;    // records stored under an SN other than the connection's
};

// Stores the frame, its reply and what the message holds.
void ingest_alphaess(storage::Store& store, AlphaEssIngest& in, AlphaEssIngestResult& out);

// Archives a frame sunkeep sends on its own initiative (Resume) and records the command.
void record_alphaess_command(storage::Store& store, storage::DeviceId device, const std::string& peer,
                             UtcMillis sent, const std::vector<std::uint8_t>& bytes,
                             const std::string& cmd_index);

// The telemetry kinds whose newest record is T_last for Resume.
inline constexpr int telemetry_kinds[] = {1, 2, 3};

}  // namespace sunkeep::server
