// The sunkeep server.
#include "server/server.hpp"

#include "server/clock.hpp"
#include "server/connection.hpp"
#include "server/sermatec_connector.hpp"
#include "storage/tuning_override.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>

namespace sunkeep::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto shutdown_grace = std::chrono::seconds(10);
constexpr std::size_t query_threads = 2;

tcp::acceptor bind_acceptor(asio::io_context& io, const config::Endpoint& where, const char* what) {
  const tcp::endpoint endpoint(asio::ip::make_address(where.host), where.port);
  tcp::acceptor acceptor(asio::make_strand(io));
  try {
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(std::string("cannot listen for ") + what + " on " + where.to_string() + ": " +
                             e.code().message());
  }
  return acceptor;
}

// The refused connections stored so far, for health to list from memory.
void load_rejections(const std::string& database_path, RejectionSummary& summary) {
  storage::Connection db(database_path, storage::Connection::Mode::read_only);
  storage::HistoryReader history(db);
  summary.load(history.rejections());
}

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

}  // namespace

Server::Server(config::Config config, SermatecTiming sermatec_timing)
    : config_(std::move(config)),
      http_budget_(std::make_unique<AnswerBudget>(std::uint64_t{config_.http.max_buffered_mb} << 20, http_counters_)),
      work_(asio::make_work_guard(io_)) {
  writer_ = std::make_unique<storage::Writer>(config_.storage.path, writer_tuning());
  alphaess_ = std::make_unique<AlphaEssShared>(config_.alphaess, *writer_);
  load_rejections(config_.storage.path, alphaess_->counters.rejection_summary);
  if (config_.alphaess.enabled) {
    alphaess_acceptor_.emplace(bind_acceptor(io_, config_.alphaess.listen, "AlphaESS devices"));
  }
  alphaess_limiter_ = ConnectionLimiter::create("alphaess", config_.alphaess.limits);
  sermatec_limiter_ = ConnectionLimiter::create("sermatec", config_.sermatec.limits);
  sermatec_ = std::make_unique<SermatecShared>(config_.sermatec, *writer_, sermatec_timing);
  if (config_.sermatec.enabled) {
    sermatec_acceptor_.emplace(bind_acceptor(io_, config_.sermatec.listen, "Sermatec inverters"));
  }
  reads_ = std::make_unique<ReadPool>(config_.storage.path, query_threads);
  api_ = std::make_unique<api::Api>(api::Settings{.token = config_.http.token,
                                                  .max_points = config_.http.max_points,
                                                  .expose_personal_data = config_.http.expose_personal_data,
                                                  .version = SUNKEEP_VERSION,
                                                  .started = now_ms(),
                                                  .expected_interval_ms = {{alphaess_vendor, 10'000},
                                                                           {sermatec_vendor, config_.sermatec.poll_interval.count()}}},
                                    static_cast<const api::LiveStatus&>(*this),
                                    static_cast<const api::HealthStatus&>(*this));
  http_acceptor_.emplace(bind_acceptor(io_, config_.http.listen, "the HTTP API"));
}

bool Server::connected(const std::string& vendor, const std::string& serial) const {
  if (vendor == alphaess_vendor) return alphaess_->registry.bound(serial);
  if (vendor == sermatec_vendor) return sermatec_->registry.bound("serial:" + serial);
  return false;
}

std::string Server::storage_status() const { return writer_->storage_status(); }

std::vector<storage::RejectionItem> Server::rejections() const {
  return alphaess_->counters.rejection_summary.newest_first();
}

std::uint16_t Server::sermatec_port() const {
  return sermatec_acceptor_ ? sermatec_acceptor_->local_endpoint().port() : 0;
}

std::size_t Server::device_connections() const {
  return alphaess_->counters.connections_open.load() + sermatec_->counters.connections_open.load();
}

std::uint16_t Server::http_port() const { return http_acceptor_ ? http_acceptor_->local_endpoint().port() : 0; }

void Server::close_acceptor(std::optional<tcp::acceptor>& acceptor) {
  if (!acceptor) return;
  std::promise<void> closed;
  asio::post(acceptor->get_executor(), [&acceptor, &closed] {
    boost::system::error_code ignored;
    acceptor->close(ignored);
    closed.set_value();
  });
  if (!threads_.empty()) closed.get_future().wait();
}

Server::~Server() { stop(); }

std::uint16_t Server::alphaess_port() const {
  return alphaess_acceptor_ ? alphaess_acceptor_->local_endpoint().port() : 0;
}

void Server::spawn_accept_loop(tcp::acceptor& acceptor, std::shared_ptr<ConnectionLimiter> limiter, OnAccept on_accept) {
  asio::co_spawn(
      acceptor.get_executor(),
      [this, &acceptor, limiter = std::move(limiter), on_accept = std::move(on_accept)]() -> asio::awaitable<void> {
        asio::steady_timer backoff(acceptor.get_executor());
        while (acceptor.is_open()) {
          auto accepted = co_await acceptor.async_accept(asio::make_strand(io_), asio::as_tuple(asio::use_awaitable));
          const boost::system::error_code ec = std::get<0>(accepted);
          if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
          if (ec) {
            // Out of descriptors or similar: wait a little instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            backoff.expires_after(std::chrono::milliseconds(100));
            co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
          }
          tcp::socket socket = std::move(std::get<1>(accepted));
          std::string host;
          peer_text(socket, host);
          auto slot = limiter->admit(host);
          if (!slot) {
            close_socket(socket);  // beyond a cap: closed at once
            continue;
          }
          on_accept(std::move(socket), std::move(slot));
        }
      },
      asio::detached);
}

void Server::start(std::size_t io_threads) {
  if (alphaess_acceptor_) {
    spdlog::info("listening for AlphaESS devices on {} (device clock zone {})",
                 config::Endpoint{config_.alphaess.listen.host, alphaess_port()}.to_string(),
                 config_.alphaess.timezone);
    spawn_accept_loop(*alphaess_acceptor_, alphaess_limiter_, [this](tcp::socket socket, std::shared_ptr<const void> slot) {
      AlphaEssSession::start(std::make_shared<AlphaEssSession>(std::move(socket), *alphaess_), std::move(slot));
    });
  }
  if (sermatec_acceptor_) {
    spdlog::info("listening for Sermatec inverters on {}",
                 config::Endpoint{config_.sermatec.listen.host, sermatec_port()}.to_string());
    spawn_accept_loop(*sermatec_acceptor_, sermatec_limiter_, [this](tcp::socket socket, std::shared_ptr<const void> slot) {
      SermatecSession::start(std::make_shared<SermatecSession>(std::move(socket), *sermatec_, SermatecOrigin::cloud),
                             std::move(slot));
    });
  }
  if (config_.sermatec.enabled) {
    for (const auto& inverter : config_.sermatec.inverters) {
      spdlog::info("polling Sermatec inverter {}:{} (local mode)", inverter.host, inverter.port);
      spawn_sermatec_connector(io_, inverter, *sermatec_);
    }
  }
  spdlog::info("HTTP API on {}", config::Endpoint{config_.http.listen.host, http_port()}.to_string());
  spawn_http_accept_loop(io_, *http_acceptor_,
                         {*api_, *reads_, writer_->recent(), http_counters_, *http_budget_, config_.http.max_connections});
  if (io_threads == 0) io_threads = std::max(1U, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < io_threads; ++i) threads_.emplace_back([this] { io_.run(); });
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  close_acceptor(alphaess_acceptor_);
  close_acceptor(sermatec_acceptor_);
  close_acceptor(http_acceptor_);
  alphaess_->registry.close_all();
  sermatec_->registry.close_all();
  const auto deadline = std::chrono::steady_clock::now() + shutdown_grace;
  while (device_connections() > 0 && std::chrono::steady_clock::now() < deadline && !threads_.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Device sessions are done (their frames committed); HTTP connections hold nothing durable.
  work_.reset();
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  reads_->stop();
  writer_->stop();
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
