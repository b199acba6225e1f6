// Database read threads for the HTTP API.
#include "server/read_pool.hpp"

namespace sunkeep::server {

ReadPool::ReadPool(std::string database_path, std::size_t threads)
    : path_(std::move(database_path)), pool_(threads) {}

ReadPool::~ReadPool() { stop(); }

void ReadPool::stop() {
  pool_.stop();
  pool_.join();
}

ReadPool::Lease::Lease(ReadPool& p) : pool(p) {
  {
    std::lock_guard lock(pool.mutex_);
    if (!pool.idle_.empty()) {
      connection = std::move(pool.idle_.back());
      pool.idle_.pop_back();
    }
  }
  if (!connection) connection = std::make_unique<storage::Connection>(pool.path_, storage::Connection::Mode::read_only);
}

ReadPool::Lease::~Lease() {
  std::lock_guard lock(pool.mutex_);
  pool.idle_.push_back(std::move(connection));
}

}  // namespace sunkeep::server
