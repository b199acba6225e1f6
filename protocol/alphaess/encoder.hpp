// What sunkeep may send to an AlphaESS device: Success acks and Resume, nothing else
// (alphaess.md §5.4). OutboundFrame can only be made by the builders below, and the session's
// send path accepts nothing but an OutboundFrame, so every other command is unrepresentable.
#pragma once

#include "common/civil_time.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::alphaess {

// Serialises F1=1, F2, F3, LEN, payload and the CRC. Used for the raw archive and by test peers;
// the result is plain bytes that the server has no way to send.
std::vector<std::uint8_t> frame_bytes(std::uint8_t f2, std::uint8_t command, std::string_view payload);

// The parameters of a Resume (alphaess.md §5.5).
struct ResumeRequest {
  std::uint32_t cmd_index = 0;  // milliseconds since UTC midnight at sending time, < 86,400,000
  CivilTime from;               // T_last as the device stored it (device-local clock reading)
  std::int64_t gap_minutes = 0; // floor((device now − T_last) / 60 s), ≥ 0
};

class OutboundFrame {
 public:
  [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return bytes_; }
  [[nodiscard]] std::uint8_t f2() const { return bytes_[1]; }
  [[nodiscard]] std::uint8_t command() const { return bytes_[2]; }

  // `1,2,<command>` with payload {"Status":"Success"}: the reply to any device-initiated frame,
  // command 3 included (never any configuration key).
  friend OutboundFrame make_success_ack(std::uint8_t command);
  // `1,1,8` {"CmdIndex":…,"Command":"Resume","Parameter1":…,"Parameter2":…}.
  // Throws std::invalid_argument for an out-of-range CmdIndex, gap or date.
  friend OutboundFrame make_resume(const ResumeRequest& request);

 private:
  explicit OutboundFrame(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {}
  std::vector<std::uint8_t> bytes_;
};

OutboundFrame make_success_ack(std::uint8_t command);
OutboundFrame make_resume(const ResumeRequest& request);

// The payload of a Resume as the encoder writes it (compact, fixed key order).
std::string resume_payload(const ResumeRequest& request);

}  // namespace sunkeep::alphaess
