// Builders for the only frames sunkeep sends on the AlphaESS link.
#include "protocol/alphaess/encoder.hpp"

#include "protocol/alphaess/crc16.hpp"
#include "protocol/alphaess/frame.hpp"

#include <stdexcept>

namespace sunkeep::alphaess {

namespace {
constexpr std::string_view success_payload = R"({"Status":"Success"})";
constexpr std::uint32_t ms_per_day = 86'400'000;
}  // namespace

std::vector<std::uint8_t> frame_bytes(std::uint8_t f2, std::uint8_t command, std::string_view payload) {
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::vector<std::uint8_t> out;
  out.reserve(header_size + payload.size() + crc_size);
  out.push_back(frame_start);
  out.push_back(f2);
  out.push_back(command);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(length >> shift));
  out.insert(out.end(), payload.begin(), payload.end());
  const std::uint16_t crc = crc16_modbus(out);
  out.push_back(static_cast<std::uint8_t>(crc >> 8));
  out.push_back(static_cast<std::uint8_t>(crc & 0xFF));
  return out;
}

OutboundFrame make_success_ack(std::uint8_t command) {
  return OutboundFrame(frame_bytes(static_cast<std::uint8_t>(FrameKind::reply), command, success_payload));
}

std::string resume_payload(const ResumeRequest& request) {
  if (request.cmd_index >= ms_per_day) throw std::invalid_argument("Resume CmdIndex out of range");
  if (request.gap_minutes < 0) throw std::invalid_argument("Resume gap is negative");
  if (!request.from.valid()) throw std::invalid_argument("Resume start time is not a valid date");
  return R"({"CmdIndex":")" + std::to_string(request.cmd_index) + R"(","Command":"Resume","Parameter1":")" +
         request.from.to_device_string() + R"(","Parameter2":")" + std::to_string(request.gap_minutes) +
         R"("})";
}

OutboundFrame make_resume(const ResumeRequest& request) {
  return OutboundFrame(frame_bytes(static_cast<std::uint8_t>(FrameKind::initiating),
                                   command::server_command, resume_payload(request)));
}

}  // namespace sunkeep::alphaess
