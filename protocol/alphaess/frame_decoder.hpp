// Incremental AlphaESS stream parser: fed whatever bytes a read returned, yields whole frames or
// the reason the stream must be dropped (alphaess.md §5.1).
#pragma once

#include "protocol/alphaess/frame.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace sunkeep::alphaess {

enum class RejectReason { tls_client_hello, bad_start_byte, length_over_cap, crc_mismatch };

const char* to_string(RejectReason reason);

// Why a stream was rejected, with what is safe to log (never the payload).
struct Rejection {
  RejectReason reason;
  std::uint8_t f1 = 0;
  std::uint8_t f2 = 0;
  std::uint8_t command = 0;
  std::uint32_t length = 0;
  bool header_complete = false;
  std::string leading_hex;  // up to 16 first bytes, only for TLS and a bad start byte

  [[nodiscard]] std::string describe() const;
};

struct NeedMoreBytes {};

using DecodeStep = std::variant<NeedMoreBytes, Frame, Rejection>;

class FrameDecoder {
 public:
  // `max_payload` is the cap on LEN (config `max_frame`), checked as soon as a header is complete.
  explicit FrameDecoder(std::uint32_t max_payload);

  // Appends bytes from the stream. Call next() until it returns NeedMoreBytes.
  void feed(std::span<const std::uint8_t> bytes);

  // The next complete frame, or NeedMoreBytes, or the rejection that ends the stream.
  // After a rejection the decoder stays rejected and discards everything.
  DecodeStep next();

  // Bytes received but not yet part of a complete frame.
  [[nodiscard]] std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  std::optional<Rejection> check_header(std::span<const std::uint8_t> pending) const;

  std::uint32_t max_payload_;
  std::vector<std::uint8_t> buffer_;
  std::size_t consumed_ = 0;
  bool at_stream_start_ = true;
  std::optional<Rejection> rejected_;
};

}  // namespace sunkeep::alphaess
