// The sink hub and each sink's queue and thread.
#include "server/sinks.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <thread>

namespace sunkeep::server {

class SinkHub::Runner : public std::enable_shared_from_this<Runner> {
 public:
  Runner(std::shared_ptr<Sink> sink, std::size_t limit, metrics::Registry& metrics)
      : sink_(std::move(sink)),
        limit_(limit),
        delivered_(metrics.counter("sunkeep_sink_observations_total", "Committed observations a sink has consumed.",
                                   {{"sink", std::string(sink_->name())}})),
        dropped_(metrics.counter("sunkeep_sink_dropped_total",
                                 "Committed observations dropped because a sink's queue was full.",
                                 {{"sink", std::string(sink_->name())}})),
        failures_(metrics.counter("sunkeep_sink_failures_total", "Observations a sink failed on (it threw).",
                                  {{"sink", std::string(sink_->name())}})) {}

  void start(metrics::Registry& metrics) {
    metrics.gauge_reading("sunkeep_sink_queue_depth", "Committed observations waiting for a sink.",
                          {{"sink", std::string(sink_->name())}}, [weak = weak_from_this()] {
                            const auto self = weak.lock();
                            return self ? static_cast<double>(self->depth()) : 0.0;
                          });
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
  }

  void push(const std::shared_ptr<const Observation>& observation) {
    {
      const std::lock_guard lock(mutex_);
      if (stopping_) return;
      if (queue_.size() >= limit_) {
        queue_.pop_front();
        ++dropped_;
      }
      queue_.push_back(observation);
    }
    wake_.notify_one();
  }

  void stop(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    wake_.notify_one();
    const bool ended = finished_cv_.wait_until(lock, deadline, [this] { return finished_; });
    lock.unlock();
    if (ended) {
      thread_.join();
    } else {
      spdlog::warn("sink {}: still busy at shutdown; left behind", sink_->name());
      thread_.detach();  // it holds its own reference to this runner
    }
  }

 private:
  std::size_t depth() const {
    const std::lock_guard lock(mutex_);
    return queue_.size();
  }

  void run() {
    while (auto next = take()) deliver(*next);
    const std::lock_guard lock(mutex_);
    finished_ = true;
    finished_cv_.notify_all();
  }

  // The next observation; nullptr once stopping and the queue is empty.
  std::shared_ptr<const Observation> take() {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return nullptr;
    auto next = std::move(queue_.front());
    queue_.pop_front();
    return next;
  }

  void deliver(const Observation& observation) {
    try {
      sink_->consume(observation);
      ++delivered_;
    } catch (const std::exception& e) {
      if (failures_.value() == 0) spdlog::error("sink {}: failed: {} (counted; logged once)", sink_->name(), e.what());
      ++failures_;
    }
  }

  std::shared_ptr<Sink> sink_;
  const std::size_t limit_;
  metrics::Counter& delivered_;
  metrics::Counter& dropped_;
  metrics::Counter& failures_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_cv_;
  std::deque<std::shared_ptr<const Observation>> queue_;
  bool stopping_ = false;
  bool finished_ = false;
  std::thread thread_;
};

SinkHub::SinkHub(metrics::Registry& metrics) : metrics_(metrics) {}

SinkHub::~SinkHub() { stop(std::chrono::steady_clock::now() + std::chrono::seconds(1)); }

void SinkHub::add(std::shared_ptr<Sink> sink, std::size_t queue_limit) {
  auto runner = std::make_shared<Runner>(std::move(sink), queue_limit, metrics_);
  runner->start(metrics_);
  const std::lock_guard lock(mutex_);
  runners_.push_back(std::move(runner));
}

void SinkHub::publish(const std::shared_ptr<const Observation>& observation) {
  std::vector<std::shared_ptr<Runner>> runners;
  {
    const std::lock_guard lock(mutex_);
    runners = runners_;
  }
  for (const auto& runner : runners) runner->push(observation);
}

void SinkHub::stop(std::chrono::steady_clock::time_point deadline) {
  std::vector<std::shared_ptr<Runner>> runners;
  {
    const std::lock_guard lock(mutex_);
    runners.swap(runners_);
  }
  for (const auto& runner : runners) runner->stop(deadline);
}

}  // namespace sunkeep::server
