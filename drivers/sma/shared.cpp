// The SMA driver's counters.
#include "drivers/sma/shared.hpp"

#include "drivers/metric_names.hpp"
#include "protocol/sma/packet.hpp"

namespace sunkeep::drivers {

namespace {

const metrics::Labels listener{{"listener", std::string(sma::vendor_name)}};
constexpr const char* ignored = "sunkeep_datagrams_ignored_total";
constexpr const char* ignored_help = "Datagrams dropped unread: malformed, or Speedwire traffic not meant for sunkeep.";

metrics::Labels with(std::string name, std::string value) {
  metrics::Labels labels = listener;
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

}  // namespace

SmaCounters::SmaCounters(metrics::Registry& m)
    : frames_received(m.counter(metric::frames_received, metric::frames_received_help, listener)),
      malformed(m.counter(ignored, ignored_help, with("reason", "malformed"))),
      other_protocol(m.counter(ignored, ignored_help, with("reason", "other_protocol"))),
      unexpected(m.counter("sunkeep_frames_unexpected_total", "Frames that answered no outstanding query (archived).",
                           listener)),
      identified(m.counter("sunkeep_devices_identified_total", "Polled devices that identified themselves.", listener)),
      logins_ok(m.counter("sunkeep_logins_total", "Logins to polled devices, by result.", with("result", "ok"))),
      logins_refused(m.counter("sunkeep_logins_total", "Logins to polled devices, by result.", with("result", "refused"))),
      polls_answered(m.counter(metric::polls, metric::polls_help, with("result", "answered"))),
      polls_timed_out(m.counter(metric::polls, metric::polls_help, with("result", "timeout"))),
      polls_failed(m.counter(metric::polls, metric::polls_help, with("result", "error"))),
      meter_stored(m.counter("sunkeep_meter_datagrams_total", "Energy meter datagrams heard, by what became of them.",
                             with("result", "stored"))),
      meter_thinned(m.counter("sunkeep_meter_datagrams_total", "Energy meter datagrams heard, by what became of them.",
                              with("result", "thinned"))),
      commit_failures(m.counter(metric::commit_failures, metric::commit_failures_help)) {}

}  // namespace sunkeep::drivers
