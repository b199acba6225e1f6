// Threads that run database reads for the HTTP API, each with its own read-only SQLite
// connection, so a slow query never blocks the I/O threads that ack devices.
#pragma once

#include "storage/sqlite.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

namespace sunkeep::server {

class ReadPool {
 public:
  ReadPool(std::string database_path, std::size_t threads);
  ~ReadPool();
  ReadPool(const ReadPool&) = delete;
  ReadPool& operator=(const ReadPool&) = delete;

  // Runs `query(connection)` on a pool thread and resumes the caller on its own executor.
  template <class Query>
  boost::asio::awaitable<std::invoke_result_t<Query&, storage::Connection&>> run(Query query) {
    using Result = std::invoke_result_t<Query&, storage::Connection&>;
    auto task = [this, q = std::move(query)]() mutable -> boost::asio::awaitable<Result> {
      Lease lease(*this);
      co_return q(*lease.connection);
    };
    co_return co_await boost::asio::co_spawn(pool_.get_executor(), std::move(task), boost::asio::use_awaitable);
  }

  void stop();

 private:
  // A connection borrowed for one query, returned on destruction.
  struct Lease {
    explicit Lease(ReadPool& p);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ReadPool& pool;
    std::unique_ptr<storage::Connection> connection;
  };

  std::string path_;
  boost::asio::thread_pool pool_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<storage::Connection>> idle_;
};

}  // namespace sunkeep::server
