// Incremental OSIM stream parser (sermatec.md §2.4, §6.4): fed whatever a read returned, it
// yields frames (plain or RC4-wrapped, checksum flagged) and the junk it skipped, resynchronising
// on FE 55 (or its RC4 form 75 9A).
#pragma once

#include "protocol/sermatec/frame.hpp"

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

namespace sunkeep::sermatec {

struct NeedMoreBytes {};

// Bytes that are not part of any frame.
struct Junk {
  std::size_t count = 0;
  std::vector<std::uint8_t> first_bytes;  // at most 64, for the log
};

using DecodeStep = std::variant<NeedMoreBytes, Frame, Junk>;

class FrameDecoder {
 public:
  static constexpr std::size_t buffer_cap = 4096;

  void feed(std::span<const std::uint8_t> bytes);
  DecodeStep next();

  // True when the buffer holds the start of a frame that is not complete yet.
  [[nodiscard]] bool has_partial() const { return !buffer_.empty(); }
  // Gives up on an incomplete frame (it stayed incomplete past the answer timeout): its first
  // byte becomes junk and parsing resynchronises on what follows.
  void drop_partial();

 private:
  enum class Candidate { none, plain, rc4 };
  Candidate candidate_at(std::size_t i) const;
  // Tries the frame starting at buffer_[0]; nullopt = need more bytes, empty frame = not a frame.
  std::variant<NeedMoreBytes, Frame, bool> try_frame(Candidate kind) const;
  Junk take_junk(std::size_t count);

  std::vector<std::uint8_t> buffer_;
  std::size_t dropped_for_cap_ = 0;
};

}  // namespace sunkeep::sermatec
