// AlphaESS → the vendor-neutral vocabulary: what one received frame (with the reply about to be
// sent) or one frame sunkeep sends on its own initiative (Resume) becomes as an Observation.
// Pure: the session calls it on its own thread, so the single writer thread only stores.
#pragma once

#include "common/observation.hpp"
#include "protocol/alphaess/frame.hpp"
#include "protocol/alphaess/messages.hpp"

#include <string>
#include <vector>

namespace sunkeep::alphaess {

inline constexpr const char* vendor_name = "alphaess";

// How often a device sends each kind of record (interfaces.md §4).
std::int64_t cadence_ms(RecordKind kind);

struct ReceivedFrame {
  std::string peer;
  UtcMillis received = 0;
  const Frame& frame;
  const Message& message;
  std::string connection_serial;       // "" until the connection names one
  bool binds_serial = false;           // this frame names the connection's serial for the first time
  std::vector<std::uint8_t> reply;     // the reply about to be sent (archived too), or empty
  const TimeZone* zone = nullptr;      // the device clock's
};

// The frame archived (password redacted), its reply, and what its message holds: records with
// their readings and fields hash, events, a configuration snapshot, a command answer. When the
// frame binds the serial, the ingest reports the newest telemetry record before it (for Resume).
Observation observe(const ReceivedFrame& in);

// A command frame sunkeep sends (Resume), archived and recorded as sent.
Observation observe_command_sent(const std::string& serial, const std::string& peer, UtcMillis sent,
                                 const std::vector<std::uint8_t>& bytes, const std::string& cmd_index,
                                 const std::string& command);

// The record kinds whose newest record is T_last for Resume.
inline constexpr int telemetry_kinds[] = {1, 2, 3};

}  // namespace sunkeep::alphaess
