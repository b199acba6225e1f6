// Little building blocks of the storage encodings (sample, frame and record blocks, sample
// batches): LEB128 varints, zigzag signed integers, little-endian 64-bit words and doubles, and a
// bounds-checked reader.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace sunkeep::storage::coding {

inline std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Wrapping arithmetic for deltas: encode and decode agree modulo 2^64 for any values, and
// damaged bytes decode to wrong numbers, never to undefined behaviour.
inline std::int64_t wrapping_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
inline std::int64_t wrapping_sub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
inline std::int64_t wrapping_ms(std::int64_t seconds) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(seconds) * 1000U);
}

inline void put_varint(std::vector<std::uint8_t>& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

inline void put_u64(std::vector<std::uint8_t>& out, std::uint64_t bits) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
}

inline void put_double(std::vector<std::uint8_t>& out, double value) { put_u64(out, std::bit_cast<std::uint64_t>(value)); }

// Reads what the put_ functions wrote; every read is nullopt past the end or on a bad varint.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  std::optional<std::uint64_t> varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) return std::nullopt;
      const std::uint8_t b = bytes_[pos_++];
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return std::nullopt;
  }
  std::optional<std::uint8_t> byte() {
    if (pos_ >= bytes_.size()) return std::nullopt;
    return bytes_[pos_++];
  }
  std::optional<std::uint64_t> raw_u64() {
    if (bytes_.size() - pos_ < 8) return std::nullopt;
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits |= static_cast<std::uint64_t>(bytes_[pos_++]) << (8 * i);
    return bits;
  }
  std::optional<double> raw_double() {
    const auto bits = raw_u64();
    if (!bits) return std::nullopt;
    return std::bit_cast<double>(*bits);
  }
  // The next `n` bytes, or nullopt when fewer are left.
  std::optional<std::span<const std::uint8_t>> bytes(std::uint64_t n) {
    if (n > remaining()) return std::nullopt;
    const auto out = bytes_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }
  [[nodiscard]] std::size_t remaining() const { return bytes_.size() - pos_; }
  [[nodiscard]] bool done() const { return pos_ == bytes_.size(); }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace sunkeep::storage::coding
