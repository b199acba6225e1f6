// The blocking SSE test client.
#include "tests/support/sse_client.hpp"

#include "tests/support/loopback.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace sunkeep::test {

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

milliseconds left_until(Clock::time_point deadline) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

}  // namespace

SseClient::SseClient(std::uint16_t port, const std::string& authorization, const std::string& target, int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  const sockaddr_in address = loopback(port);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("connect() failed");
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  request += "\r\n";
  if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    throw std::runtime_error("send() failed");
  }
  const auto deadline = Clock::now() + milliseconds(5000);
  std::size_t end = std::string::npos;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos && Clock::now() < deadline) {
    if (!read_some(left_until(deadline)) && closed_) break;
  }
  if (end == std::string::npos) throw std::runtime_error("no HTTP header came from /api/v1/live");
  header_ = buffer_.substr(0, end + 4);
  buffer_.erase(0, end + 4);
  status_ = static_cast<unsigned>(std::stoul(header_.substr(header_.find(' ') + 1, 3)));
}

SseClient::~SseClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool SseClient::read_some(milliseconds timeout) {
  if (closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char chunk[16 * 1024];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<SseEvent> SseClient::next(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const std::size_t end = buffer_.find("\n\n");
    if (end != std::string::npos) {
      const std::string block = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      SseEvent event;
      std::size_t start = 0;
      while (start <= block.size()) {
        const std::size_t stop = std::min(block.find('\n', start), block.size());
        const std::string line = block.substr(start, stop - start);
        if (line.starts_with(":")) event.data = line.substr(1);
        if (line.starts_with("event: ")) event.name = line.substr(7);
        if (line.starts_with("data: ")) event.data = line.substr(6);
        start = stop + 1;
      }
      return event;
    }
    if (Clock::now() >= deadline || (!read_some(left_until(deadline)) && closed_)) return std::nullopt;
  }
}

std::optional<SseEvent> SseClient::next_named(const std::string& name, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (auto event = next(left_until(deadline))) {
    if (event->name == name) return event;
  }
  return std::nullopt;
}

bool SseClient::wait_closed(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!closed_ && Clock::now() < deadline) {
    if (read_some(left_until(deadline))) buffer_.clear();
  }
  return closed_;
}

}  // namespace sunkeep::test
