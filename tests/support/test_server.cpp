// The in-process test server.
#include "tests/support/test_server.hpp"

namespace sunkeep::test {

config::Config test_config(const TempDir& dir) {
  config::Config c;
  c.storage.path = dir.file("sunkeep.db");
  c.alphaess.listen = {"127.0.0.1", 0};
  c.http.listen = {"127.0.0.1", 0};
  c.sermatec.enabled = false;
  c.sermatec.listen = {"127.0.0.1", 0};
  return c;
}

TestServer::TestServer(std::function<void(config::Config&)> adjust, server::SermatecTiming timing)
    : own_dir_(std::make_unique<TempDir>()) {
  launch(*own_dir_, adjust, timing);
}

TestServer::TestServer(const TempDir& dir, std::function<void(config::Config&)> adjust, server::SermatecTiming timing) {
  launch(dir, adjust, timing);
}

void TestServer::launch(const TempDir& dir, const std::function<void(config::Config&)>& adjust,
                        server::SermatecTiming timing) {
  config::Config c = test_config(dir);
  if (adjust) adjust(c);
  db_path_ = c.storage.path;
  server_ = std::make_unique<server::Server>(c, timing);
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

}  // namespace sunkeep::test
