// A simulated Sermatec inverter for integration tests: it either connects to sunkeep's cloud
// port or listens on loopback for local mode, answers the queries it receives with configured
// frames (split into pieces, with junk between them, delayed, or RC4-wrapped on request), and
// records every query. It runs on its own thread and stops by itself with the test.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sunkeep::test {

struct InverterBehaviour {
  std::map<std::uint8_t, std::vector<std::vector<std::uint8_t>>> answers;  // query code → answer frames
  std::size_t chunk = 0;                  // write answers in pieces of this many bytes (0 = whole)
  bool junk_between_frames = false;
  std::map<std::uint8_t, std::chrono::milliseconds> delays;  // answer these codes late
  bool rc4_only = false;                  // ignore plain queries, answer RC4 queries in RC4
  // After `first` queries with this code, answer with `frames` instead (e.g. a new serial).
  struct Later {
    std::size_t first = 0;
    std::vector<std::vector<std::uint8_t>> frames;
  };
  std::map<std::uint8_t, Later> later_answers;
};

// An answer frame (inverter → sunkeep) around `payload`.
std::vector<std::uint8_t> answer_frame(std::uint8_t code, const std::vector<std::uint8_t>& payload);
// A 0x98 answer for this PCU version, model code and serial.
std::vector<std::uint8_t> identity_answer(int pcu, int model, const std::string& serial);
// Answers for the whole read-only poll of a PCU-411 unit from the captured dumps, with
// sum_pv_today = 12.3 kWh in the 0x99 answer.
InverterBehaviour typical_inverter(const std::string& serial = "ST" + std::string(24, '1'), int pcu = 411);

class FakeInverter {
 public:
  // Connects to sunkeep's cloud port.
  static std::unique_ptr<FakeInverter> connect_to(std::uint16_t port, InverterBehaviour behaviour);
  // Listens on 127.0.0.1 (any free port) and serves every connection sunkeep opens, one at a time.
  static std::unique_ptr<FakeInverter> listen(InverterBehaviour behaviour);
  ~FakeInverter();

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Every frame received from sunkeep so far (plain form), and the codes of the queries among them.
  [[nodiscard]] std::vector<std::vector<std::uint8_t>> received() const;
  [[nodiscard]] std::vector<std::uint8_t> query_codes() const;
  [[nodiscard]] std::size_t rc4_queries() const { return rc4_queries_; }
  // Queries that came in plain (not RC4-wrapped), counted with received() in one step.
  [[nodiscard]] std::size_t plain_queries() const;
  [[nodiscard]] int connections() const { return connections_; }
  // Waits (bounded) until `count` queries have arrived.
  bool wait_for_queries(std::size_t count, std::chrono::milliseconds limit = std::chrono::seconds(10)) const;
  // Drops the current connection (the inverter "reboots").
  void drop_connection();

 private:
  explicit FakeInverter(InverterBehaviour behaviour) : behaviour_(std::move(behaviour)) {}
  void serve(int fd);

  InverterBehaviour behaviour_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<int> current_fd_{-1};
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> rc4_queries_{0};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<std::vector<std::uint8_t>> received_;
  std::thread thread_;
};

}  // namespace sunkeep::test
