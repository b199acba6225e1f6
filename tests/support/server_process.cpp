// Spawning and stopping the real server binary (server_process.hpp).
#include "tests/support/server_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace sunkeep::test {

namespace {

// fork + exec rather than posix_spawn, so that the child can drop to another user first.
pid_t spawn(const ServerOptions& options) {
  std::filesystem::remove(options.log_path);
  std::vector<std::string> args{SUNKEEP_BINARY, "serve", "--config", options.config_path};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // The extra entries replace inherited ones of the same name (getenv takes the first it finds).
  std::vector<std::string> env_entries = options.environment;
  const auto overridden = [&](std::string_view entry) {
    const auto name = entry.substr(0, entry.find('=') + 1);
    return std::any_of(env_entries.begin(), env_entries.end(), [&](const std::string& e) { return e.starts_with(name); });
  };
  std::vector<char*> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!overridden(*entry)) env.push_back(*entry);
  }
  for (auto& entry : env_entries) env.push_back(entry.data());
  env.push_back(nullptr);
  const struct passwd* user = options.user ? ::getpwuid(*options.user) : nullptr;
  const gid_t group = user != nullptr ? user->pw_gid : static_cast<gid_t>(options.user.value_or(0));
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls from here on.
  const int log = ::open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (log < 0 || ::dup2(log, STDOUT_FILENO) < 0 || ::dup2(log, STDERR_FILENO) < 0) ::_exit(120);
  if (options.user && (::setgroups(0, nullptr) != 0 || ::setgid(group) != 0 || ::setuid(*options.user) != 0)) {
    ::_exit(121);
  }
  ::execve(argv[0], argv.data(), env.data());
  ::_exit(122);
}

// The port after `marker` in the log; 0 while the line is not there or not whole yet.
std::uint16_t port_after(const std::string& log, const std::string& marker) {
  const auto at = log.find(marker);
  if (at == std::string::npos) return 0;
  const auto digits_end = log.find_first_not_of("0123456789", at + marker.size());
  if (digits_end == std::string::npos) return 0;  // the rest of the line may still be coming
  std::uint16_t port = 0;
  std::from_chars(log.data() + at + marker.size(), log.data() + digits_end, port);
  return port;
}

// The exit code of a process that ended, or nullopt while it runs.
std::optional<int> reaped(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return std::nullopt;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string write_loopback_config(const std::string& folder) {
  const std::string path = folder + "/sunkeep.toml";
  std::ofstream(path) << "[storage]\npath = \"" << folder << "/sunkeep.db\"\n"
                      << "[alphaess]\nlisten = \"127.0.0.1:0\"\n[http]\nlisten = \"127.0.0.1:0\"\n"
                      << "[sermatec]\nenabled = false\n[sma]\nenabled = false\n";
  return path;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ServerProcess::ServerProcess(ServerOptions options) : pid_(spawn(options)) {
  if (pid_ < 0) throw std::runtime_error("fork failed");
  for (int attempt = 0; attempt < 400 && (port_ == 0 || http_port_ == 0); ++attempt) {
    if (const auto code = reaped(pid_)) {
      pid_ = -1;
      throw ServerExited(*code, file_text(options.log_path));
    }
    const std::string log = file_text(options.log_path);
    port_ = port_after(log, "listening for AlphaESS devices on 127.0.0.1:");
    http_port_ = port_after(log, "HTTP API on 127.0.0.1:");
    if (port_ == 0 || http_port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  if (port_ == 0 || http_port_ == 0) {
    kill_hard();
    throw std::runtime_error("sunkeep serve did not start listening:\n" + file_text(options.log_path));
  }
}

ServerProcess::~ServerProcess() { kill_hard(); }

void ServerProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ServerProcess::terminate(std::chrono::seconds limit) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (const auto code = reaped(pid_)) {
      pid_ = -1;
      return *code;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_hard();
  return -1;
}

int run_until_exit(const ServerOptions& options, std::chrono::seconds limit) {
  const pid_t pid = spawn(options);
  if (pid < 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (const auto code = reaped(pid)) return *code;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return -1;
}

}  // namespace sunkeep::test
