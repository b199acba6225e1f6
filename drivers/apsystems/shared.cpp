// The APsystems driver's counters.
#include "drivers/apsystems/shared.hpp"

#include "drivers/metric_names.hpp"
#include "protocol/apsystems/codec.hpp"

namespace sunkeep::drivers {

namespace {

const metrics::Labels listener{{"listener", std::string(apsystems::vendor_name)}};

metrics::Labels with(std::string name, std::string value) {
  metrics::Labels labels = listener;
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

metrics::Counter& polls(metrics::Registry& m, const char* result) {
  return m.counter(metric::polls, metric::polls_help, with("result", result));
}

}  // namespace

ApsystemsCounters::ApsystemsCounters(metrics::Registry& m)
    : frames_received(m.counter(metric::frames_received, metric::frames_received_help, listener)),
      polls_answered(polls(m, "answered")),
      polls_no_data(polls(m, "no_data")),
      polls_timed_out(polls(m, "timeout")),
      polls_refused(polls(m, "connect_failed")),
      polls_cut_off(polls(m, "cut_off")),
      polls_malformed(polls(m, "malformed")),
      decode_errors(m.counter(metric::decode_errors, metric::decode_errors_help, listener)),
      unknown_records(m.counter("sunkeep_unknown_records_total",
                                "Device records of a type sunkeep cannot read (kept raw, reported once per device and type).",
                                listener)),
      records_duplicate(m.counter(metric::records_duplicate, metric::records_duplicate_help, listener)),
      unreachable(m.counter("sunkeep_devices_unreachable_total",
                            "Polled devices found unreachable after failed cycles in a row.", listener)),
      commit_failures(m.counter(metric::commit_failures, metric::commit_failures_help)) {}

}  // namespace sunkeep::drivers
