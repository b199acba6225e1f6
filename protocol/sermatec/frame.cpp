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
  std::vector<std::uint8_t> out{start_1, start_2, source, destination, code, 0x00,
                                static_cast<std::uint8_t>(payload.size())};
  out.insert(out.end(), payload.begin(), payload.end());
  out.push_back(checksum(out));
  out.push_back(footer);
  return out;
}

}  // namespace sunkeep::sermatec
