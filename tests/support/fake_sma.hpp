// A simulated SMA inverter on a loopback UDP port (its own thread, stopped with the object), and
// a sender of single datagrams, standing in for an Energy Meter.
#pragma once

#include "tests/support/sma_device.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <thread>

namespace sunkeep::test {

class FakeSmaInverter {
 public:
  explicit FakeSmaInverter(SimulatedInverter device = {});
  ~FakeSmaInverter();
  FakeSmaInverter(const FakeSmaInverter&) = delete;
  FakeSmaInverter& operator=(const FakeSmaInverter&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Runs `f` on the simulated device under its lock (to read what it received, or change it).
  template <class F>
  auto with(F f) {
    std::lock_guard lock(mutex_);
    return f(device_);
  }

 private:
  void serve();

  int socket_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  SimulatedInverter device_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Sends one datagram to 127.0.0.1:`port`.
void send_udp(std::uint16_t port, std::span<const std::uint8_t> datagram);

}  // namespace sunkeep::test
