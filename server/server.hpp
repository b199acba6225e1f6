// The sunkeep server: storage writer, I/O threads, the device drivers the registry list makes,
// the output sinks fed after each commit, and the HTTP API, with clean shutdown. Names no vendor:
// each vendor is a Driver (server/driver.hpp).
#pragma once

#include "api/api.hpp"
#include "common/metrics.hpp"
#include "config/config.hpp"
#include "mqtt/publisher.hpp"
#include "server/driver.hpp"
#include "server/http_server.hpp"
#include "server/latest_values.hpp"
#include "server/listener.hpp"
#include "server/live_stream.hpp"
#include "server/metrics_page.hpp"
#include "server/observations.hpp"
#include "server/read_pool.hpp"
#include "server/sinks.hpp"
#include "server/task_group.hpp"
#include "storage/writer.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

namespace sunkeep::server {

class Server : private api::LiveStatus, private api::HealthStatus {
 public:
  // Opens storage, makes each driver (binding its listeners) and the HTTP listener; throws
  // std::exception with a clear message when the database cannot be opened or a port cannot be
  // bound.
  Server(config::Config config, const std::vector<DriverFactory>& drivers);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the drivers and the HTTP API on `io_threads` threads (0 = one per core).
  void start(std::size_t io_threads = 0);
  // Cancels every task (listeners, connections, pollers: a frame being committed is committed,
  // its ack may not be sent), waits for them, then commits what the writer holds.
  void stop();
  // Blocks until SIGINT or SIGTERM, then stop().
  void run_until_signal();

  [[nodiscard]] std::uint16_t http_port() const { return http_listener_->port(); }
  // The driver of `vendor`, nullptr when none is registered.
  [[nodiscard]] Driver* driver(std::string_view vendor) const;
  [[nodiscard]] metrics::Registry& metrics() { return metrics_; }
  [[nodiscard]] SinkHub& sinks() { return *sinks_; }
  [[nodiscard]] const LatestValues& latest_values() const { return *latest_; }
  [[nodiscard]] LiveStream& live_stream() { return *live_; }
  [[nodiscard]] HttpCounters& http_counters() { return *http_counters_; }
  [[nodiscard]] const AnswerBudget& http_budget() const { return *http_budget_; }
  [[nodiscard]] const ConnectionLimiter& http_limiter() const { return http_listener_->limiter(); }
  [[nodiscard]] const config::Config& config() const { return config_; }

 private:
  [[nodiscard]] bool connected(const std::string& vendor, const std::string& serial) const override;
  [[nodiscard]] bool online(const std::string& vendor, const std::string& serial, UtcMillis last_seen,
                            UtcMillis now) const override;
  [[nodiscard]] std::int64_t expected_interval_ms(const std::string& vendor) const override;
  [[nodiscard]] std::vector<std::uint8_t> display_frame(const std::string& vendor, std::span<const std::uint8_t> raw,
                                                        bool show_personal) const override;
  [[nodiscard]] std::string storage_status() const override;
  [[nodiscard]] std::vector<storage::RejectionItem> rejections() const override;
  [[nodiscard]] std::string mqtt_status() const override;
  // The live stream of /api/v1/live, following the latest values.
  void make_live_stream();
  // The MQTT publisher, following the latest values, when [mqtt] is enabled.
  void make_mqtt_publisher(UtcMillis started, std::map<std::string, std::string> recorded_topics);
  // Records the retained MQTT topics published and emptied, through the writer.
  void record_mqtt_topics(std::vector<std::pair<std::string, std::string>> published, std::vector<std::string> emptied);
  // Build info and `started` (the process's start, also the API's uptime base).
  void register_server_metrics(UtcMillis started);
  void load_latest_values(storage::HistoryReader& history);
  // Saves the counter guard's changes through the writer (from the latest-values sink's thread).
  void save_guard(std::vector<storage::CounterGuardRow> rows);

  config::Config config_;
  metrics::Registry metrics_;
  // Before io_: the HTTP coroutines destroyed with it at shutdown still count into these.
  std::unique_ptr<HttpCounters> http_counters_;
  std::unique_ptr<AnswerBudget> http_budget_;
  // Before io_ too: a live stream's connection coroutine left for io_'s destruction leaves it then.
  std::shared_ptr<LiveStream> live_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  TaskGroup tasks_;
  std::unique_ptr<storage::Writer> writer_;
  std::unique_ptr<SinkHub> sinks_;
  std::unique_ptr<EnergyGuard> energy_guard_;
  std::shared_ptr<LatestValues> latest_;
  std::shared_ptr<mqtt::Publisher> mqtt_;
  std::unique_ptr<ObservationCommitter> observations_;
  std::unique_ptr<DriverHost> host_;
  std::vector<std::unique_ptr<Driver>> drivers_;
  std::unique_ptr<ReadPool> reads_;
  std::unique_ptr<MetricsPage> metrics_page_;
  std::unique_ptr<api::Api> api_;
  std::optional<Listener> http_listener_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace sunkeep::server
