// Storing one observation.
#include "storage/ingest.hpp"

#include <algorithm>

namespace sunkeep::storage {

namespace {

struct Context {
  Store& store;
  Observation& seen;
  IngestResult& result;
  FrameId frame = 0;  // the first frame from the device, which records and events point to
};

// The UTC instant of a device clock reading: the zone's reading, the one nearest to when it
// arrived corrected by the device's clock offset when the reading is ambiguous.
UtcMillis utc_of(const Context& c, const CivilTime& device_time, std::optional<std::int64_t> offset) {
  if (c.seen.device_zone == nullptr) return c.seen.received;
  return c.seen.device_zone->to_utc(device_time, c.seen.received + offset.value_or(0));
}

void archive_frames(Context& c) {
  for (const RawFrame& frame : c.seen.frames) {
    const FrameId id = c.store.archive_frame({.device = c.result.device, .peer = c.seen.peer,
                                              .received = c.seen.received, .direction = frame.direction,
                                              .command = frame.command, .raw = frame.bytes, .flags = frame.flags});
    if (c.frame == 0 && frame.direction == FrameDirection::from_device) c.frame = id;
  }
}

void count(IngestResult& result, InsertOutcome outcome) {
  switch (outcome) {
    case InsertOutcome::inserted: ++result.inserted; break;
    case InsertOutcome::duplicate: ++result.duplicates; break;
    case InsertOutcome::conflict: ++result.conflicts; break;
  }
}

RecordOutcome as_record_outcome(InsertOutcome outcome) {
  switch (outcome) {
    case InsertOutcome::inserted: return RecordOutcome::inserted;
    case InsertOutcome::duplicate: return RecordOutcome::duplicate;
    case InsertOutcome::conflict: return RecordOutcome::conflict;
  }
  return RecordOutcome::not_stored;
}

void store_record(Context& c, DeviceRecord& record) {
  const std::string& serial = record.serial.empty() ? c.seen.serial : record.serial;
  if (serial.empty()) return;  // nothing names the device; the raw frame keeps it
  if (!c.seen.serial.empty() && serial != c.seen.serial) c.result.foreign_serials.push_back(serial);
  const DeviceId device = c.store.upsert_device(c.seen.vendor, serial, c.seen.received, c.seen.peer);
  record.utc = utc_of(c, record.device_time, c.store.clock_offset(device));
  RecordRow row{.device = device,
                .kind = record.kind,
                .device_time = record.device_time.to_device_string(),
                .utc = record.utc,
                .received = c.seen.received,
                .frame = c.frame,
                .fields_hash = record.fields_hash,
                .samples = std::move(record.readings)};
  const InsertOutcome outcome = c.store.insert_record(row);
  record.readings = std::move(row.samples);  // back with the observation, for the sinks
  record.outcome = as_record_outcome(outcome);
  count(c.result, outcome);
  // Live records track the device clock; backfilled ones are old by design and never do.
  if (record.tracks_clock && outcome == InsertOutcome::inserted) {
    c.store.add_clock_sample(device, record.utc - c.seen.received);
  }
}

void store_events(Context& c, DeviceId device) {
  const auto offset = c.store.clock_offset(device);
  for (DeviceEvent& event : c.seen.events) {
    event.utc = event.device_time ? utc_of(c, *event.device_time, offset) : c.seen.received;
    event.stored = c.store.insert_event({.device = device, .source = event.source,
                          .device_time = event.device_time ? std::optional(event.device_time->to_device_string())
                                                           : std::nullopt,
                          .code = event.code, .text = event.text, .utc = event.utc, .received = c.seen.received,
                          .frame = c.frame});
  }
}

void store_command(Context& c, DeviceId device, const CommandNote& note) {
  if (note.status) {
    c.store.record_command_answer(device, note.cmd_index, note.command, *note.status, c.seen.received);
  } else {
    c.store.record_command_sent(device, note.cmd_index, note.command, c.seen.received);
  }
}

// What belongs to the observation's own device (none when it has not named one yet).
void store_device_data(Context& c, DeviceId device) {
  if (c.seen.model || c.seen.firmware) c.store.set_device_info(device, c.seen.model, c.seen.firmware);
  if (c.seen.parent) {
    c.store.set_parent(device, c.store.upsert_device(c.seen.vendor, *c.seen.parent, c.seen.received, c.seen.peer, false));
  }
  if (!c.seen.readings.empty()) c.store.insert_samples(device, c.seen.received, c.seen.readings);
  store_events(c, device);
  if (c.seen.config_json) c.store.store_config(device, c.seen.received, c.frame, *c.seen.config_json, c.seen.personal_keys_json);
  if (c.seen.command) store_command(c, device, *c.seen.command);
}

std::optional<LatestRecord> newest_record(Store& store, DeviceId device, const std::vector<int>& kinds) {
  if (kinds.empty()) return std::nullopt;
  return store.latest_record(device, kinds);
}

// Whether the observation holds anything the device sent (not only what sunkeep sent it).
bool heard_from_device(const Observation& seen) {
  return !seen.readings.empty() || !seen.records.empty() ||
         std::any_of(seen.frames.begin(), seen.frames.end(),
                     [](const RawFrame& f) { return f.direction == FrameDirection::from_device; });
}

}  // namespace

IngestResult ingest(Store& store, Observation& observation) {
  IngestResult result;
  Context c{store, observation, result};
  if (!observation.serial.empty()) {
    result.device = store.upsert_device(observation.vendor, observation.serial, observation.received, observation.peer,
                                        heard_from_device(observation));
    result.history_before = newest_record(store, *result.device, observation.history_kinds);
  }
  archive_frames(c);
  for (DeviceRecord& record : observation.records) store_record(c, record);
  if (result.device) {
    store_device_data(c, *result.device);
    result.clock_offset_ms = store.clock_offset(*result.device);
    observation.clock_offset_ms = result.clock_offset_ms;
  }
  return result;
}

}  // namespace sunkeep::storage
