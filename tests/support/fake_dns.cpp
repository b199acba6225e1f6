// The loopback DNS server of fake_dns.hpp: one question per query, an A record or NXDOMAIN.
#include "tests/support/fake_dns.hpp"

#include "tests/support/loopback.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <optional>
#include <stdexcept>
#include <vector>

namespace sunkeep::test {

namespace {

constexpr std::size_t header_size = 12;

// The question's name (lowercase, dotted) and where the question ends, or nullopt.
std::optional<std::pair<std::string, std::size_t>> question(const std::vector<std::uint8_t>& query) {
  std::string name;
  std::size_t at = header_size;
  while (at < query.size() && query[at] != 0) {
    const std::size_t length = query[at];
    if (length > 63 || at + 1 + length > query.size()) return std::nullopt;
    if (!name.empty()) name += '.';
    for (std::size_t i = 0; i < length; ++i) name += static_cast<char>(std::tolower(query[at + 1 + i]));
    at += 1 + length;
  }
  if (at + 5 > query.size()) return std::nullopt;
  return std::pair{name, at + 5};  // the zero label, QTYPE, QCLASS
}

void put16(std::vector<std::uint8_t>& out, unsigned value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

}  // namespace

FakeDns::FakeDns(std::map<std::string, std::string> answers) : answers_(std::move(answers)) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = loopback(0);
  socklen_t size = sizeof address;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    throw std::runtime_error("fake DNS: cannot bind a loopback port");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeDns::~FakeDns() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

void FakeDns::serve() {
  while (!stop_) {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, 50) <= 0) continue;
    std::vector<std::uint8_t> query(512);
    sockaddr_in peer{};
    socklen_t peer_size = sizeof peer;
    const auto got = ::recvfrom(fd_, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&peer), &peer_size);
    if (got < static_cast<ssize_t>(header_size)) continue;
    query.resize(static_cast<std::size_t>(got));
    const auto asked = question(query);
    if (!asked) continue;
    ++queries_;
    const auto& [name, end] = *asked;
    const bool type_a = query[end - 4] == 0 && query[end - 3] == 1;
    const auto found = answers_.find(name);
    std::vector<std::uint8_t> reply(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(end));
    reply[2] = 0x81;                                      // a response, recursion desired
    reply[3] = found == answers_.end() ? 0x83 : 0x80;     // recursion available; NXDOMAIN or no error
    reply[6] = 0;
    reply[7] = found != answers_.end() && type_a ? 1 : 0;  // ANCOUNT
    reply[8] = reply[9] = reply[10] = reply[11] = 0;
    if (reply[7] == 1) {
      put16(reply, 0xc00c);  // the question's name
      put16(reply, 1);       // A
      put16(reply, 1);       // IN
      put16(reply, 0);
      put16(reply, 60);  // TTL
      put16(reply, 4);
      std::array<std::uint8_t, 4> ip{};
      inet_pton(AF_INET, found->second.c_str(), ip.data());
      reply.insert(reply.end(), ip.begin(), ip.end());
    }
    ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_size);
  }
}

}  // namespace sunkeep::test
