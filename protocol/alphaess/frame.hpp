// The AlphaESS frame: F1 F2 F3, a big-endian payload length, the payload and a CRC (alphaess.md §2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sunkeep::alphaess {

inline constexpr std::size_t header_size = 7;
inline constexpr std::size_t crc_size = 2;
inline constexpr std::uint8_t frame_start = 0x01;  // F1 of every valid frame

// F2: who started the exchange.
enum class FrameKind : std::uint8_t { initiating = 1, reply = 2 };

// Command codes (F3) with a known meaning.
namespace command {
inline constexpr std::uint8_t hello = 0;           // empty frame after login
inline constexpr std::uint8_t login = 2;
inline constexpr std::uint8_t serial_query = 3;    // device asks for its configuration
inline constexpr std::uint8_t config_upload = 4;
inline constexpr std::uint8_t five_minute = 5;
inline constexpr std::uint8_t server_command = 8;  // Resume and the verbs sunkeep never sends
inline constexpr std::uint8_t event_message = 9;
inline constexpr std::uint8_t history_csv = 12;
inline constexpr std::uint8_t realtime = 16;
}  // namespace command

// One complete frame as received, CRC already verified.
struct Frame {
  std::vector<std::uint8_t> raw;  // the whole frame, header to CRC

  [[nodiscard]] std::uint8_t f2() const { return raw[1]; }
  [[nodiscard]] std::uint8_t command() const { return raw[2]; }
  [[nodiscard]] bool is_initiating() const { return f2() == 1; }
  [[nodiscard]] bool is_reply() const { return f2() == 2; }
  [[nodiscard]] std::string_view payload() const {
    return {reinterpret_cast<const char*>(raw.data()) + header_size,
            raw.size() - header_size - crc_size};
  }
};

}  // namespace sunkeep::alphaess
