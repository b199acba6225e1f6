// One connection to a Sermatec inverter (sermatec.md §6), accepted on the cloud port 19042 or
// opened in local mode. The conversation (identification with 0x98, the poll cycle of the PCU
// version one query at a time, timeouts) is sermatec::Poller's, run over the connection by the
// generic poll session; the session binds the inverter in the registry, stores every frame both
// ways and what it decodes to, counts and logs.
#pragma once

#include "common/metrics.hpp"
#include "config/config.hpp"
#include "protocol/sermatec/observation.hpp"
#include "protocol/sermatec/poller.hpp"
#include "server/connection.hpp"
#include "server/log_once.hpp"
#include "server/observations.hpp"
#include "server/poll_session.hpp"
#include "server/session_registry.hpp"
#include "server/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sunkeep::drivers {

using server::LogOnce;
using server::SessionRegistry;

// The spec's constants; tests shorten them. The poller's are its own defaults.
struct SermatecTiming {
  std::chrono::milliseconds answer_timeout = sermatec::PollerSettings{}.answer_timeout;
  std::chrono::milliseconds identity_refresh = sermatec::PollerSettings{}.identity_refresh;
  std::chrono::milliseconds min_idle = sermatec::PollerSettings{}.min_idle;  // idle limit: max(this, 3 × poll interval)
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
  [[nodiscard]] auto executor() { return transport_.executor(); }
  [[nodiscard]] std::string who() const;
  [[nodiscard]] int priority() const override { return origin_ == SermatecOrigin::cloud ? 1 : 0; }

 private:
  // A frame received, or a query sent (outgoing).
  struct Received {
    sermatec::Frame frame;
    UtcMillis time = 0;
    bool outgoing = false;
  };

  // What the poller asks for besides reading and writing.
  boost::asio::awaitable<void> on_event(sermatec::PollerEvent&& event);
  // Binds the identified inverter (registry, device row) and answers the poller.
  boost::asio::awaitable<void> bind(const sermatec::Identified& identified);
  void unbind(const sermatec::SerialChanged& changed);
  // Archives a frame and stores what it decodes to; until the device is bound it is held back.
  boost::asio::awaitable<void> archive(Received&& received);
  void note_junk(const sermatec::JunkSkipped& junk);
  void log_note(const sermatec::Note& note) const;
  void log_end(const server::PollEnd& end) const;

  server::TcpTransport transport_;
  SermatecShared& shared_;
  SermatecOrigin origin_;
  sermatec::Poller poller_;
  server::PeerName peer_;  // "address:port" for logs and the archive, the bare address for keys
  std::string serial_;                       // bound in the registry as "serial:<serial>"
  std::optional<storage::DeviceId> device_;  // once the identity is stored
  std::vector<Received> pending_;            // frames before that, archived once it is
  sermatec::AnswerMemory answers_;           // what decoding remembers between frames
  bool identified_once_ = false;
};

}  // namespace sunkeep::drivers
