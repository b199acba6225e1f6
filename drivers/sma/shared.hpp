// What the SMA driver's inverter poller and meter listener share: the config, the ingest path,
// the counters (label listener="sma") and which devices answered with data lately, for `online`.
#pragma once

#include "common/civil_time.hpp"
#include "common/metrics.hpp"
#include "config/config.hpp"
#include "drivers/liveness.hpp"
#include "server/log_once.hpp"
#include "server/observations.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace sunkeep::drivers {

struct SmaCounters {
  explicit SmaCounters(metrics::Registry& metrics);

  metrics::Counter& frames_received;     // inverter replies and meter datagrams
  metrics::Counter& malformed;           // datagrams that are not Speedwire packets sunkeep can read
  metrics::Counter& other_protocol;      // Speedwire traffic on the meter port that is not a meter's
  metrics::Counter& unexpected;          // well-formed replies to no outstanding request
  metrics::Counter& identified;
  metrics::Counter& logins_ok;
  metrics::Counter& logins_refused;
  metrics::Counter& polls_answered;
  metrics::Counter& polls_timed_out;
  metrics::Counter& polls_failed;        // a device error, or registers it does not have
  metrics::Counter& meter_stored;        // meter datagrams stored
  metrics::Counter& meter_thinned;       // meter datagrams within energy_meter_interval of the last stored
  metrics::Counter& commit_failures;
};

struct SmaShared {
  SmaShared(const config::SmaConfig& cfg, server::ObservationCommitter& o, metrics::Registry& metrics)
      : config(cfg), observations(o), counters(metrics) {}

  const config::SmaConfig& config;
  server::ObservationCommitter& observations;
  SmaCounters counters;
  DeviceLiveness liveness;
  server::LogOnce log_once;
};

}  // namespace sunkeep::drivers
