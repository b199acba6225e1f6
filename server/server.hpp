// The sunkeep server: storage writer, I/O threads and the device listeners, with clean shutdown.
#pragma once

#include "api/api.hpp"
#include "config/config.hpp"
#include "server/alphaess_session.hpp"
#include "server/connection_limiter.hpp"
#include "server/http_server.hpp"
#include "server/read_pool.hpp"
#include "server/sermatec_session.hpp"
#include "storage/writer.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace sunkeep::server {

class Server : private api::LiveStatus, private api::HealthStatus {
 public:
  // Opens storage and binds every enabled listener; throws std::exception with a clear message
  // when the database cannot be opened or a port cannot be bound.
  explicit Server(config::Config config, SermatecTiming sermatec_timing = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts accepting on `io_threads` threads (0 = one per core).
  void start(std::size_t io_threads = 0);
  // Stops accepting, closes every connection (a frame being committed is committed; its ack may
  // not be sent), waits for the sessions, then commits what the writer holds.
  void stop();
  // Blocks until SIGINT or SIGTERM, then stop().
  void run_until_signal();

  [[nodiscard]] std::uint16_t alphaess_port() const;
  [[nodiscard]] std::uint16_t http_port() const;
  [[nodiscard]] std::uint16_t sermatec_port() const;
  [[nodiscard]] SermatecCounters& sermatec_counters() { return sermatec_->counters; }
  [[nodiscard]] AlphaEssCounters& alphaess_counters() { return alphaess_->counters; }
  [[nodiscard]] HttpCounters& http_counters() { return http_counters_; }
  [[nodiscard]] const ConnectionLimiter& alphaess_limiter() const { return *alphaess_limiter_; }
  [[nodiscard]] const ConnectionLimiter& sermatec_limiter() const { return *sermatec_limiter_; }
  [[nodiscard]] const config::Config& config() const { return config_; }

 private:
  // A device connection admitted under its listener's caps, with its slot to hold while it lasts.
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket, std::shared_ptr<const void> slot)>;
  void spawn_accept_loop(boost::asio::ip::tcp::acceptor& acceptor, std::shared_ptr<ConnectionLimiter> limiter,
                         OnAccept on_accept);
  [[nodiscard]] std::size_t device_connections() const;
  [[nodiscard]] bool connected(const std::string& vendor, const std::string& serial) const override;
  [[nodiscard]] std::string storage_status() const override;
  [[nodiscard]] std::vector<storage::RejectionItem> rejections() const override;
  void close_acceptor(std::optional<boost::asio::ip::tcp::acceptor>& acceptor);

  config::Config config_;
  // Before io_: the HTTP coroutines destroyed with it at shutdown still count into these.
  HttpCounters http_counters_;
  std::unique_ptr<AnswerBudget> http_budget_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<storage::Writer> writer_;
  std::unique_ptr<AlphaEssShared> alphaess_;
  std::optional<boost::asio::ip::tcp::acceptor> alphaess_acceptor_;
  std::unique_ptr<SermatecShared> sermatec_;
  std::optional<boost::asio::ip::tcp::acceptor> sermatec_acceptor_;
  std::shared_ptr<ConnectionLimiter> alphaess_limiter_, sermatec_limiter_;
  std::unique_ptr<ReadPool> reads_;
  std::unique_ptr<api::Api> api_;
  std::optional<boost::asio::ip::tcp::acceptor> http_acceptor_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace sunkeep::server
