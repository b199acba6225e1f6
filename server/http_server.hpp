// The HTTP/1.1 transport of the API (Boost.Beast): one coroutine per connection with keep-alive,
// a timeout on every read and on every chunk written, header and body size limits, a cap on open
// connections, a budget of answer bytes held for clients, and queries on the ReadPool (health and
// refusals are answered on the connection's own strand, from memory).
#pragma once

#include "api/api.hpp"
#include "common/metrics.hpp"
#include "server/live_stream.hpp"
#include "server/read_pool.hpp"
#include "storage/recent_samples.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace sunkeep::server {

struct HttpLimits {
  static constexpr std::uint32_t header_bytes = 8 * 1024;
  static constexpr std::uint64_t body_bytes = 8 * 1024;
  // To send a request, to take each chunk of an answer, and the longest wait for budget room.
  static constexpr std::chrono::seconds io_timeout{30};
  // Answers are written this much at a time; larger ones are charged to the AnswerBudget.
  static constexpr std::size_t write_chunk_bytes = 64 * 1024;
};

// What the HTTP transport counts, as series of the metrics registry (its connections are counted
// by its listener's limiter, listener="http").
struct HttpCounters {
  explicit HttpCounters(metrics::Registry& metrics);

  metrics::Counter& requests;
  metrics::Counter& malformed;
  metrics::Counter& storage_queries;  // requests sent to the query threads
  metrics::Counter& answers_busy;     // 503 busy: no room in the budget in time
  metrics::Counter& write_timeouts;   // clients dropped for not taking a chunk
};

// The bytes of answers held for clients, all connections together ([http] max_buffered_mb). An
// answer larger than one write chunk is charged from the moment it is rendered until it has been
// written (or its client dropped); smaller ones are not counted (one per connection at most).
// Thread-safe; held() (sunkeep_http_answer_bytes_held) shows what is charged.
class AnswerBudget {
 public:
  // Bytes charged for one answer, given back when destroyed or reset.
  class Charge {
   public:
    Charge() = default;
    Charge(Charge&& other) noexcept;
    Charge& operator=(Charge&& other) noexcept;
    Charge(const Charge&) = delete;
    Charge& operator=(const Charge&) = delete;
    ~Charge() { reset(); }

    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }
    void reset();

   private:
    friend class AnswerBudget;
    AnswerBudget* budget_ = nullptr;
    std::uint64_t bytes_ = 0;
  };

  AnswerBudget(std::uint64_t capacity_bytes, metrics::Registry& metrics);
  AnswerBudget(const AnswerBudget&) = delete;
  AnswerBudget& operator=(const AnswerBudget&) = delete;

  [[nodiscard]] std::uint64_t capacity() const { return capacity_; }
  [[nodiscard]] std::uint64_t held() const { return held_.load(); }
  // The most charged at once since start.
  [[nodiscard]] std::uint64_t peak() const { return peak_.load(); }
  // Makes `charge` hold `bytes`; false, leaving it as it was, when the growth does not fit.
  bool resize(Charge& charge, std::uint64_t bytes);
  // Waits, on the calling coroutine's executor, until `bytes` fit and returns them charged;
  // nullopt once `deadline` has passed.
  boost::asio::awaitable<std::optional<Charge>> charge_when_room(std::uint64_t bytes,
                                                                 std::chrono::steady_clock::time_point deadline);

 private:
  using Waiter = std::shared_ptr<boost::asio::steady_timer>;
  bool take(std::uint64_t bytes);
  void give_back(std::uint64_t bytes);
  void forget(const Waiter& waiter);

  const std::uint64_t capacity_;
  std::atomic<std::uint64_t> held_{0};
  std::atomic<std::uint64_t> peak_{0};
  std::mutex mutex_;
  std::vector<Waiter> waiters_;  // woken (their timer cancelled on its strand) when bytes are given back
};

// What every HTTP connection uses; all of it outlives the accept loop.
struct HttpServices {
  const api::Api& api;
  ReadPool& reads;
  const storage::RecentSamples& recent;  // the writer's samples not yet in the `sample` table
  HttpCounters& counters;
  AnswerBudget& budget;
  LiveStream& live;
};

// Serves one accepted connection until it closes; `slot` (its place under the listener's caps)
// is held until then.
boost::asio::awaitable<void> serve_http_connection(boost::asio::ip::tcp::socket socket, HttpServices services,
                                                   std::shared_ptr<const void> slot);

}  // namespace sunkeep::server
