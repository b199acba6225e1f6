// Nothing acknowledged is lost: the real `sunkeep serve` binary is killed with SIGKILL while a
// device streams records, restarted on the same database, and every acked record must be there.
#include "common/civil_time.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/fixtures.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>
#include <string>
#include <thread>

extern char** environ;

using namespace sunkeep;
using namespace sunkeep::test;

namespace {

// The real `sunkeep serve`, on a port the kernel picks: the port is read from its log line
// "listening for AlphaESS devices on 127.0.0.1:<port>", so parallel test runs cannot collide.
class ServerProcess {
 public:
  ServerProcess(const std::string& config_path, const std::string& log_path) {
    std::string binary = SUNKEEP_BINARY;
    std::string serve = "serve";
    std::string flag = "--config";
    std::string cfg = config_path;
    char* argv[] = {binary.data(), serve.data(), flag.data(), cfg.data(), nullptr};
    std::filesystem::remove(log_path);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int spawned = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(spawned == 0);
    const std::string marker = "listening for AlphaESS devices on 127.0.0.1:";
    for (int attempt = 0; attempt < 400 && port_ == 0; ++attempt) {
      std::ifstream log(log_path);
      std::string line;
      while (std::getline(log, line)) {
        const auto at = line.find(marker);
        if (at != std::string::npos) port_ = static_cast<std::uint16_t>(std::stoi(line.substr(at + marker.size())));
      }
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    REQUIRE_MESSAGE(port_ != 0, "sunkeep serve did not start listening");
  }
  ~ServerProcess() { kill_hard(); }

  [[nodiscard]] std::uint16_t port() const { return port_; }

  void kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // Sends SIGTERM and waits, bounded, for the process to exit; its exit code, or -1.
  int terminate(std::chrono::seconds limit = std::chrono::seconds(20)) {
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill_hard();
    return -1;
  }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// The i-th record of the stream: a realtime push 10 s after the previous one.
std::string device_time(int i) {
  const CivilTime base{2024, 3, 1, 0, 0, 0};
  return civil_from_naive_seconds(base.naive_epoch_seconds() + 10LL * i).to_device_string();
}

std::string push(int i) {
  return R"({"Time":")" + device_time(i) + R"(","SN":"ALKILL","Pbat":")" + std::to_string(i) + R"(","SOC":"50.0"})";
}

// A config file for the real binary: database in `dir`, every listener on a port the kernel picks.
std::string write_config(const TempDir& dir) {
  const std::string path = dir.file("sunkeep.toml");
  std::ofstream(path) << "[storage]\npath = \"" << dir.file("sunkeep.db") << "\"\n"
                      << "[alphaess]\nlisten = \"127.0.0.1:0\"\n[http]\nlisten = \"127.0.0.1:0\"\n"
                      << "[sermatec]\nenabled = false\n";
  return path;
}

}  // namespace

TEST_CASE("shutdown: SIGTERM with a device connected exits 0 and keeps everything acked") {
  TempDir dir;
  ServerProcess server(write_config(dir), dir.file("server.log"));
  FakeDevice device(server.port());
  for (int i = 0; i < 10; ++i) {
    const auto ack = device.exchange(16, push(i));
    REQUIRE(ack);
  }
  CHECK(server.terminate() == 0);
  CHECK(device.closed_by_server());
  storage::Connection db(dir.file("sunkeep.db"));
  CHECK(db.query_int("SELECT count(*) FROM record") == 10);
}

TEST_CASE("durability: after kill -9 every acknowledged record is in the database") {
  TempDir dir;
  const std::string config_path = write_config(dir);
  constexpr int burst = 5;
  std::vector<int> acked;
  int next = 0;
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    ServerProcess server(config_path, dir.file("server.log"));
    FakeDevice device(server.port());
    const int bursts = 8 + round * 3;
    for (int b = 0; b < bursts; ++b) {
      std::string bytes;
      for (int k = 0; k < burst; ++k) bytes += FakeDevice::frame(1, 16, push(next + k));
      device.send_bytes(bytes);
      // Acks come in order; in the last burst the server dies after the second ack.
      const int wanted = b + 1 < bursts ? burst : 2;
      for (int k = 0; k < wanted; ++k) {
        const auto ack = device.receive(5s);
        REQUIRE(ack);
        REQUIRE(ack->command() == 16);
        acked.push_back(next + k);
      }
      next += burst;
    }
    server.kill_hard();
  }

  storage::Connection db(dir.file("sunkeep.db"));
  auto check = db.prepare("SELECT count(*) FROM record WHERE device_time = ?1");
  int missing = 0;
  for (int i : acked) {
    check.bind(1, device_time(i));
    REQUIRE(check.step());
    if (check.int64(0) != 1) ++missing;
    check.reset();
  }
  CHECK(missing == 0);
  CHECK(acked.size() == (7 * burst + 2) + (10 * burst + 2) + (13 * burst + 2));
  auto integrity = db.prepare("PRAGMA integrity_check");
  REQUIRE(integrity.step());
  CHECK(integrity.text(0) == "ok");
}
