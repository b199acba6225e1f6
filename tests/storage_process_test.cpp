// The storage promises of the real `sunkeep serve` binary (issue: nothing acknowledged is lost):
// restarts on a full disk, kill -9, a drain once room is back, a database that is read-only at
// start or deleted while running. Every acknowledged record is checked over HTTP at every step.
#include "common/civil_time.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/fake_device.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

using namespace sunkeep;
using namespace sunkeep::test;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view serial = "ALFULL";
constexpr std::string_view no_drain = "SUNKEEP_WRITER_TUNING=drain_interval_ms=3600000,drain_threshold=1000000";

// The i-th push: Pbat holds i; forty more numbers make its samples need pages of their own.
std::string push(int i) {
  const CivilTime base{2024, 3, 1, 0, 0, 0};
  const auto time = civil_from_naive_seconds(base.naive_epoch_seconds() + 10LL * i).to_device_string();
  std::string extra;
  for (int k = 0; k < 40; ++k) extra += R"(,"Extra)" + std::to_string(k) + R"(":")" + std::to_string(i * 1000 + k) + "\"";
  return R"({"Time":")" + time + R"(","SN":")" + std::string(serial) + R"(","Pbat":")" + std::to_string(i) + "\"" +
         extra + "}";
}

// Sends pushes first..first+count-1 and returns those acknowledged.
std::set<int> send_pushes(std::uint16_t port, int first, int count) {
  FakeDevice device(port);
  std::set<int> acked;
  for (int i = first; i < first + count; ++i) {
    const auto ack = device.exchange(16, push(i));
    if (!ack) break;
    acked.insert(i);
  }
  return acked;
}

// The Pbat values the API serves for the device: the numbers of the pushes it holds.
std::set<int> served_pushes(std::uint16_t http_port) {
  const HttpReply reply = http_get(http_port, "/api/v1/devices/alphaess:" + std::string(serial) +
                                                  "/series?metric=Pbat&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z");
  REQUIRE(reply.status == 200);
  const auto answer = nlohmann::json::parse(reply.body);
  std::set<int> served;
  for (const auto& point : answer["series"][0]["points"]) {
    served.insert(static_cast<int>(point[1].get<double>()));
  }
  return served;
}

std::string storage_health(std::uint16_t http_port) {
  const HttpReply reply = http_get(http_port, "/api/v1/health");
  REQUIRE(reply.status == 200);
  return nlohmann::json::parse(reply.body)["storage"].get<std::string>();
}

// Waits, bounded, until health's storage field starts with `prefix`.
bool storage_becomes(std::uint16_t http_port, std::string_view prefix, std::chrono::seconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (storage_health(http_port).starts_with(prefix)) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::int64_t waiting_batches(const std::string& db_path) {
  storage::Connection db(db_path);
  return db.query_int("SELECT count(*) FROM sample_batch");
}

// Leaves no room in the database file: no free page inside it (VACUUM) and, through the
// writer tuning, none to grow into: SQLite then fails writes with SQLITE_FULL, as on a full disk.
std::string no_room_left(const std::string& db_path) {
  storage::Connection db(db_path);
  db.exec("VACUUM");
  return "SUNKEEP_WRITER_TUNING=drain_interval_ms=100,failure_pause_ms=100,max_page_count=" +
         std::to_string(db.query_int("PRAGMA page_count"));
}

bool running_as_root() { return ::geteuid() == 0; }
constexpr uid_t nobody = 65534;

// Options that run the server as an unprivileged user when the test is root (root ignores file
// modes), with the folder and config readable by that user.
ServerOptions unprivileged(const TempDir& dir, const std::string& config) {
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  ServerOptions options{.config_path = config, .log_path = dir.file("server.log")};
  if (running_as_root()) options.user = nobody;
  return options;
}

// A real small filesystem: a tmpfs of `bytes` on `folder`, in a mount namespace of this test
// process alone (the servers it starts inherit it), when the kernel lets it make one.
class SmallFilesystem {
 public:
  SmallFilesystem(const std::string& folder, std::size_t bytes) : folder_(folder) {
    std::filesystem::create_directories(folder);
    mounted_ = ::unshare(CLONE_NEWNS) == 0 && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
               ::mount("tmpfs", folder.c_str(), "tmpfs", 0, ("size=" + std::to_string(bytes)).c_str()) == 0;
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(folder_.c_str(), MNT_DETACH);
  }
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;
  [[nodiscard]] bool mounted() const { return mounted_; }

  // Writes a file until the filesystem has no byte left.
  void fill() {
    const int fd = ::open(filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    const std::string chunk(4096, 'x');
    for (int i = 0; i < 1'000'000 && ::write(fd, chunk.data(), chunk.size()) > 0; ++i) {
    }
    for (int i = 0; i < 4096 && ::write(fd, chunk.data(), 1) > 0; ++i) {
    }
    ::close(fd);
  }
  void free_room() { std::filesystem::remove(filler()); }

 private:
  [[nodiscard]] std::string filler() const { return folder_ + "/filler"; }
  std::string folder_;
  bool mounted_ = false;
};

}  // namespace

TEST_CASE("small filesystem filled up: every ack stays readable, or the server refuses to start saying why") {
  TempDir dir;
  const std::string folder = dir.file("small");
  SmallFilesystem disk(folder, 8U << 20);
  if (!disk.mounted()) {
    MESSAGE("skipped: this test may not mount a tmpfs in a mount namespace of its own");
    return;
  }
  const std::string config = write_loopback_config(folder);
  const std::string db_path = folder + "/sunkeep.db";
  const std::string log_path = dir.file("server.log");
  std::set<int> acked;
  {
    ServerProcess server({.config_path = config, .log_path = log_path, .environment = {std::string(no_drain)}});
    acked.merge(send_pushes(server.port(), 0, 100));
    REQUIRE(acked.size() == 100);
    server.kill_hard();
  }
  disk.fill();
  int next = 100;
  for (int restart = 0; restart < 3; ++restart) {
    CAPTURE(restart);
    try {
      ServerProcess server({.config_path = config, .log_path = log_path});
      CHECK(served_pushes(server.http_port()) == acked);
      // Whatever it acknowledges now is stored too, and is checked with the rest.
      acked.merge(send_pushes(server.port(), next, 10));
      next += 10;
      CHECK(served_pushes(server.http_port()) == acked);
      MESSAGE("started on the full filesystem; storage: ", storage_health(server.http_port()));
      if (restart % 2 == 0) {
        server.kill_hard();
      } else {
        CHECK(server.terminate() == 0);
      }
    } catch (const ServerExited& refused) {
      // Refusing is allowed, with exit 1 and a line naming the database and the room left.
      MESSAGE("refused to start on the full filesystem");
      CHECK(refused.code == 1);
      CHECK_MESSAGE(refused.log.find(db_path) != std::string::npos, refused.log);
      CHECK_MESSAGE(refused.log.find("free") != std::string::npos, refused.log);
    }
  }
  disk.free_room();
  {
    ServerProcess server({.config_path = config, .log_path = log_path,
                          .environment = {"SUNKEEP_WRITER_TUNING=drain_interval_ms=100"}});
    CHECK(served_pushes(server.http_port()) == acked);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (waiting_batches(db_path) > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    CHECK(waiting_batches(db_path) == 0);
    CHECK(storage_becomes(server.http_port(), "ok"));
    CHECK(server.terminate() == 0);
  }
  ServerProcess server({.config_path = config, .log_path = log_path});
  CHECK(served_pushes(server.http_port()) == acked);
}

TEST_CASE("full disk: restarts full, kill -9, drain once room is back, restart / every ack stays readable") {
  TempDir dir;
  const std::string config = write_loopback_config(dir.path().string());
  const std::string db_path = dir.file("sunkeep.db");
  const ServerOptions plain{.config_path = config, .log_path = dir.file("server.log"), .environment = {std::string(no_drain)}};
  std::set<int> acked;
  {  // Records acked and kept as sample batches; a clean stop.
    ServerProcess server(plain);
    acked.merge(send_pushes(server.port(), 0, 30));
    REQUIRE(acked.size() == 30);
    CHECK(server.terminate() == 0);
  }
  {  // More, then kill -9.
    ServerProcess server(plain);
    acked.merge(send_pushes(server.port(), 30, 30));
    REQUIRE(acked.size() == 60);
    server.kill_hard();
  }
  // The second start drained the first run's batches at once; the second run's wait.
  const std::int64_t waiting = waiting_batches(db_path);
  REQUIRE(waiting >= 30);
  const std::string full = no_room_left(db_path);
  for (int restart = 0; restart < 2; ++restart) {
    CAPTURE(restart);
    ServerProcess server({.config_path = config, .log_path = dir.file("server.log"), .environment = {full}});
    CHECK(served_pushes(server.http_port()) == acked);  // readable at once, from the batches
    CHECK(storage_becomes(server.http_port(), "failing: database or disk is full"));  // its drain failed
    CHECK(served_pushes(server.http_port()) == acked);  // and lost nothing
    if (restart == 0) {
      server.kill_hard();
    } else {
      CHECK(server.terminate() == 0);
    }
    CHECK(waiting_batches(db_path) == waiting);  // none deleted unmoved
  }
  {  // Room again: the drain moves every batch, deletes exactly those, and everything is served.
    ServerProcess server({.config_path = config, .log_path = dir.file("server.log"),
                          .environment = {"SUNKEEP_WRITER_TUNING=drain_interval_ms=100"}});
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (waiting_batches(db_path) > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    CHECK(waiting_batches(db_path) == 0);
    CHECK(served_pushes(server.http_port()) == acked);
    CHECK(storage_health(server.http_port()) == "ok");
    CHECK(server.terminate() == 0);
  }
  ServerProcess server(plain);
  CHECK(served_pushes(server.http_port()) == acked);
}

TEST_CASE("read-only database at start: exit 1 with a line naming the database") {
  TempDir dir;
  const std::string config = write_loopback_config(dir.path().string());
  const std::string db_path = dir.file("sunkeep.db");
  {  // A database made by a first run.
    ServerProcess server({.config_path = config, .log_path = dir.file("server.log")});
    REQUIRE(send_pushes(server.port(), 0, 3).size() == 3);
    REQUIRE(server.terminate() == 0);
  }
  SUBCASE("the file is read-only, the folder too") {
    std::filesystem::permissions(db_path, std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                              std::filesystem::perms::others_read);
    ServerOptions options = unprivileged(dir, config);
    // Nobody may write the folder (r-x for all), so the log goes elsewhere.
    using std::filesystem::perms;
    const auto read_and_enter = perms::owner_read | perms::owner_exec | perms::group_read | perms::group_exec |
                                perms::others_read | perms::others_exec;
    std::filesystem::permissions(dir.path(), read_and_enter);
    options.log_path = (std::filesystem::temp_directory_path() / ("sunkeep-readonly-" + std::to_string(::getpid()) + ".log")).string();
    CHECK(run_until_exit(options) == 1);
    std::filesystem::permissions(dir.path(), perms::owner_all | read_and_enter);  // so that it can be removed
    const std::string log = file_text(options.log_path);
    CHECK_MESSAGE(log.find(db_path) != std::string::npos, log);
    std::filesystem::remove(options.log_path);
  }
  SUBCASE("the file is read-only in a writable folder (WAL mode)") {
    std::filesystem::permissions(db_path, std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                              std::filesystem::perms::others_read);
    const ServerOptions options = unprivileged(dir, config);
    CHECK(run_until_exit(options) == 1);
    const std::string log = file_text(options.log_path);
    CHECK_MESSAGE(log.find(db_path) != std::string::npos, log);
  }
}

TEST_CASE("deleted database while running: acks stop, the log and health say why") {
  TempDir dir;
  const std::string db_path = dir.file("sunkeep.db");
  ServerProcess server({.config_path = write_loopback_config(dir.path().string()), .log_path = dir.file("server.log")});
  REQUIRE(send_pushes(server.port(), 0, 5).size() == 5);
  for (const auto* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path + suffix);
  // Noticed within seconds, without any device sending.
  CHECK(storage_becomes(server.http_port(), "failing: database file was deleted or replaced"));
  CHECK(send_pushes(server.port(), 5, 20).empty());
  CHECK(file_text(dir.file("server.log")).find("was deleted or replaced") != std::string::npos);
}
