// Incremental AlphaESS stream parser.
#include "protocol/alphaess/frame_decoder.hpp"

#include "common/hex.hpp"
#include "protocol/alphaess/crc16.hpp"

#include <algorithm>
#include <cstdio>

namespace sunkeep::alphaess {

namespace {
constexpr std::uint8_t tls_handshake = 0x16;
constexpr std::uint8_t tls_major = 0x03;
constexpr std::size_t leading_bytes_logged = 16;

std::uint32_t read_length(std::span<const std::uint8_t> header) {
  return (std::uint32_t{header[3]} << 24) | (std::uint32_t{header[4]} << 16) |
         (std::uint32_t{header[5]} << 8) | std::uint32_t{header[6]};
}

std::string leading_hex(std::span<const std::uint8_t> pending) {
  return to_hex(pending.first(std::min(pending.size(), leading_bytes_logged)));
}
}  // namespace

const char* to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::tls_client_hello:
      return "tls_client_hello";
    case RejectReason::bad_start_byte:
      return "bad_start_byte";
    case RejectReason::length_over_cap:
      return "length_over_cap";
    case RejectReason::crc_mismatch:
      return "crc_mismatch";
  }
  return "unknown";
}

std::string Rejection::describe() const {
  std::string text;
  switch (reason) {
    case RejectReason::tls_client_hello:
      text = "device speaks TLS: newer encrypted firmware, not supported";
      break;
    case RejectReason::bad_start_byte:
      text = "first byte of frame is not 0x01";
      break;
    case RejectReason::length_over_cap:
      text = "payload length over max_frame";
      break;
    case RejectReason::crc_mismatch:
      text = "CRC mismatch";
      break;
  }
  if (header_complete) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " (F1=%u F2=%u F3=%u LEN=%u)", unsigned{f1}, unsigned{f2},
                  unsigned{command}, length);
    text += buf;
  }
  if (!leading_hex.empty()) text += " first bytes " + leading_hex;
  return text;
}

FrameDecoder::FrameDecoder(std::uint32_t max_payload) : max_payload_(max_payload) {}

void FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  if (rejected_) return;
  if (consumed_ > 0 && consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

std::optional<Rejection> FrameDecoder::check_header(std::span<const std::uint8_t> pending) const {
  if (pending[0] != frame_start) {
    // A ClientHello can only be told apart from a plain bad byte once its second byte is here.
    if (at_stream_start_ && pending[0] == tls_handshake && pending.size() < 2) return std::nullopt;
    Rejection r{.reason = RejectReason::bad_start_byte, .f1 = pending[0]};
    if (at_stream_start_ && pending[0] == tls_handshake && pending[1] == tls_major) {
      r.reason = RejectReason::tls_client_hello;
    }
    r.leading_hex = leading_hex(pending);
    return r;
  }
  if (pending.size() < header_size) return std::nullopt;
  const std::uint32_t length = read_length(pending);
  if (length > max_payload_) {
    return Rejection{.reason = RejectReason::length_over_cap, .f1 = pending[0], .f2 = pending[1],
                     .command = pending[2], .length = length, .header_complete = true};
  }
  return std::nullopt;
}

DecodeStep FrameDecoder::next() {
  if (rejected_) return *rejected_;
  const std::span<const std::uint8_t> pending(buffer_.data() + consumed_, buffer_.size() - consumed_);
  if (pending.empty()) return NeedMoreBytes{};
  if (auto rejection = check_header(pending)) {
    rejected_ = *rejection;
    buffer_.clear();
    buffer_.shrink_to_fit();
    consumed_ = 0;
    return *rejected_;
  }
  if (pending.size() < header_size) return NeedMoreBytes{};
  const std::uint32_t length = read_length(pending);
  const std::size_t frame_size = header_size + length + crc_size;
  if (pending.size() < frame_size) return NeedMoreBytes{};

  const std::uint16_t expected = crc16_modbus(pending.first(header_size + length));
  const std::uint16_t received = static_cast<std::uint16_t>(
      (pending[header_size + length] << 8) | pending[header_size + length + 1]);
  if (expected != received) {
    rejected_ = Rejection{.reason = RejectReason::crc_mismatch, .f1 = pending[0],
                          .f2 = pending[1], .command = pending[2], .length = length,
                          .header_complete = true};
    buffer_.clear();
    consumed_ = 0;
    return *rejected_;
  }
  Frame frame{.raw = std::vector<std::uint8_t>(pending.begin(), pending.begin() +
                                                   static_cast<std::ptrdiff_t>(frame_size))};
  consumed_ += frame_size;
  at_stream_start_ = false;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  return frame;
}

}  // namespace sunkeep::alphaess
