// A simulated APsystems ECU (apsystems-ecu.md) on a loopback TCP port, for integration tests: it
// answers 0001 / 0002 / 0030 requests with configured replies, keeps a connection open after the
// reply as the real gateway does (or closes it, on request), can "lock up", and records every
// request and every breach of the connection rules of §11.2. It runs on its own thread and stops
// by itself in the destructor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sunkeep::test {

struct EcuBehaviour {
  // Command code (request bytes 9..12: "0001", "0002", "0030") → replies served in turn, over all
  // connections; the last one repeats. A code without replies gets none: the connection stays silent.
  std::map<std::string, std::vector<std::vector<std::uint8_t>>> replies;
  std::chrono::milliseconds reply_delay{0};  // between the request's '\n' and the first reply byte
  std::size_t chunk = 0;                     // write replies in pieces of this many bytes (0 = whole)
  std::chrono::milliseconds chunk_pause{5};  // between two pieces
  // Strict: a second request on one connection is a violation (the connection is closed without a
  // reply), and so is a connection opened while another one is open (it is closed at once).
  // Not strict: both are served.
  bool strict = true;
  // A connection opened less than this after the previous one closed is a violation (still served).
  // The close is timed when the ECU sees it, so set this a little below sunkeep's command_pause.
  std::chrono::milliseconds min_pause{0};
  // The ECU closes a connection that has been idle this long (no request yet, or reply written).
  std::chrono::milliseconds idle_limit{15'000};
  bool close_after_reply = false;  // close right after the reply instead of waiting for the client
};

// 0001: openhab_ecub_systeminfo.bin; 0002: openhab_ds3_realtime_20230727.bin, then
// openhab_ds3_realtime_20230731.bin (a newer timestamp) from then on; 0030: openhab_signal.bin.
EcuBehaviour typical_ecu();

class FakeEcu {
 public:
  // Requests longer than this (with '\n') are a violation and the connection is closed.
  static constexpr std::size_t max_request = 64;

  // Listens on 127.0.0.1, any free port; throws std::runtime_error if it cannot.
  explicit FakeEcu(EcuBehaviour behaviour = typical_ecu());
  ~FakeEcu();
  FakeEcu(const FakeEcu&) = delete;
  FakeEcu& operator=(const FakeEcu&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }

  // Locked up, the ECU closes its listening socket, so connects are refused (and cannot be
  // counted); connections already open stay as they are. Unlocked, it listens on the same port
  // again. Returns once the change is in effect; throws if that takes more than 2 s.
  void set_locked_up(bool locked);
  [[nodiscard]] bool locked_up() const { return locked_up_; }

  // Every request received so far, with its '\n', in order, and the command code of each.
  [[nodiscard]] std::vector<std::string> requests() const;
  [[nodiscard]] std::vector<std::string> command_codes() const;
  // Connections accepted (including those closed at once as violations).
  [[nodiscard]] std::size_t connections() const;
  // The largest number of connections open at the same time.
  [[nodiscard]] std::size_t max_open_connections() const;
  // Connections the ECU closed because they stayed idle for idle_limit.
  [[nodiscard]] std::size_t idle_closes() const;
  // One sentence per broken rule, in order; empty when sunkeep behaved.
  [[nodiscard]] std::vector<std::string> violations() const;
  // Waits (bounded) until `count` requests have arrived.
  bool wait_for_requests(std::size_t count, std::chrono::milliseconds limit = std::chrono::seconds(10)) const;

  // The bytes of a reply fixture in ../shared/fixtures/apsystems/, e.g. "openhab_signal.bin".
  static std::vector<std::uint8_t> from_fixture(const std::string& file);

 private:
  struct Connection;
  using Time = std::chrono::steady_clock::time_point;

  void run();
  void sync_listener();
  [[nodiscard]] int poll_timeout(const std::vector<Connection>& open, Time now) const;
  void accept_all(std::vector<Connection>& open, Time now);
  void admit(std::vector<Connection>& open, int fd, Time now);
  static void receive(Connection& c, Time now);
  void advance(Connection& c, Time now);
  void take_request(Connection& c, Time now);
  bool inbox_acceptable(Connection& c);
  void write_piece(Connection& c, Time now);
  void close_connection(Connection& c, Time now);
  const std::vector<std::uint8_t>* next_reply(const std::string& code);
  void record_violation(std::string text);

  const EcuBehaviour behaviour_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;  // owned by the loop thread once it runs
  std::atomic<bool> locked_up_{false};
  std::atomic<bool> listening_{false};
  std::atomic<bool> stop_{false};
  std::map<std::string, std::size_t> served_;  // loop thread only: replies served per code
  std::optional<Time> last_close_;              // loop thread only
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::vector<std::string> codes_;
  std::vector<std::string> violations_;
  std::size_t connections_ = 0;
  std::size_t max_open_ = 0;
  std::size_t idle_closes_ = 0;
  std::thread thread_;
};

}  // namespace sunkeep::test
