// The mosquitto broker child process for MQTT tests (mosquitto_broker.hpp): a temporary folder
// with mosquitto.conf, the broker's log, its stdout/stderr and, with TLS, certificates made by the
// openssl command line tool.
#include "tests/support/mosquitto_broker.hpp"

#include "tests/support/loopback.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace sunkeep::test {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* mosquitto_binary = "/usr/sbin/mosquitto";
constexpr const char* passwd_binary = "/usr/bin/mosquitto_passwd";
constexpr const char* openssl_binary = "/usr/bin/openssl";
constexpr std::chrono::seconds start_limit{5};
constexpr std::chrono::seconds term_limit{2};
constexpr std::chrono::seconds tool_limit{20};
constexpr int start_attempts = 4;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// What a file gained after its first `from` bytes.
std::string text_after(const std::string& path, std::size_t from) {
  const std::string text = read_text(path);
  return text.substr(std::min(from, text.size()));
}

// fork + exec of `args` (an absolute path first) with stdout and stderr appended to `output`;
// the child keeps no other descriptor of the test process (a listening socket of the test kept
// open in the broker would outlive the test's own close). -1 if fork fails.
pid_t spawn(std::vector<std::string> args, const std::string& output) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls from here on.
  const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (out < 0 || ::dup2(out, STDOUT_FILENO) < 0 || ::dup2(out, STDERR_FILENO) < 0) ::_exit(120);
  const int null = ::open("/dev/null", O_RDONLY);
  if (null < 0 || ::dup2(null, STDIN_FILENO) < 0) ::_exit(121);
  ::close_range(3, ~0U, 0);
  ::execv(argv[0], argv.data());
  ::_exit(122);
}

// The exit code of a process that ended (-1 for a signal), or nullopt while it runs.
std::optional<int> reaped(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return std::nullopt;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs a command line tool to its end, at most `tool_limit`: its exit code, or -1.
int run_tool(std::vector<std::string> args, const std::string& output) {
  std::string command_line = "$";
  for (const auto& arg : args) command_line += " " + arg;
  std::ofstream(output, std::ios::app) << command_line << std::endl;
  const pid_t pid = spawn(std::move(args), output);
  if (pid < 0) return -1;
  const auto deadline = Clock::now() + tool_limit;
  while (Clock::now() < deadline) {
    if (const auto code = reaped(pid)) return *code;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return -1;
}

// A loopback TCP port that was free a moment ago (not `other`), or 0.
std::uint16_t free_port(std::uint16_t other) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    const sockaddr_in address = loopback(0);
    sockaddr_in bound{};
    socklen_t length = sizeof bound;
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0;
    ::close(fd);
    const std::uint16_t port = ok ? ntohs(bound.sin_port) : 0;
    if (port != 0 && port != other) return port;
  }
  return 0;
}

// Whether 127.0.0.1:`port` accepts a TCP connection (within 200 ms).
bool accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in address = loopback(port);
  bool connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  if (!connected && errno == EINPROGRESS) {
    pollfd waiting{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    connected =
        ::poll(&waiting, 1, 200) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
  }
  ::close(fd);
  return connected;
}

// Whether the broker's log says it opened all its listeners ("mosquitto version 2.0.11 running").
bool says_running(const std::string& log) {
  for (auto at = log.find("mosquitto version "); at != std::string::npos; at = log.find("mosquitto version ", at + 1)) {
    const auto end = log.find('\n', at);
    if (end != std::string::npos && log.compare(end - 8, 8, " running") == 0) return true;
  }
  return false;
}

// The process state letter from /proc/<pid>/stat ('T' = stopped), or 0.
char process_state(pid_t pid) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto end_of_name = stat.rfind(')');
  return end_of_name == std::string::npos || end_of_name + 2 >= stat.size() ? '\0' : stat[end_of_name + 2];
}

void wait_for_state(pid_t pid, bool stopped) {
  const auto deadline = Clock::now() + term_limit;
  while (((process_state(pid) == 'T') != stopped) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// openssl req/x509 settings: no prompts, and the extensions of each kind of certificate.
constexpr const char* openssl_config = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

}  // namespace

MosquittoBroker::MosquittoBroker(BrokerOptions options) : options_(std::move(options)) {
  std::string folder = (std::filesystem::temp_directory_path() / "sunkeep-mosquitto-XXXXXX").string();
  if (::mkdtemp(folder.data()) == nullptr) throw std::runtime_error("mosquitto: cannot make a temporary folder");
  dir_ = folder;
  try {
    if (options_.tls) make_certificates();
    if (!options_.username.empty()) make_password_file();
    for (int attempt = 1;; ++attempt) {
      port_ = free_port(0);
      tls_port_ = options_.tls ? free_port(port_) : 0;
      if (port_ == 0 || (options_.tls && tls_port_ == 0)) throw std::runtime_error("mosquitto: no free loopback port");
      write_config();
      if (launch(Clock::now() + start_limit)) break;
      if (attempt == start_attempts) {
        throw std::runtime_error("mosquitto: its ports were taken " + std::to_string(attempt) + " times:\n" + log());
      }
    }
  } catch (...) {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

MosquittoBroker::~MosquittoBroker() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string MosquittoBroker::url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
std::string MosquittoBroker::tls_url() const { return "mqtts://127.0.0.1:" + std::to_string(tls_port_); }
std::string MosquittoBroker::ca_file() const { return options_.tls ? dir_ + "/ca.crt" : ""; }
std::string MosquittoBroker::client_cert_file() const { return options_.tls ? dir_ + "/client.crt" : ""; }
std::string MosquittoBroker::client_key_file() const { return options_.tls ? dir_ + "/client.key" : ""; }
std::string MosquittoBroker::other_ca_file() const { return options_.tls ? dir_ + "/other-ca.crt" : ""; }
std::string MosquittoBroker::log() const { return read_text(dir_ + "/broker.log"); }

void MosquittoBroker::make_certificates() {
  const std::string config = dir_ + "/openssl.cnf";
  const std::string output = dir_ + "/openssl.log";
  std::ofstream(config) << openssl_config;
  const auto path = [&](const std::string& name) { return dir_ + "/" + name; };
  const auto with_new_key = [&](std::vector<std::string> args, const std::string& name) {
    for (const char* arg : {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout"}) {
      args.emplace_back(arg);
    }
    args.push_back(path(name + ".key"));
    return args;
  };
  const auto make_ca = [&](const std::string& name, const std::string& subject) {
    return run_tool(with_new_key({openssl_binary, "req", "-x509", "-config", config, "-extensions", "ca_ext", "-days",
                                  "2", "-subj", subject, "-out", path(name + ".crt")},
                                 name),
                    output) == 0;
  };
  // A key and a certificate signed by ca.crt, with the extensions of `section` in openssl.cnf.
  const auto make_leaf = [&](const std::string& name, const std::string& subject, const std::string& section,
                             const std::string& serial) {
    return run_tool(with_new_key({openssl_binary, "req", "-new", "-config", config, "-subj", subject, "-out",
                                  path(name + ".csr")},
                                 name),
                    output) == 0 &&
           run_tool({openssl_binary, "x509", "-req", "-in", path(name + ".csr"), "-CA", path("ca.crt"), "-CAkey",
                     path("ca.key"), "-set_serial", serial, "-days", "2", "-extfile", config, "-extensions", section,
                     "-out", path(name + ".crt")},
                    output) == 0;
  };
  const bool made = make_ca("ca", "/CN=sunkeep test CA") && make_ca("other-ca", "/CN=sunkeep unrelated test CA") &&
                    make_leaf("server", "/CN=127.0.0.1", "server_ext", "2") &&
                    make_leaf("client", "/CN=sunkeep-test-client", "client_ext", "3");
  if (!made) throw std::runtime_error("mosquitto: openssl could not make the certificates:\n" + read_text(output));
}

void MosquittoBroker::make_password_file() {
  const std::string output = dir_ + "/passwd.log";
  if (run_tool({passwd_binary, "-c", "-b", dir_ + "/passwords", options_.username, options_.password}, output) != 0) {
    throw std::runtime_error("mosquitto: mosquitto_passwd failed:\n" + read_text(output));
  }
}

void MosquittoBroker::write_config() const {
  std::ofstream config(dir_ + "/mosquitto.conf", std::ios::trunc);
  config << "per_listener_settings false\npersistence false\n";
  if (options_.username.empty()) {
    config << "allow_anonymous true\n";
  } else {
    config << "allow_anonymous false\npassword_file " << dir_ << "/passwords\n";
  }
  config << "log_dest file " << dir_ << "/broker.log\nlog_type all\n";
  // As root mosquitto drops to the user "mosquitto", who cannot read this 0700 folder.
  if (::geteuid() == 0) config << "user root\n";
  config << "listener " << port_ << " 127.0.0.1\n";
  if (options_.tls) {
    config << "listener " << tls_port_ << " 127.0.0.1\n"
           << "cafile " << dir_ << "/ca.crt\ncertfile " << dir_ << "/server.crt\nkeyfile " << dir_ << "/server.key\n"
           << "require_certificate " << (options_.require_client_certificate ? "true" : "false") << "\n";
  }
}

bool MosquittoBroker::launch(Clock::time_point deadline) {
  const std::string log_path = dir_ + "/broker.log";
  const std::string out_path = dir_ + "/mosquitto.out";
  const std::size_t log_from = read_text(log_path).size();
  const std::size_t out_from = read_text(out_path).size();
  const auto said = [&] { return text_after(log_path, log_from) + text_after(out_path, out_from); };
  pid_ = spawn({mosquitto_binary, "-c", dir_ + "/mosquitto.conf"}, out_path);
  if (pid_ < 0) throw std::runtime_error("mosquitto: fork failed");
  while (true) {
    if (const auto code = reaped(pid_)) {
      pid_ = -1;
      const std::string text = said();
      if (text.find("Address already in use") != std::string::npos) return false;
      throw std::runtime_error("mosquitto exited with " + std::to_string(*code) + ":\n" + text);
    }
    // The log line first: until then a port may still be held by someone else.
    if (says_running(text_after(log_path, log_from)) && accepts(port_) && (tls_port_ == 0 || accepts(tls_port_))) {
      return true;
    }
    if (Clock::now() >= deadline) {
      stop();
      throw std::runtime_error("mosquitto did not accept connections on ports " + std::to_string(port_) + "/" +
                               std::to_string(tls_port_) + " in time:\n" + said());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void MosquittoBroker::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);  // a paused broker acts on SIGTERM only once it runs again
  const auto deadline = Clock::now() + term_limit;
  while (Clock::now() < deadline) {
    if (reaped(pid_)) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill();
}

void MosquittoBroker::pause() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGSTOP);
  wait_for_state(pid_, true);
}

void MosquittoBroker::resume() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  wait_for_state(pid_, false);
}

void MosquittoBroker::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void MosquittoBroker::restart() {
  kill();
  const auto deadline = Clock::now() + start_limit;
  while (!launch(deadline)) {
    if (Clock::now() >= deadline) {
      throw std::runtime_error("mosquitto: port " + std::to_string(port_) + " or " + std::to_string(tls_port_) +
                               " stayed in use:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

bool MosquittoBroker::running() const {
  if (pid_ <= 0) return false;
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

}  // namespace sunkeep::test
