// Metric families that several drivers count into (interfaces.md §3.1), named once so that every
// driver registers them with the same help text.
#pragma once

namespace sunkeep::drivers::metric {

inline constexpr const char* frames_received = "sunkeep_frames_received_total";
inline constexpr const char* frames_received_help = "Frames received from devices.";
inline constexpr const char* frames_rejected = "sunkeep_frames_rejected_total";
inline constexpr const char* frames_rejected_help = "Connections closed for a frame that could not be framed, by reason.";
inline constexpr const char* acks_sent = "sunkeep_acks_sent_total";
inline constexpr const char* acks_sent_help = "Acknowledgements sent to devices, each after its frame was committed.";
inline constexpr const char* records_stored = "sunkeep_records_stored_total";
inline constexpr const char* records_stored_help = "Device records stored for the first time.";
inline constexpr const char* records_duplicate = "sunkeep_records_duplicate_total";
inline constexpr const char* records_duplicate_help = "Device records received again with the same content.";
inline constexpr const char* decode_errors = "sunkeep_decode_errors_total";
inline constexpr const char* decode_errors_help = "Frames or parts of frames not decoded (archived raw).";
inline constexpr const char* commit_failures = "sunkeep_commit_failures_total";
inline constexpr const char* commit_failures_help = "Device data that could not be committed (never acknowledged).";
inline constexpr const char* idle_timeouts = "sunkeep_idle_timeouts_total";
inline constexpr const char* idle_timeouts_help = "Connections closed for sending nothing within the idle limit.";
inline constexpr const char* polls = "sunkeep_polls_total";
inline constexpr const char* polls_help = "Read-only queries sent to polled devices, by result.";

}  // namespace sunkeep::drivers::metric
