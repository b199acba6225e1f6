// The owner's commands beside `serve`: logs that fit the host ([log] level, journal lines),
// `sunkeep backup` (a consistent copy under load) and `sunkeep doctor` (each finding it must make).
#include "admin/backup.hpp"
#include "admin/doctor.hpp"
#include "admin/health_probe.hpp"
#include "admin/log_setup.hpp"
#include "common/civil_time.hpp"
#include "config/config.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/fake_dns.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/loopback.hpp"
#include "tests/support/server_process.hpp"

#include <doctest/doctest.h>
#include <spdlog/details/log_msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace sunkeep;
using namespace sunkeep::test;
using namespace std::chrono_literals;

namespace {

std::string formatted(bool journal, spdlog::level::level_enum level, std::string_view text) {
  const spdlog::details::log_msg message(spdlog::source_loc{}, "", level, text);
  spdlog::memory_buf_t out;
  admin::make_log_formatter(journal)->format(message, out);
  return {out.data(), out.size()};
}

// The i-th realtime push of one AlphaESS unit, 10 s apart.
std::string device_time(int i) {
  const CivilTime base{2024, 3, 1, 0, 0, 0};
  return civil_from_naive_seconds(base.naive_epoch_seconds() + 10LL * i).to_device_string();
}

std::string push(const std::string& serial, int i) {
  return R"({"Time":")" + device_time(i) + R"(","SN":")" + serial + R"(","Pbat":")" + std::to_string(i) + R"(","SOC":"50.0"})";
}

// A loopback port that was free a moment ago.
std::uint16_t free_port(int type) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in address = loopback(0);
  socklen_t size = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), size);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A config with fixed loopback ports (doctor checks fixed ports only), SMA and Sermatec off.
std::string write_fixed_port_config(const TempDir& dir, std::uint16_t http, std::uint16_t alphaess, const std::string& extra = "") {
  const std::string path = dir.file("fixed.toml");
  std::ofstream(path) << "[storage]\npath = \"" << dir.file("sunkeep.db") << "\"\n"
                      << "[http]\nlisten = \"127.0.0.1:" << http << "\"\n"
                      << "[alphaess]\nlisten = \"127.0.0.1:" << alphaess << "\"\n"
                      << "[sermatec]\nenabled = false\n[sma]\nenabled = false\n" << extra;
  return path;
}

CommandResult doctor(const std::string& config, const FakeDns& dns) {
  return run_command({SUNKEEP_BINARY, "doctor", "--config", config, "--resolver", dns.address()}, 60s);
}

// The report's line that mentions `needle` ("" when none does).
std::string line_with(const std::string& report, const std::string& needle) {
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

// An address of this host that is not loopback: what a DNS override must answer. A DNS answer
// only; nothing connects to it.
std::string lan_address() {
  for (const auto& address : admin::local_addresses()) {
    if (!admin::is_loopback_address(address) && address.find(':') == std::string::npos) return address;
  }
  return "";
}

// Answers one HTTP request on a loopback port with `answer`, then closes.
class OneAnswerServer {
 public:
  explicit OneAnswerServer(std::string answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = loopback(0);
    socklen_t size = sizeof address;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), size);
    ::listen(fd_, 1);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::array<char, 1024> request{};
      [[maybe_unused]] const auto got = ::read(client, request.data(), request.size());
      [[maybe_unused]] const auto sent = ::write(client, answer_.data(), answer_.size());
      ::close(client);
    });
  }
  ~OneAnswerServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  OneAnswerServer(const OneAnswerServer&) = delete;
  OneAnswerServer& operator=(const OneAnswerServer&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  std::string answer_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

std::string http_answer(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

void make_database(const std::string& path, int rows) {
  storage::Connection db(path);
  db.exec("CREATE TABLE IF NOT EXISTS t (x INTEGER)");
  for (int i = 0; i < rows; ++i) db.exec("INSERT INTO t VALUES (" + std::to_string(i) + ")");
}

std::int64_t rows_in(const std::string& path) {
  storage::Connection db(path, storage::Connection::Mode::read_only);
  return db.query_int("SELECT count(*) FROM t");
}

}  // namespace

TEST_CASE("log: SUNKEEP_LOG_LEVEL wins over [log] level / a name that is no level is ignored and reported") {
  CHECK(admin::decide_log_settings(nullptr, spdlog::level::warn, false).level == spdlog::level::warn);
  CHECK(admin::decide_log_settings("", spdlog::level::warn, false).level == spdlog::level::warn);
  CHECK(admin::decide_log_settings("debug", spdlog::level::warn, false).level == spdlog::level::debug);
  const auto bad = admin::decide_log_settings("loud", spdlog::level::err, true);
  CHECK(bad.level == spdlog::level::err);
  CHECK(bad.ignored_environment == "loud");
  CHECK(bad.journal);
}

TEST_CASE("log: systemd is told by JOURNAL_STREAM or INVOCATION_ID") {
  CHECK_FALSE(admin::under_systemd(nullptr, nullptr));
  CHECK_FALSE(admin::under_systemd("", ""));
  CHECK(admin::under_systemd("8:12345", nullptr));
  CHECK(admin::under_systemd(nullptr, "0123abcd"));
}

TEST_CASE("log: JOURNAL_STREAM counts only when it names this process's standard output") {
  struct stat out {};
  REQUIRE(::fstat(STDOUT_FILENO, &out) == 0);
  const std::string mine = std::to_string(out.st_dev) + ":" + std::to_string(out.st_ino);
  CHECK(admin::stdout_is_journal_stream(mine.c_str()));
  CHECK_FALSE(admin::stdout_is_journal_stream("1:2"));
  CHECK_FALSE(admin::stdout_is_journal_stream(nullptr));
}

TEST_CASE("log: a journal line is the syslog priority and the text, without a timestamp") {
  CHECK(formatted(true, spdlog::level::warn, "disk full") == "<4>disk full\n");
  CHECK(formatted(true, spdlog::level::err, "x") == "<3>x\n");
  CHECK(formatted(true, spdlog::level::critical, "x") == "<2>x\n");
  CHECK(formatted(true, spdlog::level::info, "x") == "<6>x\n");
  CHECK(formatted(true, spdlog::level::debug, "x") == "<7>x\n");
  const std::string plain = formatted(false, spdlog::level::warn, "disk full");
  CHECK(plain.find("[warning] disk full") != std::string::npos);
  CHECK(plain.rfind("[20", 0) == 0);  // a timestamp of its own
}

TEST_CASE("log: [log] level takes the level names and names the key and line otherwise") {
  CHECK(config::parse_config("[log]\nlevel = \"debug\"\n", "t").config.log.level == "debug");
  CHECK(config::parse_config("", "t").config.log.level == "info");
  const auto bad = config::parse_config("\n[log]\nlevel = \"loud\"\n", "t");
  REQUIRE(bad.problems.size() == 1);
  CHECK(bad.problems[0].key == "log.level");
  CHECK(bad.problems[0].line == 3);
  CHECK(bad.problems[0].message.find("trace, debug, info") != std::string::npos);
}

TEST_CASE("log: the real server under systemd writes priority-prefixed lines at the [log] level") {
  TempDir dir;
  const std::string config = write_loopback_config(dir.path().string());
  std::ofstream(config, std::ios::app) << "[log]\nlevel = \"debug\"\n";
  ServerProcess server({.config_path = config, .log_path = dir.file("server.log"), .environment = {"INVOCATION_ID=0123abcd"}});
  FakeDevice device(server.port());
  REQUIRE(device.exchange(16, push("ALLOG", 0)));
  device.close();
  CHECK(server.terminate() == 0);
  const std::string log = file_text(dir.file("server.log"));
  CHECK(log.rfind("<6>sunkeep ", 0) == 0);
  CHECK(log.find("\n<7>") != std::string::npos);  // debug lines, as [log] level asked
  CHECK(log.find("\n[20") == std::string::npos);  // no timestamps of its own
}

TEST_CASE("backup: refuses to overwrite unless told, never copies onto the database, leaves no partial file") {
  TempDir dir;
  const std::string source = dir.file("live.db");
  const std::string copy = dir.file("copy.db");
  make_database(source, 3);

  CHECK_FALSE(admin::backup_database(dir.file("missing.db"), copy, false).ok);
  const auto first = admin::backup_database(source, copy, false);
  REQUIRE(first.ok);
  CHECK(first.bytes == std::filesystem::file_size(copy));
  CHECK(rows_in(copy) == 3);
  struct stat info {};
  REQUIRE(::stat(copy.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);  // the owner's data: only the owner reads it

  make_database(source, 2);  // now 5 rows
  const auto refused = admin::backup_database(source, copy, false);
  CHECK_FALSE(refused.ok);
  CHECK(refused.message.find("--force") != std::string::npos);
  CHECK(rows_in(copy) == 3);
  REQUIRE(admin::backup_database(source, copy, true).ok);
  CHECK(rows_in(copy) == 5);

  const auto onto_itself = admin::backup_database(source, source, true);
  CHECK_FALSE(onto_itself.ok);
  CHECK(rows_in(source) == 5);
  const auto no_folder = admin::backup_database(source, dir.file("no/such/folder/copy.db"), false);
  CHECK_FALSE(no_folder.ok);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  CHECK(files == 2);  // live.db and copy.db: no partial copy left behind
}

TEST_CASE("backup: a copy taken while a device streams holds every record acked before it began") {
  TempDir dir;
  const std::string config = write_loopback_config(dir.path().string());
  ServerProcess server({.config_path = config, .log_path = dir.file("server.log")});
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  std::thread device_thread([&] {
    FakeDevice device(server.port());
    for (int i = 0; i < 200'000 && !stop; ++i) {
      if (!device.exchange(16, push("ALBACKUP", i))) return;
      acked = i + 1;
    }
  });
  for (int wait = 0; wait < 600 && acked < 100; ++wait) std::this_thread::sleep_for(10ms);
  const int acked_before = acked;
  const auto result = run_command({SUNKEEP_BINARY, "backup", dir.file("copy.db"), "--config", config}, 120s);
  const int acked_after = acked;
  for (int wait = 0; wait < 600 && acked < acked_after + 20; ++wait) std::this_thread::sleep_for(10ms);
  stop = true;
  device_thread.join();
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK(acked_before >= 100);
  CHECK(acked > acked_after);  // the device was still served after the backup

  storage::Connection copy(dir.file("copy.db"), storage::Connection::Mode::read_only);
  auto integrity = copy.prepare("PRAGMA integrity_check");
  REQUIRE(integrity.step());
  CHECK(integrity.text(0) == "ok");
  auto stored = copy.prepare("SELECT count(*) FROM record WHERE device_time = ?1");
  int missing = 0;
  for (int i = 0; i < acked_before; ++i) {
    stored.bind(1, device_time(i));
    REQUIRE(stored.step());
    if (stored.int64(0) != 1) ++missing;
    stored.reset();
  }
  CHECK(missing == 0);
  CHECK(copy.query_int("SELECT count(*) FROM record") <= acked_after + 1);  // nothing from after it ended
  CHECK(server.terminate() == 0);

  const auto again = run_command({SUNKEEP_BINARY, "backup", dir.file("copy.db"), "--config", config}, 60s);
  CHECK(again.exit_code == 1);
  CHECK(again.output.find("--force") != std::string::npos);
}

TEST_CASE("doctor: the disk space and DNS judgements") {
  using admin::Verdict;
  CHECK(admin::judge_disk_space("/var/lib/sunkeep", admin::DiskSpace{10ULL << 30, 32ULL << 30}).verdict == Verdict::ok);
  const auto full = admin::judge_disk_space("/var/lib/sunkeep", admin::DiskSpace{1ULL << 20, 32ULL << 30});
  CHECK(full.verdict == Verdict::problem);
  CHECK(full.text.find("full") != std::string::npos);
  CHECK(admin::judge_disk_space("/x", std::nullopt).verdict == Verdict::problem);

  const std::vector<std::string> local{"127.0.0.1", "192.168.1.10", "::1"};
  CHECK(admin::judge_resolution("www.alphaess.com", {{"192.168.1.10"}, ""}, local, "r").verdict == Verdict::ok);
  const auto itself = admin::judge_resolution("www.alphaess.com", {{"127.0.0.1"}, ""}, local, "r");
  CHECK(itself.verdict == Verdict::problem);  // a battery told 127.0.0.1 calls itself
  CHECK(itself.text.find("loopback") != std::string::npos);
  const auto cloud = admin::judge_resolution("www.alphaess.com", {{"47.254.1.2"}, ""}, local, "r");
  CHECK(cloud.verdict == Verdict::problem);
  CHECK(cloud.text.find("47.254.1.2") != std::string::npos);
  CHECK(cloud.advice.find("docs/redirect.md") != std::string::npos);
  CHECK(admin::judge_resolution("www.alphaess.com", {{}, "no such name"}, local, "r").verdict == Verdict::problem);
}

TEST_CASE("doctor: the port judgement / sunkeep among a port's holders, a shared UDP port, another program") {
  using admin::Verdict;
  const config::Endpoint meter{"0.0.0.0", 9522};
  const admin::PortHolder sunkeep{10, "sunkeep"};
  const admin::PortHolder other{20, "hass"};
  CHECK(admin::judge_port("sma.energy_meter_listen", meter, true, {false, "in use", {other, sunkeep}}).verdict == Verdict::ok);
  const auto shared = admin::judge_port("sma.energy_meter_listen", meter, true, {true, "", {other}});
  CHECK(shared.verdict == Verdict::info);
  CHECK(shared.text.find("hass (pid 20)") != std::string::npos);
  const auto taken = admin::judge_port("http.listen", {"127.0.0.1", 8080}, false, {false, "Address already in use", {other}});
  CHECK(taken.verdict == Verdict::problem);
  CHECK(taken.advice.find("http.listen") != std::string::npos);
  CHECK(admin::judge_port("http.listen", {"127.0.0.1", 8080}, false, {true, "", {}}).verdict == Verdict::info);
  CHECK(admin::judge_port("http.listen", {"10.9.9.9", 8080}, false, {false, "Cannot assign requested address", {}}).verdict == Verdict::problem);
}

TEST_CASE("health: ok only with status and storage ok / a closed port or a failing storage is not healthy") {
  TempDir dir;
  ServerProcess server({.config_path = write_loopback_config(dir.path().string()), .log_path = dir.file("server.log")});
  const auto live = admin::probe_health({"127.0.0.1", server.http_port()}, 3s);
  CHECK(live.healthy);
  CHECK(live.detail.find("\"status\":\"ok\"") != std::string::npos);
  CHECK(server.terminate() == 0);
  const auto gone = admin::probe_health({"127.0.0.1", server.http_port()}, 3s);
  CHECK_FALSE(gone.healthy);
  CHECK_FALSE(gone.detail.empty());

  OneAnswerServer failing(http_answer(R"({"status":"ok","storage":"failing: disk full"})"));
  CHECK_FALSE(admin::probe_health({"0.0.0.0", failing.port()}, 3s).healthy);  // 0.0.0.0 is asked on loopback
  OneAnswerServer fine(http_answer(R"({"status":"ok","storage":"ok"})"));
  CHECK(admin::probe_health({"127.0.0.1", fine.port()}, 3s).healthy);
}

TEST_CASE("doctor: a missing redirect, then a device heard, then all well, then a battery speaking TLS") {
  TempDir dir;
  const std::string config = write_fixed_port_config(dir, free_port(SOCK_STREAM), free_port(SOCK_STREAM));
  ServerProcess server({.config_path = config, .log_path = dir.file("server.log")});

  const std::string lan = lan_address();
  REQUIRE_MESSAGE(!lan.empty(), "this host has no non-loopback IPv4 address for the DNS answers");
  FakeDns half_redirected({{"www.alphaess.com", lan}, {"cloud.alphaess.com", "203.0.113.9"}});
  const auto missing = doctor(config, half_redirected);
  INFO(missing.output);
  CHECK(missing.exit_code == 1);
  CHECK(line_with(missing.output, "cloud.alphaess.com").rfind("PROBLEM", 0) == 0);
  CHECK(line_with(missing.output, "cloud.alphaess.com").find("203.0.113.9") != std::string::npos);
  CHECK(line_with(missing.output, "www.alphaess.com resolves to this host").rfind("ok", 0) == 0);
  CHECK(line_with(missing.output, "no device has reached sunkeep").rfind("PROBLEM", 0) == 0);
  CHECK(line_with(missing.output, "(alphaess.listen) is held by sunkeep").rfind("ok", 0) == 0);
  CHECK(line_with(missing.output, "(http.listen) is held by sunkeep").rfind("ok", 0) == 0);
  CHECK(line_with(missing.output, "passes quick_check").rfind("ok", 0) == 0);
  CHECK(half_redirected.queries() >= 2);

  FakeDevice device(server.port());
  REQUIRE(device.exchange(16, push("ALDOCTOR", 0)));
  const auto heard = doctor(config, half_redirected);
  INFO(heard.output);
  CHECK(line_with(heard.output, "alphaess:ALDOCTOR last heard").rfind("ok", 0) == 0);
  CHECK(line_with(heard.output, "cloud.alphaess.com").rfind("info", 0) == 0);  // it reaches sunkeep anyway (DNAT)

  FakeDns redirected({{"www.alphaess.com", lan}, {"cloud.alphaess.com", lan}});
  const auto well = doctor(config, redirected);
  INFO(well.output);
  CHECK(well.exit_code == 0);
  CHECK(well.output.find("PROBLEM") == std::string::npos);
  CHECK(well.output.find("all well") != std::string::npos);

  FakeDevice tls_battery(server.port());
  tls_battery.send_bytes(std::string("\x16\x03\x01\x00\xf1\x01\x00\x00\xed\x03\x03", 11) + std::string(64, '\x42'));
  CHECK(tls_battery.closed_by_server());
  CommandResult refused;
  for (int attempt = 0; attempt < 20; ++attempt) {
    refused = doctor(config, redirected);
    if (refused.exit_code != 0) break;
    std::this_thread::sleep_for(250ms);
  }
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  const std::string tls_line = line_with(refused.output, "tls_client_hello");
  CHECK(tls_line.rfind("PROBLEM", 0) == 0);
  CHECK(tls_line.find("127.0.0.1 refused 1 time") != std::string::npos);
  CHECK(refused.output.find("speaks TLS") != std::string::npos);
  CHECK(server.terminate() == 0);
}

TEST_CASE("doctor: a port held by another program / a config problem / sunkeep not running") {
  TempDir dir;
  const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = loopback(0);
  socklen_t size = sizeof address;
  REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&address), size) == 0);
  REQUIRE(::listen(holder, 1) == 0);
  REQUIRE(::getsockname(holder, reinterpret_cast<sockaddr*>(&address), &size) == 0);
  const std::string config = write_fixed_port_config(dir, ntohs(address.sin_port), free_port(SOCK_STREAM), "[log]\nlevel = \"loud\"\n");
  std::string program;
  std::getline(std::ifstream("/proc/self/comm"), program);

  const auto findings = admin::run_doctor({.config_path = config, .resolver = admin::Resolver{"127.0.0.1", 9}, .now = 0});
  const std::string report = admin::format_findings(findings);
  INFO(report);
  CHECK(admin::doctor_exit_code(findings) == 1);
  CHECK(line_with(report, "config").rfind("PROBLEM", 0) == 0);
  CHECK(line_with(report, "config").find(":12") != std::string::npos);  // the key's line
  CHECK(line_with(report, "config").find("log.level") != std::string::npos);

  const std::string valid = write_fixed_port_config(dir, ntohs(address.sin_port), free_port(SOCK_STREAM));
  const std::string held = admin::format_findings(admin::run_doctor({.config_path = valid, .resolver = admin::Resolver{"127.0.0.1", 9}, .now = 0}));
  INFO(held);
  CHECK(line_with(held, "(http.listen) is held by " + program).rfind("PROBLEM", 0) == 0);
  ::close(holder);

  const std::string idle = admin::format_findings(admin::run_doctor({.config_path = valid, .resolver = admin::Resolver{"127.0.0.1", 9}, .now = 0}));
  INFO(idle);
  CHECK(line_with(idle, "(http.listen) is free").rfind("info", 0) == 0);
  CHECK(line_with(idle, "sunkeep is not running").rfind("PROBLEM", 0) == 0);
}

TEST_CASE("doctor: a database restored as another user than its folder's is a problem with the chown to do") {
  TempDir dir;
  const std::string config = write_fixed_port_config(dir, free_port(SOCK_STREAM), free_port(SOCK_STREAM));
  make_database(dir.file("sunkeep.db"), 1);
  const auto as_is = admin::format_findings(admin::run_doctor({.config_path = config, .resolver = admin::Resolver{"127.0.0.1", 9}, .now = 0}));
  CHECK(as_is.find("owned by uid") == std::string::npos);
  REQUIRE_MESSAGE(::chown(dir.file("sunkeep.db").c_str(), 54321, 54321) == 0, "changing a file's owner needs root");
  const auto restored = admin::format_findings(admin::run_doctor({.config_path = config, .resolver = admin::Resolver{"127.0.0.1", 9}, .now = 0}));
  INFO(restored);
  CHECK(line_with(restored, "owned by uid 54321").rfind("PROBLEM", 0) == 0);
  CHECK(restored.find("chown --reference=" + dir.path().string()) != std::string::npos);
}

TEST_CASE("doctor: a full disk under the database is a problem with what to do") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("small"));
  const std::string config = dir.file("full.toml");
  std::ofstream(config) << "[storage]\npath = \"" << dir.file("small") << "/sunkeep.db\"\n"
                        << "[http]\nlisten = \"127.0.0.1:0\"\n[alphaess]\nenabled = false\n[sermatec]\nenabled = false\n[sma]\nenabled = false\n";
  // A 4 MB file system of its own, filled up, in a mount namespace this test makes.
  const std::string script = "mount -t tmpfs -o size=4m tmpfs '" + dir.file("small") + "' && "
                             "(head -c 8000000 /dev/zero > '" + dir.file("small") + "/fill' 2>/dev/null; true) && "
                             "exec '" SUNKEEP_BINARY "' doctor --config '" + config + "'";
  const auto result = run_command({"unshare", "--map-root-user", "--mount", "sh", "-c", script}, 60s);
  INFO(result.output);
  CHECK(result.exit_code == 1);
  const std::string disk = line_with(result.output, "disk is (nearly) full");
  CHECK(disk.rfind("PROBLEM", 0) == 0);
  CHECK(disk.find("0 MB free of 4 MB") != std::string::npos);
  CHECK(result.output.find("move [storage] path") != std::string::npos);
}
