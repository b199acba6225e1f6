// An in-process sunkeep server on a loopback ephemeral port with its own database, for tests.
#pragma once

#include "config/config.hpp"
#include "drivers/alphaess/driver.hpp"
#include "drivers/sermatec/driver.hpp"
#include "drivers/sma/driver.hpp"
#include "server/server.hpp"
#include "storage/sample_block.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/fixtures.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sunkeep::test {

// A config for tests: loopback, any free port, database in `dir`.
config::Config test_config(const TempDir& dir);

class TestServer {
 public:
  explicit TestServer(std::function<void(config::Config&)> adjust = {}, drivers::SermatecTiming timing = {});
  TestServer(const TempDir& dir, std::function<void(config::Config&)> adjust, drivers::SermatecTiming timing = {});
  ~TestServer();

  [[nodiscard]] std::uint16_t port() const { return alphaess().port(); }
  [[nodiscard]] std::uint16_t http_port() const { return server_->http_port(); }
  [[nodiscard]] drivers::AlphaEssCounters& counters() { return alphaess().counters(); }
  [[nodiscard]] server::HttpCounters& http_counters() { return server_->http_counters(); }
  [[nodiscard]] const server::AnswerBudget& http_budget() const { return server_->http_budget(); }
  [[nodiscard]] drivers::SermatecCounters& sermatec_counters() { return sermatec().counters(); }
  [[nodiscard]] const server::ConnectionLimiter& alphaess_limiter() const { return *alphaess().limiter(); }
  [[nodiscard]] std::uint16_t sermatec_port() const { return sermatec().port(); }
  [[nodiscard]] drivers::SmaCounters& sma_counters() { return sma().counters(); }
  [[nodiscard]] std::uint16_t sma_meter_port() const { return sma().port(); }
  [[nodiscard]] server::Server& server() { return *server_; }
  [[nodiscard]] const std::string& db_path() const { return db_path_; }
  // A read-only connection to the server's database (WAL lets it read while the server writes).
  [[nodiscard]] std::unique_ptr<storage::Connection> read_db() const;
  void stop() { server_->stop(); }

 private:
  [[nodiscard]] drivers::AlphaEssDriver& alphaess() const {
    return dynamic_cast<drivers::AlphaEssDriver&>(*server_->driver("alphaess"));
  }
  [[nodiscard]] drivers::SermatecDriver& sermatec() const {
    return dynamic_cast<drivers::SermatecDriver&>(*server_->driver("sermatec"));
  }
  [[nodiscard]] drivers::SmaDriver& sma() const { return dynamic_cast<drivers::SmaDriver&>(*server_->driver("sma")); }
  void launch(const TempDir& dir, const std::function<void(config::Config&)>& adjust, drivers::SermatecTiming timing);

  std::unique_ptr<TempDir> own_dir_;
  std::string db_path_;
  std::unique_ptr<server::Server> server_;
};

// Single-value helpers over a read-only connection.
std::int64_t count(storage::Connection& db, const std::string& sql);
std::string text(storage::Connection& db, const std::string& sql);

// The durably stored samples of every series named `name` as (time, value), by time: the
// `sample` rows and the `sample_batch` rows the writer has not moved into `sample` yet.
std::vector<storage::Point> stored_samples(storage::Connection& db, const std::string& name);

}  // namespace sunkeep::test
