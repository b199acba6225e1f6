// Byte access for the codecs of untrusted input: a bounds test, and little- and big-endian reads
// whose callers have made that test first.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

namespace sunkeep::bytes {

// True when `count` bytes from `at` lie inside `data`; never overflows.
inline bool holds(std::span<const std::uint8_t> data, std::size_t at, std::size_t count) {
  return at <= data.size() && count <= data.size() - at;
}

// The sizeof(T) bytes at `at`, least significant first. Precondition: holds(data, at, sizeof(T)).
template <std::unsigned_integral T>
T little_endian(std::span<const std::uint8_t> data, std::size_t at) {
  T value = 0;
  for (std::size_t i = sizeof(T); i > 0; --i) value = static_cast<T>((value << 8) | data[at + i - 1]);
  return value;
}

// The sizeof(T) bytes at `at`, most significant first. Precondition: holds(data, at, sizeof(T)).
template <std::unsigned_integral T>
T big_endian(std::span<const std::uint8_t> data, std::size_t at) {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value = static_cast<T>((value << 8) | data[at + i]);
  return value;
}

}  // namespace sunkeep::bytes
