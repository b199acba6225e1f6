// OSIM frame helpers.
#include "protocol/sermatec/frame.hpp"

namespace sunkeep::sermatec {

std::uint8_t checksum(std::span<const std::uint8_t> header_and_payload) {
  std::uint8_t x = 0x0F;
  for (std::uint8_t b : header_and_payload) x = static_cast<std::uint8_t>(x ^ b);
  return x;
}

std::vector<std::uint8_t> frame_bytes(std::uint8_t source, std::uint8_t destination, std::uint8_t code,
                                      std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out;
  out.reserve(header_size + payload.size() + trailer_size);
  for (std::uint8_t b : {start_1, start_2, source, destination, code, std::uint8_t{0}, static_cast<std::uint8_t>(payload.size())}) {
    out.push_back(b);
  }
  for (std::uint8_t b : payload) out.push_back(b);
  out.push_back(checksum(out));
  out.push_back(footer);
  return out;
}

}  // namespace sunkeep::sermatec
