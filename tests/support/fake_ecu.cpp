// The simulated APsystems ECU. One thread runs a poll() loop over the listening socket and the
// open connections, all non-blocking. The listening socket comes first in each poll() and closes
// are handled before accepts, so "closed one connection, then opened the next" is told apart from
// "opened the next while one was open" as the kernel saw it. Each poll() waits at most 10 ms, so
// the destructor stops the thread promptly.
#include "tests/support/fake_ecu.hpp"

#include "tests/support/eventually.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>
#include <string_view>

namespace sunkeep::test {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds tick{10};

// A non-blocking listening socket on 127.0.0.1:`port` (0 = any free port), or -1.
int open_listener(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  const sockaddr_in address = loopback(port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::uint16_t bound_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

long long millis(Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// `bytes` with '\n' and other non-printable bytes escaped, for messages.
std::string printable(std::string_view bytes) {
  static constexpr std::string_view digits = "0123456789ABCDEF";
  std::string out;
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u >= 0x7F) {
      out += "\\x";
      out += digits[u >> 4];
      out += digits[u & 0x0F];
    } else {
      out += c;
    }
  }
  return out;
}

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Why `request` (with its '\n') is not a well-formed request per §2, or nothing.
std::optional<std::string> request_problem(const std::string& request) {
  if (request.size() < 17 || request.compare(0, 5, "APS11") != 0) return "it does not start with APS11 + 8 characters";
  if (request.compare(request.size() - 4, 4, "END\n") != 0) return "it does not end with END\\n";
  const std::string length = request.substr(5, 4);
  if (!all_digits(length)) return "its length field is not 4 digits";
  if (std::stoul(length) != request.size() - 1) {
    return "its length field " + length + " is not its length " + std::to_string(request.size() - 1);
  }
  return std::nullopt;
}

bool sunkeep_sends(const std::string& code) { return code == "0001" || code == "0002" || code == "0030"; }

}  // namespace

struct FakeEcu::Connection {
  int fd = -1;
  std::size_t number = 0;     // 1 for the first connection accepted
  std::string inbox;          // received bytes not yet taken as a request
  bool peer_closed = false;   // the client closed (or reset) its side
  std::size_t requests = 0;   // requests taken on this connection
  bool replying = false;      // a reply is due or partly written
  std::vector<std::uint8_t> outbox;
  std::size_t sent = 0;
  Time due{};                 // when the next piece of the reply is written
  Time last_activity{};
};

EcuBehaviour typical_ecu() {
  EcuBehaviour b;
  b.replies["0001"] = {FakeEcu::from_fixture("openhab_ecub_systeminfo.bin")};
  b.replies["0002"] = {FakeEcu::from_fixture("openhab_ds3_realtime_20230727.bin"),
                       FakeEcu::from_fixture("openhab_ds3_realtime_20230731.bin")};
  b.replies["0030"] = {FakeEcu::from_fixture("openhab_signal.bin")};
  return b;
}

std::vector<std::uint8_t> FakeEcu::from_fixture(const std::string& file) {
  const std::string raw = fixture("apsystems/" + file);
  return {raw.begin(), raw.end()};
}

FakeEcu::FakeEcu(EcuBehaviour behaviour) : behaviour_(std::move(behaviour)) {
  listen_fd_ = open_listener(0);
  if (listen_fd_ < 0) throw std::runtime_error("fake ECU: cannot listen on a loopback TCP port");
  port_ = bound_port(listen_fd_);
  listening_ = true;
  thread_ = std::thread([this] { run(); });
}

FakeEcu::~FakeEcu() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void FakeEcu::set_locked_up(bool locked) {
  locked_up_ = locked;
  if (!eventually([&] { return listening_ == !locked; }, std::chrono::seconds(2))) {
    throw std::runtime_error(locked ? "fake ECU: did not lock up" : "fake ECU: cannot listen on its port again");
  }
}

// --- the loop ---

void FakeEcu::run() {
  std::vector<Connection> open;
  while (!stop_) {
    sync_listener();
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};  // poll() skips it while it is -1
    for (const auto& c : open) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), poll_timeout(open, Clock::now())) < 0 && errno != EINTR) break;
    const Time now = Clock::now();
    for (std::size_t i = 0; i < open.size(); ++i) {
      if (fds[i + 1].revents != 0) receive(open[i], now);
    }
    for (auto& c : open) advance(c, now);
    if ((fds[0].revents & POLLIN) != 0) accept_all(open, now);
    std::erase_if(open, [](const Connection& c) { return c.fd < 0; });
  }
  for (const auto& c : open) ::close(c.fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  listening_ = false;
}

void FakeEcu::sync_listener() {
  if (locked_up_ && listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  } else if (!locked_up_ && listen_fd_ < 0) {
    listen_fd_ = open_listener(port_);  // tried again next time round if the port is busy
  }
  listening_ = listen_fd_ >= 0;
}

int FakeEcu::poll_timeout(const std::vector<Connection>& open, Time now) const {
  Time wake = now + tick;
  for (const auto& c : open) {
    if (c.replying) wake = std::min(wake, c.due);
  }
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
  return static_cast<int>(std::max<decltype(wait)>(0, wait));
}

void FakeEcu::accept_all(std::vector<Connection>& open, Time now) {
  while (true) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    admit(open, fd, now);
  }
}

void FakeEcu::admit(std::vector<Connection>& open, int fd, Time now) {
  std::string others;
  std::size_t open_now = 1;
  for (const auto& c : open) {
    if (c.fd < 0) continue;
    ++open_now;
    others += (others.empty() ? "" : ", ") + std::to_string(c.number);
  }
  std::size_t number = 0;
  {
    std::lock_guard lock(mutex_);
    number = ++connections_;
    max_open_ = std::max(max_open_, open_now);
  }
  const std::string name = "connection " + std::to_string(number);
  if (open_now > 1 && behaviour_.strict) {
    record_violation(name + " was opened while connection " + others + " was still open; closed at once");
    ::close(fd);
    return;
  }
  if (open_now == 1 && last_close_ && behaviour_.min_pause.count() > 0 && now - *last_close_ < behaviour_.min_pause) {
    record_violation(name + " was opened " + std::to_string(millis(now - *last_close_)) +
                     " ms after the previous one closed (min_pause " + std::to_string(behaviour_.min_pause.count()) +
                     " ms)");
  }
  const int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  Connection c;
  c.fd = fd;
  c.number = number;
  c.last_activity = now;
  open.push_back(std::move(c));
}

// --- one connection ---

// Reads what has arrived. End of stream counts as the client closing, even a half-close
// (shutdown of its sending side): a reply still due is then not written.
void FakeEcu::receive(Connection& c, Time now) {
  std::array<char, 512> buffer{};
  while (!c.peer_closed) {
    const ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      c.inbox.append(buffer.data(), static_cast<std::size_t>(n));
      c.last_activity = now;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      c.peer_closed = true;
    }
  }
}

void FakeEcu::advance(Connection& c, Time now) {
  if (c.fd < 0) return;
  if (!c.replying && (!behaviour_.strict || c.requests == 0)) take_request(c, now);
  if (!inbox_acceptable(c)) return close_connection(c, now);
  if (c.replying && c.due <= now) write_piece(c, now);
  if (c.fd >= 0 && c.peer_closed) return close_connection(c, now);
  if (c.fd >= 0 && !c.replying && now - c.last_activity >= behaviour_.idle_limit) {
    {
      std::lock_guard lock(mutex_);
      ++idle_closes_;
    }
    close_connection(c, now);
  }
}

void FakeEcu::take_request(Connection& c, Time now) {
  const std::size_t end = c.inbox.find('\n');
  if (end == std::string::npos || end + 1 > max_request) return;
  const std::string request = c.inbox.substr(0, end + 1);
  c.inbox.erase(0, end + 1);
  ++c.requests;
  const std::string code = request.size() >= 13 ? request.substr(9, 4) : std::string();
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    codes_.push_back(code);
  }
  const std::string name = "request " + printable(request) + " on connection " + std::to_string(c.number);
  if (const auto problem = request_problem(request)) {
    record_violation(name + " is malformed: " + *problem);
  }
  if (!sunkeep_sends(code)) {
    record_violation(name + " has command " + code + "; sunkeep sends only 0001, 0002 and 0030");
  }
  if (const auto* reply = next_reply(code)) {
    c.outbox = *reply;
    c.sent = 0;
    c.replying = true;
    c.due = now + behaviour_.reply_delay;
  }
}

// False (after recording why) when the connection must be closed for what it received.
bool FakeEcu::inbox_acceptable(Connection& c) {
  const std::string name = "connection " + std::to_string(c.number);
  if (behaviour_.strict && c.requests > 0 && !c.inbox.empty()) {
    record_violation("second request on " + name + " (" + printable(c.inbox) + "); closed without a reply");
    return false;
  }
  const std::size_t end = c.inbox.find('\n');
  if (end == std::string::npos ? c.inbox.size() > max_request : end + 1 > max_request) {
    record_violation(name + " sent more than " + std::to_string(max_request) + " bytes without a request end; closed");
    return false;
  }
  return true;
}

void FakeEcu::write_piece(Connection& c, Time now) {
  const std::size_t left = c.outbox.size() - c.sent;
  const std::size_t piece = behaviour_.chunk == 0 ? left : std::min(behaviour_.chunk, left);
  const ssize_t n = ::send(c.fd, c.outbox.data() + c.sent, piece, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;  // again next time round
  if (n < 0) return close_connection(c, now);
  c.sent += static_cast<std::size_t>(n);
  if (c.sent < c.outbox.size()) {
    if (behaviour_.chunk != 0) c.due = now + behaviour_.chunk_pause;
    return;
  }
  c.replying = false;
  c.outbox.clear();
  c.last_activity = now;
  if (behaviour_.close_after_reply) close_connection(c, now);
}

void FakeEcu::close_connection(Connection& c, Time now) {
  ::close(c.fd);
  c.fd = -1;
  last_close_ = now;
}

const std::vector<std::uint8_t>* FakeEcu::next_reply(const std::string& code) {
  const auto found = behaviour_.replies.find(code);
  if (found == behaviour_.replies.end() || found->second.empty()) return nullptr;
  const std::size_t turn = served_[code]++;
  return &found->second[std::min(turn, found->second.size() - 1)];
}

void FakeEcu::record_violation(std::string text) {
  std::lock_guard lock(mutex_);
  violations_.push_back(std::move(text));
}

// --- what the test reads ---

std::vector<std::string> FakeEcu::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<std::string> FakeEcu::command_codes() const {
  std::lock_guard lock(mutex_);
  return codes_;
}

std::size_t FakeEcu::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

std::size_t FakeEcu::max_open_connections() const {
  std::lock_guard lock(mutex_);
  return max_open_;
}

std::size_t FakeEcu::idle_closes() const {
  std::lock_guard lock(mutex_);
  return idle_closes_;
}

std::vector<std::string> FakeEcu::violations() const {
  std::lock_guard lock(mutex_);
  return violations_;
}

bool FakeEcu::wait_for_requests(std::size_t count, std::chrono::milliseconds limit) const {
  return eventually([&] { return requests().size() >= count; }, limit);
}

}  // namespace sunkeep::test
