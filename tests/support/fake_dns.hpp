// A DNS server on a loopback UDP port for `sunkeep doctor --resolver`: answers A queries from a
// fixed table, NXDOMAIN for other names. It serves on its own thread until destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

namespace sunkeep::test {

class FakeDns {
 public:
  // name (lowercase, no trailing dot) → IPv4 address text
  explicit FakeDns(std::map<std::string, std::string> answers);
  ~FakeDns();
  FakeDns(const FakeDns&) = delete;
  FakeDns& operator=(const FakeDns&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // "127.0.0.1:<port>", as --resolver takes it.
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int queries() const { return queries_; }

 private:
  void serve();

  std::map<std::string, std::string> answers_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

}  // namespace sunkeep::test
