// Output sinks: what every committed observation goes to (latest values, /metrics, MQTT, the live
// stream). The hub hands each observation, once its commit is durable, to every sink's own queue
// and returns at once; each sink consumes its queue on a thread of its own (its strand), so a
// slow, failing or throwing sink never delays an ack, another sink or the HTTP API. A full queue
// drops its oldest entry (counted). The shape is Asio's chat_room and Boost.Beast's chat-multi
// shared_state::send: the list of sinks is copied under the lock, delivery happens outside it.
#pragma once

#include "common/metrics.hpp"
#include "common/observation.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::server {

class Sink {
 public:
  virtual ~Sink() = default;
  // A short name for logs and the `sink` label of its metrics.
  [[nodiscard]] virtual std::string_view name() const = 0;
  // On the sink's own thread, one observation at a time, in commit order for each device.
  virtual void consume(const Observation& observation) = 0;
};

class SinkHub {
 public:
  static constexpr std::size_t default_queue_limit = 10'000;

  explicit SinkHub(metrics::Registry& metrics);
  ~SinkHub();
  SinkHub(const SinkHub&) = delete;
  SinkHub& operator=(const SinkHub&) = delete;

  // Starts the sink's thread; from then on it receives what is published.
  void add(std::shared_ptr<Sink> sink, std::size_t queue_limit = default_queue_limit);
  // From any thread; never waits for a sink.
  void publish(const std::shared_ptr<const Observation>& observation);
  // Lets each sink finish its queue until `deadline`, then ends the threads (a sink still busy
  // then is left to the process's exit).
  void stop(std::chrono::steady_clock::time_point deadline);

 private:
  class Runner;

  metrics::Registry& metrics_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<Runner>> runners_;
};

}  // namespace sunkeep::server
