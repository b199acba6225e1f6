// The real `sunkeep serve` binary as a child process, for tests that kill it, restart it or
// watch it refuse to start. Its ports are the ones the kernel picked, read from its log lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace sunkeep::test {

struct ServerOptions {
  std::string config_path;
  std::string log_path;
  std::vector<std::string> environment;  // extra NAME=value entries, e.g. SUNKEEP_WRITER_TUNING
  std::optional<uid_t> user;             // run as this user (and group); needs root
};

// The server ended before it listened: its exit code and log.
struct ServerExited : std::runtime_error {
  ServerExited(int exit_code, std::string log_text)
      : std::runtime_error("sunkeep serve exited with " + std::to_string(exit_code) + ":\n" + log_text),
        code(exit_code),
        log(std::move(log_text)) {}
  int code;
  std::string log;
};

class ServerProcess {
 public:
  // Starts the server and waits, bounded, until it listens for AlphaESS devices and for HTTP;
  // throws ServerExited if it exits first.
  explicit ServerProcess(ServerOptions options);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::uint16_t http_port() const { return http_port_; }

  void kill_hard();
  // Sends SIGTERM and waits, bounded, for the process to exit; its exit code, or -1.
  int terminate(std::chrono::seconds limit = std::chrono::seconds(20));

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t http_port_ = 0;
};

// Starts the server and waits, bounded, for it to exit by itself: its exit code, or -1 if it
// was still running after `limit` (then it is killed).
int run_until_exit(const ServerOptions& options, std::chrono::seconds limit = std::chrono::seconds(20));

// Writes `folder`/sunkeep.toml for the real binary: database `folder`/sunkeep.db, AlphaESS and
// HTTP on loopback ports the kernel picks, Sermatec off. Returns its path.
std::string write_loopback_config(const std::string& folder);

// The whole text of a file ("" if it cannot be read).
std::string file_text(const std::string& path);

}  // namespace sunkeep::test
