// One connection to a Sermatec inverter (sermatec.md §6), accepted on the cloud port 19042 or
// opened in local mode: sunkeep speaks first, identifies the inverter with 0x98, then polls it
// with the read-only queries of its PCU version, strictly one query at a time.
#pragma once

#include "common/metrics.hpp"
#include "config/config.hpp"
#include "protocol/sermatec/decode.hpp"
#include "protocol/sermatec/definitions.hpp"
#include "protocol/sermatec/frame_decoder.hpp"
#include "protocol/sermatec/observation.hpp"
#include "protocol/sermatec/queries.hpp"
#include "server/log_once.hpp"
#include "server/observations.hpp"
#include "server/session_registry.hpp"
#include "server/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sunkeep::drivers {

using server::LogOnce;
using server::SessionRegistry;

// The spec's constants; tests shorten them.
struct SermatecTiming {
  std::chrono::milliseconds answer_timeout{5000};
  std::chrono::milliseconds identity_refresh{60LL * 60 * 1000};
  std::chrono::milliseconds min_idle{5LL * 60 * 1000};  // idle limit: max(this, 3 × poll interval)
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds backoff_first{1000};
  std::chrono::milliseconds backoff_max{60000};
};

// What the Sermatec driver counts, as series of the server's metrics registry (label
// listener="sermatec").
struct SermatecCounters {
  explicit SermatecCounters(metrics::Registry& metrics);

  metrics::Gauge& local_connections_open;  // local mode; the cloud port's are the listener's
  metrics::Counter& identified;
  metrics::Counter& queries_answered;
  metrics::Counter& answer_timeouts;
  metrics::Counter& frames_received;
  metrics::Counter& bad_checksum;
  metrics::Counter& junk_bytes;
  metrics::Counter& unexpected_frames;
  metrics::Counter& commit_failures;
};

struct SermatecShared {
  SermatecShared(const config::SermatecConfig& cfg, server::ObservationCommitter& o, SermatecTiming t,
                 metrics::Registry& metrics)
      : config(cfg), observations(o), timing(t), counters(metrics) {}

  const config::SermatecConfig& config;
  server::ObservationCommitter& observations;
  SermatecTiming timing;
  SessionRegistry registry;  // keys "serial:<serial>" and "ip:<address>"
  SermatecCounters counters;
  LogOnce log_once;
};

enum class SermatecOrigin { cloud, local };

class SermatecSession final : public SessionRegistry::Closable,
                              public std::enable_shared_from_this<SermatecSession> {
 public:
  static constexpr std::size_t read_chunk = 2048;
  static constexpr std::size_t max_pending_frames = 32;
  static constexpr std::chrono::seconds write_timeout{10};

  SermatecSession(boost::asio::ip::tcp::socket socket, SermatecShared& shared, SermatecOrigin origin);

  // Runs an accepted connection as a task; `slot` is its place under the listener's connection
  // caps, held until it ends.
  static void start(const std::shared_ptr<SermatecSession>& session, server::TaskGroup& tasks,
                    std::shared_ptr<const void> slot = {});
  // Runs the connection to its end; true when the inverter identified itself at least once.
  boost::asio::awaitable<bool> run();

  void close_from_elsewhere() override;
  [[nodiscard]] auto executor() { return socket_.get_executor(); }
  [[nodiscard]] std::string who() const;
  [[nodiscard]] int priority() const override { return origin_ == SermatecOrigin::cloud ? 1 : 0; }

 private:
  // A frame received, or a query sent (outgoing).
  struct Received {
    sermatec::Frame frame;
    UtcMillis time = 0;
    bool outgoing = false;
  };

  using Clock = std::chrono::steady_clock;

  boost::asio::awaitable<bool> identify();
  boost::asio::awaitable<bool> poll_forever();
  boost::asio::awaitable<bool> run_cycle();
  // Sends `code`'s query and waits for its answers (or the timeout); false when the link is gone.
  boost::asio::awaitable<bool> query(std::uint8_t code, bool rc4);
  boost::asio::awaitable<bool> send(const sermatec::QueryFrame& query, bool rc4);
  // Reads and handles frames until `deadline`, or until nothing is expected any more when
  // `until_answered`; false when the connection closed or went idle.
  boost::asio::awaitable<bool> pump(Clock::time_point deadline, bool until_answered);
  boost::asio::awaitable<bool> read_some(Clock::time_point wake);
  boost::asio::awaitable<void> handle(sermatec::Frame frame);
  // Archives a frame and stores what it decodes to; before identification it is held back.
  boost::asio::awaitable<void> process(Received received);
  boost::asio::awaitable<bool> bind_device();
  // After the hourly 0x98: a new serial means identifying afresh, a new PCU version new layouts.
  void apply_identity_refresh();
  [[nodiscard]] std::vector<std::uint8_t> poll_codes() const;
  void note_junk(const sermatec::Junk& junk);
  void close();

  boost::asio::ip::tcp::socket socket_;
  SermatecShared& shared_;
  SermatecOrigin origin_;
  sermatec::FrameDecoder decoder_;
  boost::asio::steady_timer read_timer_;
  boost::asio::steady_timer write_timer_;
  std::array<std::uint8_t, read_chunk> read_buffer_{};
  std::string peer_;
  std::string peer_host_;
  bool closed_ = false;

  std::optional<sermatec::Identity> identity_;        // from the last valid 0x98 answer
  std::optional<sermatec::Identity> bound_identity_;  // the identity the device binding is for
  std::optional<sermatec::Definitions> definitions_;
  std::optional<storage::DeviceId> device_;
  std::vector<Received> pending_;  // frames before identification, archived once it is known
  std::set<std::uint8_t> expected_;
  sermatec::AnswerMemory answers_;  // what decoding remembers between frames
  bool rc4_ = false;
  bool reidentify_ = false;
  Clock::time_point last_valid_frame_;
  Clock::time_point last_identity_;
  std::optional<Clock::time_point> partial_since_;
  std::size_t unidentified_bytes_ = 0;
  std::vector<std::uint8_t> unidentified_head_;
};

}  // namespace sunkeep::drivers
