// One AlphaESS device connection (alphaess.md §5): a coroutine on its own strand that parses the
// stream, commits each frame durably, then acks it, and sends at most one Resume.
#pragma once

#include "common/time_zone.hpp"
#include "config/config.hpp"
#include "drivers/alphaess/counters.hpp"
#include "protocol/alphaess/encoder.hpp"
#include "protocol/alphaess/frame_decoder.hpp"
#include "protocol/alphaess/messages.hpp"
#include "server/connection.hpp"
#include "server/log_once.hpp"
#include "server/observations.hpp"
#include "server/session_registry.hpp"
#include "server/task_group.hpp"
#include "storage/store.hpp"
#include "storage/writer.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace sunkeep::drivers {

using server::LogOnce;
using server::SessionRegistry;

// What every AlphaESS session shares.
struct AlphaEssShared {
  AlphaEssShared(const config::AlphaEssConfig& cfg, server::ObservationCommitter& o, storage::Writer& w,
                 metrics::Registry& metrics)
      : config(cfg), observations(o), writer(w), zone(cfg.timezone), counters(metrics) {}

  const config::AlphaEssConfig& config;
  server::ObservationCommitter& observations;
  storage::Writer& writer;  // refused connections
  TimeZone zone;
  SessionRegistry registry;
  AlphaEssCounters counters;
  LogOnce log_once;
};

class AlphaEssSession final : public SessionRegistry::Closable,
                              public std::enable_shared_from_this<AlphaEssSession> {
 public:
  static constexpr std::size_t read_chunk = 4096;
  static constexpr std::chrono::seconds write_timeout{30};

  AlphaEssSession(boost::asio::ip::tcp::socket socket, AlphaEssShared& shared);

  // Runs the session as a task; `slot` is its place under the listener's connection caps, held
  // until it ends.
  static void start(const std::shared_ptr<AlphaEssSession>& session, server::TaskGroup& tasks,
                    std::shared_ptr<const void> slot = {});

  void close_from_elsewhere() override;
  [[nodiscard]] auto executor() { return socket_.get_executor(); }
  boost::asio::awaitable<void> run();
  [[nodiscard]] std::string who() const;

 private:
  boost::asio::awaitable<bool> read_more();
  boost::asio::awaitable<bool> handle(const alphaess::Frame& frame);
  boost::asio::awaitable<bool> send(const alphaess::OutboundFrame& frame);
  boost::asio::awaitable<bool> maybe_backfill();
  boost::asio::awaitable<void> reject(const alphaess::Rejection& rejection);
  // Whether this message names the connection's serial for the first time (it binds it).
  bool bind_serial(const alphaess::Message& message);
  void report(const alphaess::Frame& frame, const alphaess::Message& message, const storage::IngestResult& result);
  void note_command_answer(const alphaess::Message& message);
  void close();

  boost::asio::ip::tcp::socket socket_;
  AlphaEssShared& shared_;
  alphaess::FrameDecoder decoder_;
  boost::asio::steady_timer idle_timer_;
  boost::asio::steady_timer write_timer_;
  std::array<std::uint8_t, read_chunk> read_buffer_{};
  server::PeerName peer_;  // "address:port" for logs and the archive, the bare address for keys
  std::string serial_;
  std::optional<storage::DeviceId> device_;
  std::optional<storage::LatestRecord> history_before_;
  std::optional<std::int64_t> clock_offset_ms_;
  std::optional<std::string> outstanding_command_;
  std::chrono::steady_clock::time_point last_frame_;
  bool backfill_point_passed_ = false;
  bool closed_ = false;
};

}  // namespace sunkeep::drivers
