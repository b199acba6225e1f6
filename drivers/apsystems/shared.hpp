// What the APsystems driver's ECU pollers share: the config, the ingest path, the counters (label
// listener="apsystems"), which devices are online, and the lifetime energy each ECU last stored
// before this run (the glitch filter's baseline).
#pragma once

#include "common/metrics.hpp"
#include "config/config.hpp"
#include "drivers/liveness.hpp"
#include "server/log_once.hpp"
#include "server/observations.hpp"

#include <map>
#include <string>

namespace sunkeep::drivers {

struct ApsystemsCounters {
  explicit ApsystemsCounters(metrics::Registry& metrics);

  metrics::Counter& frames_received;    // replies, valid or not
  metrics::Counter& polls_answered;     // valid replies with data
  metrics::Counter& polls_no_data;      // valid replies with match status 01
  metrics::Counter& polls_timed_out;
  metrics::Counter& polls_refused;      // no connection
  metrics::Counter& polls_cut_off;      // the connection ended before the whole reply
  metrics::Counter& polls_malformed;    // replies that failed validation or decoding
  metrics::Counter& decode_errors;      // replies or records not decoded (archived raw)
  metrics::Counter& unknown_records;    // inverter records of a type sunkeep cannot read
  metrics::Counter& records_duplicate;  // 0002 replies with the timestamp of the last one stored
  metrics::Counter& unreachable;        // ECUs found unreachable (3 failed cycles)
  metrics::Counter& commit_failures;
};

struct ApsystemsShared {
  ApsystemsShared(const config::ApsystemsConfig& cfg, server::ObservationCommitter& o, metrics::Registry& metrics)
      : config(cfg), observations(o), counters(metrics) {}

  const config::ApsystemsConfig& config;
  server::ObservationCommitter& observations;
  ApsystemsCounters counters;
  DeviceLiveness liveness;
  server::LogOnce log_once;
  std::map<std::string, double> stored_lifetime_kwh;  // ECU id → read at start
};

}  // namespace sunkeep::drivers
