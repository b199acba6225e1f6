// Incremental OSIM stream parser.
#include "protocol/sermatec/frame_decoder.hpp"

#include "protocol/sermatec/rc4.hpp"

#include <algorithm>

namespace sunkeep::sermatec {

namespace {

constexpr std::uint8_t rc4_start_1 = 0x75;  // FE ⊕ keystream[0]
constexpr std::uint8_t rc4_start_2 = 0x9A;  // 55 ⊕ keystream[1]
constexpr std::size_t junk_logged = 64;

}  // namespace

void FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  if (buffer_.size() > buffer_cap) {
    // Keep the newest bytes; what is dropped is reported as junk by the next call.
    dropped_for_cap_ += buffer_.size() - buffer_cap;
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(buffer_.size() - buffer_cap));
  }
}

FrameDecoder::Candidate FrameDecoder::candidate_at(std::size_t i) const {
  if (i + 1 >= buffer_.size()) {
    // A lone last byte may still become a start.
    if (i < buffer_.size() && (buffer_[i] == start_1 || buffer_[i] == rc4_start_1)) return Candidate::plain;
    return Candidate::none;
  }
  if (buffer_[i] == start_1 && buffer_[i + 1] == start_2) return Candidate::plain;
  if (buffer_[i] == rc4_start_1 && buffer_[i + 1] == rc4_start_2) return Candidate::rc4;
  return Candidate::none;
}

std::variant<NeedMoreBytes, Frame, bool> FrameDecoder::try_frame(Candidate kind) const {
  if (buffer_.size() < header_size) return NeedMoreBytes{};
  const std::size_t peek = std::min(buffer_.size(), max_frame_size);
  std::vector<std::uint8_t> bytes(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(peek));
  if (kind == Candidate::rc4) bytes = rc4_apply(bytes);
  if (bytes[0] != start_1 || bytes[1] != start_2) return false;
  const std::size_t size = header_size + bytes[6] + trailer_size;
  if (buffer_.size() < size) return NeedMoreBytes{};
  if (bytes[size - 1] != footer || bytes[5] != 0) return false;
  bytes.resize(size);
  const std::uint8_t sum = checksum(std::span<const std::uint8_t>(bytes.data(), size - trailer_size));
  const bool ok = sum == bytes[size - 2];
  return Frame{std::move(bytes), ok, kind == Candidate::rc4};
}

Junk FrameDecoder::take_junk(std::size_t count) {
  Junk junk{count, std::vector<std::uint8_t>(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(std::min(count, junk_logged)))};
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(count));
  return junk;
}

DecodeStep FrameDecoder::next() {
  if (dropped_for_cap_ > 0) {
    Junk junk{dropped_for_cap_, {}};
    dropped_for_cap_ = 0;
    return junk;
  }
  if (buffer_.empty()) return NeedMoreBytes{};
  std::size_t start = 0;
  while (start < buffer_.size() && candidate_at(start) == Candidate::none) ++start;
  if (start > 0) return take_junk(start);
  const Candidate kind = candidate_at(0);
  if (buffer_.size() < 2) return NeedMoreBytes{};
  auto attempt = try_frame(kind);
  if (std::holds_alternative<NeedMoreBytes>(attempt)) return NeedMoreBytes{};
  if (auto* frame = std::get_if<Frame>(&attempt)) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(frame->raw.size()));
    return std::move(*frame);
  }
  return take_junk(1);  // not a frame after all: resynchronise after its first byte
}

void FrameDecoder::drop_partial() {
  if (buffer_.empty()) return;
  buffer_.erase(buffer_.begin());
  ++dropped_for_cap_;
}

}  // namespace sunkeep::sermatec
