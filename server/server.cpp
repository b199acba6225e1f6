// The sunkeep server.
#include "server/server.hpp"

#include "server/clock.hpp"
#include "storage/tuning_override.hpp"
#include "web/assets.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sunkeep::server {

namespace asio = boost::asio;

namespace {

// How long stop() waits for the tasks to end before stopping the I/O threads regardless.
constexpr auto task_grace = std::chrono::milliseconds(1500);
constexpr auto sink_grace = std::chrono::milliseconds(300);
constexpr auto mqtt_grace = std::chrono::milliseconds(1500);
constexpr std::size_t query_threads = 2;

// Built-in tuning unless a test or benchmark overrides it (storage/tuning_override.hpp).
storage::WriterTuning writer_tuning() {
  const char* overrides = std::getenv(storage::writer_tuning_variable);
  if (overrides == nullptr) return {};
  spdlog::warn("the writer's tuning is overridden by {}={}", storage::writer_tuning_variable, overrides);
  try {
    return storage::override_tuning({}, overrides);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string(storage::writer_tuning_variable) + ": " + e.what());
  }
}

// [site] with "" as the timezone replaced by the server's own zone.
site::SiteSettings site_settings(const config::SiteConfig& c) {
  return {.name = c.name,
          .timezone = c.timezone.empty() ? local_zone_name() : c.timezone,
          .pv = c.pv,
          .grid = c.grid,
          .battery = c.battery};
}

}  // namespace

Server::Server(config::Config config, const std::vector<DriverFactory>& drivers)
    : config_(std::move(config)),
      http_counters_(std::make_unique<HttpCounters>(metrics_)),
      http_budget_(std::make_unique<AnswerBudget>(std::uint64_t{config_.http.max_buffered_mb} << 20, metrics_)),
      work_(asio::make_work_guard(io_)) {
  const UtcMillis started = now_ms();
  register_server_metrics(started);
  writer_ = std::make_unique<storage::Writer>(config_.storage.path, writer_tuning(), &metrics_);
  sinks_ = std::make_unique<SinkHub>(metrics_);
  observations_ = std::make_unique<ObservationCommitter>(*writer_, *sinks_);
  host_ = std::make_unique<DriverHost>(
      DriverHost{config_, io_, tasks_, *observations_, *writer_, metrics_, config_.storage.path});
  for (const auto& make : drivers) drivers_.push_back(make(*host_));
  reads_ = std::make_unique<ReadPool>(config_.storage.path, query_threads);
  {
    storage::Connection db(config_.storage.path, storage::Connection::Mode::read_only);
    storage::HistoryReader history(db, &writer_->recent());
    load_latest_values(history);
    if (config_.mqtt.enabled) make_mqtt_publisher(started, history.mqtt_topics());
  }
  make_live_stream();
  sinks_->add(latest_);
  metrics_page_ = std::make_unique<MetricsPage>(metrics_, *latest_, static_cast<const api::LiveStatus&>(*this));
  api_ = std::make_unique<api::Api>(api::Settings{.token = config_.http.token,
                                                  .metrics_token = config_.http.metrics_token,
                                                  .max_points = config_.http.max_points,
                                                  .expose_personal_data = config_.http.expose_personal_data,
                                                  .version = SUNKEEP_VERSION,
                                                  .started = started,
                                                  .site = site_settings(config_.site),
                                                  .files = web::files()},
                                    static_cast<const api::LiveStatus&>(*this),
                                    static_cast<const api::HealthStatus&>(*this), metrics_page_.get(), latest_.get());
  // HTTP has one cap for all clients ([http] max_connections), none per host.
  const auto http_limits = config::ConnectionLimits{config_.http.max_connections, config_.http.max_connections};
  http_listener_.emplace(io_, config_.http.listen, "the HTTP API", ConnectionLimiter::create("http", http_limits, &metrics_));
}

Server::~Server() { stop(); }

void Server::load_latest_values(storage::HistoryReader& history) {
  energy_guard_ = std::make_unique<EnergyGuard>(metrics_);
  latest_ = std::make_shared<LatestValues>(*energy_guard_, [this](auto rows) { save_guard(std::move(rows)); });
  latest_->load(history, [this](const std::string& vendor) { return expected_interval_ms(vendor); });
}

void Server::make_live_stream() {
  LiveStream::Hooks hooks{
      .devices = *latest_,
      .online = [this](const DeviceState& d, UtcMillis now) { return online(d.vendor, d.serial, d.last_seen, now); },
      .site_json = [this](UtcMillis now) { return api_->site_latest_json(now); },
      .clock = now_ms};
  live_ = std::make_shared<LiveStream>(LiveLimits{.max_clients = config_.http.max_live_clients}, std::move(hooks), metrics_);
  latest_->subscribe(live_);
}

void Server::make_mqtt_publisher(UtcMillis started, std::map<std::string, std::string> recorded_topics) {
  mqtt::PublisherHooks hooks{
      .online = [this](const DeviceState& d, UtcMillis now) { return online(d.vendor, d.serial, d.last_seen, now); },
      .manufacturer = [this](const std::string& vendor) {
        const Driver* d = driver(vendor);
        return std::string(d != nullptr ? d->manufacturer() : vendor);
      },
      .record_topics = [this](auto published, auto emptied) { record_mqtt_topics(std::move(published), std::move(emptied)); },
      .recorded_topics = std::move(recorded_topics),
      .clock = now_ms};
  mqtt_ = std::make_shared<mqtt::Publisher>(mqtt::resolve_settings(config_.mqtt, SUNKEEP_VERSION, started),
                                            std::move(hooks), metrics_);
  latest_->subscribe(mqtt_);
}

void Server::record_mqtt_topics(std::vector<std::pair<std::string, std::string>> published,
                                std::vector<std::string> emptied) {
  storage::Writer::Job job = [published = std::move(published), emptied = std::move(emptied)](storage::Store& store) {
    store.record_mqtt_topics(published, emptied);
  };
  writer_->async_commit(std::move(job), asio::bind_executor(io_.get_executor(), [](boost::system::error_code ec) {
    if (ec && ec != asio::error::operation_aborted) spdlog::warn("the MQTT topics published were not recorded: {}", ec.message());
  }));
}

std::string Server::mqtt_status() const { return mqtt_ ? mqtt_->status() : "disabled"; }

void Server::save_guard(std::vector<storage::CounterGuardRow> rows) {
  storage::Writer::Job job = [rows = std::move(rows)](storage::Store& store) {
    for (const auto& r : rows) store.save_counter_guard(r.vendor, r.serial, r.metric, r.exposed, r.below_since);
  };
  writer_->async_commit(std::move(job), asio::bind_executor(io_.get_executor(), [](boost::system::error_code ec) {
    if (ec) spdlog::warn("the counter guard's state was not saved: {}", ec.message());
  }));
}

void Server::register_server_metrics(UtcMillis started) {
  metrics_.gauge_reading("sunkeep_build_info", "The running sunkeep's version.", {{"version", SUNKEEP_VERSION}},
                         [] { return 1.0; });
  const double started_s = static_cast<double>(started) / 1000.0;
  metrics_.gauge_reading("sunkeep_process_start_time_seconds", "When this sunkeep started, in Unix seconds.", {},
                         [started_s] { return started_s; });
}

Driver* Server::driver(std::string_view vendor) const {
  for (const auto& d : drivers_) {
    if (d->vendor() == vendor) return d.get();
  }
  return nullptr;
}

bool Server::connected(const std::string& vendor, const std::string& serial) const {
  const Driver* d = driver(vendor);
  return d != nullptr && d->connected(serial);
}

bool Server::online(const std::string& vendor, const std::string& serial, UtcMillis last_seen, UtcMillis now) const {
  const Driver* d = driver(vendor);
  return d != nullptr ? d->online(serial, last_seen, now) : api::LiveStatus::online(vendor, serial, last_seen, now);
}

std::int64_t Server::expected_interval_ms(const std::string& vendor) const {
  const Driver* d = driver(vendor);
  return d != nullptr ? d->expected_interval().count() : api::LiveStatus::expected_interval_ms(vendor);
}

std::vector<std::uint8_t> Server::display_frame(const std::string& vendor, std::span<const std::uint8_t> raw,
                                                bool show_personal) const {
  const Driver* d = driver(vendor);
  return d != nullptr ? d->display_frame(raw, show_personal) : std::vector<std::uint8_t>(raw.begin(), raw.end());
}

std::string Server::storage_status() const { return writer_->storage_status(); }

std::vector<storage::RejectionItem> Server::rejections() const {
  std::vector<storage::RejectionItem> all;
  for (const auto& d : drivers_) {
    auto some = d->rejections();
    all.insert(all.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.last > b.last; });
  return all;
}

void Server::start(std::size_t io_threads) {
  for (const auto& d : drivers_) d->start();
  if (mqtt_) mqtt_->start();
  tasks_.spawn(asio::make_strand(io_), live_->run(), "live stream");
  HttpServices services{*api_, *reads_, writer_->recent(), *http_counters_, *http_budget_, *live_};
  http_listener_->start(tasks_, [this, services](asio::ip::tcp::socket socket, std::shared_ptr<const void> slot) {
    auto executor = socket.get_executor();
    tasks_.spawn(executor, serve_http_connection(std::move(socket), services, std::move(slot)), "http connection");
  });
  if (io_threads == 0) io_threads = std::max(1U, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < io_threads; ++i) threads_.emplace_back([this] { io_.run(); });
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  // `offline` goes out on the publisher's thread while the tasks end and storage is flushed.
  const auto mqtt_deadline = std::chrono::steady_clock::now() + mqtt_grace;
  if (mqtt_) mqtt_->begin_stop();
  tasks_.cancel_all();
  if (!threads_.empty() && !tasks_.wait_until_done(std::chrono::steady_clock::now() + task_grace)) {
    spdlog::warn("{} task(s) still running at shutdown; stopping them", tasks_.running());
  }
  work_.reset();
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  reads_->stop();
  sinks_->stop(std::chrono::steady_clock::now() + sink_grace);
  latest_->save_guard_now();
  writer_->stop();
  if (mqtt_) mqtt_->finish_stop(mqtt_deadline);
  spdlog::info("stopped; storage flushed");
}

void Server::run_until_signal() {
  asio::io_context signal_io;
  asio::signal_set signals(signal_io, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code& ec, int signal) {
    if (!ec) spdlog::info("signal {} received, shutting down", signal);
  });
  signal_io.run();
  stop();
}

}  // namespace sunkeep::server
