// A blocking Server-Sent Events client for integration tests: it opens /api/v1/live, reads the
// answer's header, then hands out events and comments one at a time, every wait bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace sunkeep::test {

struct SseEvent {
  std::string name;  // "" for a comment
  std::string data;  // the data line, or the comment's text
};

class SseClient {
 public:
  // `receive_buffer`: when > 0, the socket's receive buffer is made this small before connecting
  // (a client that stops reading then stalls the server's writes quickly).
  explicit SseClient(std::uint16_t port, const std::string& authorization = "", const std::string& target = "/api/v1/live",
                     int receive_buffer = 0);
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  [[nodiscard]] unsigned status() const { return status_; }
  [[nodiscard]] const std::string& header() const { return header_; }
  // The body read so far and not handed out yet (a refused stream's JSON error, for example).
  [[nodiscard]] const std::string& pending() const { return buffer_; }

  // The next event or comment, waiting at most `timeout`; nullopt when none came or the server closed.
  std::optional<SseEvent> next(std::chrono::milliseconds timeout);
  // The next event named `name` (others are skipped), within `timeout` in all.
  std::optional<SseEvent> next_named(const std::string& name, std::chrono::milliseconds timeout);
  // Whether the server closed the stream (what was sent before the close is still handed out).
  [[nodiscard]] bool closed() const { return closed_; }
  // Reads until the server closes, within `timeout`; true when it did.
  bool wait_closed(std::chrono::milliseconds timeout);

 private:
  // Reads what arrives within `timeout` into the buffer; false when nothing did.
  bool read_some(std::chrono::milliseconds timeout);

  int fd_ = -1;
  unsigned status_ = 0;
  std::string header_;
  std::string buffer_;
  bool closed_ = false;
};

}  // namespace sunkeep::test
