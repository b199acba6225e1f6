// The in-process test server.
#include "tests/support/test_server.hpp"

#include "drivers/registry.hpp"
#include "storage/sample_batch.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

namespace sunkeep::test {

config::Config test_config(const TempDir& dir) {
  config::Config c;
  c.storage.path = dir.file("sunkeep.db");
  c.alphaess.listen = {"127.0.0.1", 0};
  c.http.listen = {"127.0.0.1", 0};
  c.sermatec.enabled = false;
  c.sermatec.listen = {"127.0.0.1", 0};
  c.sma.enabled = false;
  c.sma.energy_meter_listen = {"127.0.0.1", 0};
  return c;
}

TestServer::TestServer(std::function<void(config::Config&)> adjust, drivers::SermatecTiming timing)
    : own_dir_(std::make_unique<TempDir>()) {
  launch(*own_dir_, adjust, timing);
}

TestServer::TestServer(const TempDir& dir, std::function<void(config::Config&)> adjust, drivers::SermatecTiming timing) {
  launch(dir, adjust, timing);
}

void TestServer::launch(const TempDir& dir, const std::function<void(config::Config&)>& adjust,
                        drivers::SermatecTiming timing) {
  config::Config c = test_config(dir);
  if (adjust) adjust(c);
  db_path_ = c.storage.path;
  server_ = std::make_unique<server::Server>(c, drivers::all_drivers(timing));
  server_->start(2);
}

TestServer::~TestServer() { server_.reset(); }

std::unique_ptr<storage::Connection> TestServer::read_db() const {
  return std::make_unique<storage::Connection>(db_path_, storage::Connection::Mode::read_only);
}

std::int64_t count(storage::Connection& db, const std::string& sql) { return db.query_int(sql); }

std::string text(storage::Connection& db, const std::string& sql) {
  auto s = db.prepare(sql);
  return s.step() ? s.text(0) : std::string{};
}

std::vector<storage::Point> stored_samples(storage::Connection& db, const std::string& name) {
  std::set<std::int64_t> series;
  auto ids = db.prepare("SELECT id FROM series WHERE name = ?1");
  ids.bind(1, name);
  while (ids.step()) series.insert(ids.int64(0));
  std::map<std::pair<std::int64_t, UtcMillis>, double> found;  // the first stored value wins
  auto rows = db.prepare("SELECT series_id, t_ms, value FROM sample ORDER BY series_id, t_ms");
  while (rows.step()) {
    if (series.contains(rows.int64(0))) found.emplace(std::make_pair(rows.int64(0), rows.int64(1)), rows.real(2));
  }
  auto batches = db.prepare("SELECT t_ms, data FROM sample_batch ORDER BY id");
  while (batches.step()) {
    const auto values = storage::decode_batch(batches.blob(1));
    REQUIRE(values.has_value());
    for (const auto& v : *values) {
      if (series.contains(v.series)) found.emplace(std::make_pair(v.series, batches.int64(0)), v.value);
    }
  }
  std::vector<storage::Point> out;
  for (const auto& [key, value] : found) out.push_back({key.second, value});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.t < b.t; });
  return out;
}

}  // namespace sunkeep::test
