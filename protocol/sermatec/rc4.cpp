// RC4 keystream for the key "Sermatec2019@Gsstes2019", computed once.
#include "protocol/sermatec/rc4.hpp"

#include "protocol/sermatec/frame.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace sunkeep::sermatec {

namespace {

constexpr std::string_view key = "Sermatec2019@Gsstes2019";

std::array<std::uint8_t, max_frame_size> make_keystream() {
  std::array<std::uint8_t, 256> s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(i);
  std::size_t j = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    j = (j + s[i] + static_cast<std::uint8_t>(key[i % key.size()])) & 0xFF;
    std::swap(s[i], s[j]);
  }
  std::array<std::uint8_t, max_frame_size> stream{};
  std::size_t a = 0;
  std::size_t b = 0;
  for (auto& out : stream) {
    a = (a + 1) & 0xFF;
    b = (b + s[a]) & 0xFF;
    std::swap(s[a], s[b]);
    out = s[(s[a] + s[b]) & 0xFF];
  }
  return stream;
}

const std::array<std::uint8_t, max_frame_size>& keystream() {
  static const auto stream = make_keystream();
  return stream;
}

}  // namespace

std::vector<std::uint8_t> rc4_apply(std::span<const std::uint8_t> bytes) {
  std::vector<std::uint8_t> out(bytes.begin(), bytes.end());
  const auto& stream = keystream();
  for (std::size_t i = 0; i < out.size() && i < stream.size(); ++i) out[i] = static_cast<std::uint8_t>(out[i] ^ stream[i]);
  return out;
}

std::span<const std::uint8_t> rc4_keystream() { return keystream(); }

}  // namespace sunkeep::sermatec
