// The AlphaESS driver's series.
#include "drivers/alphaess/counters.hpp"

#include "drivers/metric_names.hpp"

namespace sunkeep::drivers {

namespace {

const metrics::Labels listener{{"listener", "alphaess"}};

}  // namespace

AlphaEssCounters::AlphaEssCounters(metrics::Registry& m)
    : frames_received(m.counter(metric::frames_received, metric::frames_received_help, listener)),
      acks_sent(m.counter(metric::acks_sent, metric::acks_sent_help, listener)),
      records_stored(m.counter(metric::records_stored, metric::records_stored_help, listener)),
      duplicate_records(m.counter(metric::records_duplicate, metric::records_duplicate_help, listener)),
      conflicting_records(m.counter("sunkeep_records_conflicting_total",
                                    "Records repeating a stored key with other content (the first is kept).", listener)),
      decode_errors(m.counter(metric::decode_errors, metric::decode_errors_help, listener)),
      unknown_commands(m.counter("sunkeep_unknown_commands_total",
                                 "Frames with a command code of no known meaning (archived raw and acked).", listener)),
      serial_mismatches(m.counter("sunkeep_serial_mismatches_total",
                                  "Records naming a serial other than their connection's (stored under their own).",
                                  listener)),
      resumes_sent(m.counter("sunkeep_commands_sent_total", "Commands sent to devices (only AlphaESS Resume exists).",
                             {{"listener", "alphaess"}, {"command", "Resume"}})),
      commit_failures(m.counter(metric::commit_failures, metric::commit_failures_help)),
      idle_timeouts(m.counter(metric::idle_timeouts, metric::idle_timeouts_help, listener)) {
  for (std::size_t i = 0; i < rejections.size(); ++i) {
    const auto reason = static_cast<alphaess::RejectReason>(i);
    rejections[i] = &m.counter(metric::frames_rejected, metric::frames_rejected_help,
                               {{"listener", "alphaess"}, {"reason", alphaess::to_string(reason)}});
  }
}

}  // namespace sunkeep::drivers
