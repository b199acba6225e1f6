// AlphaESS → storage mapping.
#include "server/alphaess_ingest.hpp"

#include "protocol/alphaess/metrics.hpp"
#include "protocol/alphaess/redaction.hpp"

#include <nlohmann/json.hpp>


namespace sunkeep::server {

namespace {

using namespace sunkeep::alphaess;
using storage::Direction;
using storage::Store;

struct Context {
  Store& store;
  AlphaEssIngest& in;
  AlphaEssIngestResult& out;
  storage::FrameId frame_id = 0;
};

storage::DeviceId device_for(Context& c, const std::string& serial) {
  return c.store.upsert_device(alphaess_vendor, serial, c.in.received, c.in.peer);
}

std::vector<storage::Sample> samples_of(const Fields& fields) {
  std::vector<storage::Sample> samples;
  for (auto& s : numeric_samples(fields)) samples.push_back({std::move(s.name), std::move(s.unit), s.value, s.canonical});
  return samples;
}

void store_record(Context& c, const TelemetryRecord& record, PreparedRecord& prepared) {
  const std::string& serial = record.serial.empty() ? c.in.connection_serial : record.serial;
  if (serial.empty()) return;  // nothing names the device; the raw frame keeps it
  if (!c.in.connection_serial.empty() && serial != c.in.connection_serial) c.out.foreign_serials.push_back(serial);
  const storage::DeviceId device = device_for(c, serial);
  const auto known_offset = c.store.clock_offset(device);
  const UtcMillis utc = c.in.zone->to_utc(record.device_time, c.in.received + known_offset.value_or(0));

  storage::RecordRow row{.device = device,
                         .kind = static_cast<int>(record.kind),
                         .device_time = record.device_time.to_device_string(),
                         .utc = utc,
                         .received = c.in.received,
                         .frame = c.frame_id,
                         .fields_hash = prepared.fields_hash,
                         .samples = std::move(prepared.samples)};
  const auto outcome = c.store.insert_record(row);
  // Back with the job, so that the session's thread, which allocated them, frees them too.
  prepared.samples = std::move(row.samples);
  switch (outcome) {
    case storage::InsertOutcome::inserted: ++c.out.inserted; break;
    case storage::InsertOutcome::duplicate: ++c.out.duplicates; break;
    case storage::InsertOutcome::conflict: ++c.out.conflicts; break;
  }
  // Live records track the device clock; backfill rows are old by design and never do.
  if (record.kind != RecordKind::minute && outcome == storage::InsertOutcome::inserted) {
    c.store.add_clock_sample(device, utc - c.in.received);
  }
}

void store_device_message(Context& c, const DeviceMessage& m) {
  if (!c.out.device) return;
  const auto offset = c.store.clock_offset(*c.out.device);
  if (m.msg_type != "EventLog") {
    c.out.new_events += c.store.insert_event({.device = *c.out.device, .source = m.msg_type.empty() ? "message" : m.msg_type,
                                              .device_time = std::nullopt, .code = std::nullopt, .text = m.content,
                                              .utc = c.in.received, .received = c.in.received, .frame = c.frame_id}) ? 1 : 0;
    return;
  }
  for (const auto& entry : m.events.entries) {
    const UtcMillis utc = c.in.zone->to_utc(entry.device_time, c.in.received + offset.value_or(0));
    c.out.new_events += c.store.insert_event({.device = *c.out.device, .source = "EventLog",
                                              .device_time = entry.device_time.to_device_string(),
                                              .code = entry.code, .text = std::nullopt, .utc = utc,
                                              .received = c.in.received, .frame = c.frame_id}) ? 1 : 0;
  }
  for (const auto& raw : m.events.unparsed) {
    c.store.insert_event({.device = *c.out.device, .source = "EventLog", .device_time = std::nullopt,
                          .code = std::nullopt, .text = raw, .utc = c.in.received, .received = c.in.received,
                          .frame = c.frame_id});
  }
}

void store_config(Context& c, const ConfigUpload& upload) {
  if (!c.out.device) return;
  nlohmann::json personal = nlohmann::json::array();
  for (auto key : personal_keys) {
    if (find_field(upload.fields, key)) personal.push_back(key);
  }
  c.store.store_config(*c.out.device, c.in.received, c.frame_id, fields_to_json(upload.fields), personal.dump());
  const std::string* model = find_field(upload.fields, "Minv");
  const std::string* firmware = find_field(upload.fields, "EMSVersion");
  c.store.set_device_info(*c.out.device, model ? std::optional(*model) : std::nullopt,
                          firmware ? std::optional(*firmware) : std::nullopt);
}

void store_message(Context& c) {
  if (const auto* t = std::get_if<Telemetry>(&c.in.message)) {
    for (std::size_t i = 0; i < t->records.size(); ++i) store_record(c, t->records[i], c.in.prepared[i]);
  } else if (const auto* m = std::get_if<DeviceMessage>(&c.in.message)) {
    store_device_message(c, *m);
  } else if (const auto* u = std::get_if<ConfigUpload>(&c.in.message)) {
    store_config(c, *u);
  } else if (const auto* a = std::get_if<CommandAnswer>(&c.in.message); a && c.out.device) {
    c.store.record_command_answer(*c.out.device, a->cmd_index, a->command, a->status, c.in.received);
  }
}

}  // namespace

void prepare_records(AlphaEssIngest& in) {
  in.prepared.clear();
  if (const auto* t = std::get_if<Telemetry>(&in.message)) {
    for (const auto& record : t->records) {
      in.prepared.push_back({storage::fields_hash(fields_to_json(record.fields)), samples_of(record.fields)});
    }
  }
}

void ingest_alphaess(Store& store, AlphaEssIngest& in, AlphaEssIngestResult& out) {
  const auto* telemetry = std::get_if<Telemetry>(&in.message);
  if (telemetry && in.prepared.size() != telemetry->records.size()) prepare_records(in);
  Context c{store, in, out};
  if (!in.connection_serial.empty()) {
    out.device = store.upsert_device(alphaess_vendor, in.connection_serial, in.received, in.peer);
    if (in.snapshot_history) out.history_before = store.latest_record(*out.device, telemetry_kinds);
  }
  const auto archived = archive_copy(in.frame);
  c.frame_id = store.archive_frame({.device = out.device, .peer = in.peer, .received = in.received,
                                    .direction = Direction::from_device, .command = in.frame.command(),
                                    .raw = archived});
  store_message(c);
  if (!in.reply.empty()) {
    store.archive_frame({.device = out.device, .peer = in.peer, .received = in.received,
                         .direction = Direction::to_device, .command = in.reply[2], .raw = in.reply});
  }
  if (out.device) out.clock_offset_ms = store.clock_offset(*out.device);
}

void record_alphaess_command(Store& store, storage::DeviceId device, const std::string& peer, UtcMillis sent,
                             const std::vector<std::uint8_t>& bytes, const std::string& cmd_index) {
  store.archive_frame({.device = device, .peer = peer, .received = sent, .direction = Direction::to_device,
                       .command = bytes[2], .raw = bytes});
  store.record_command_sent(device, cmd_index, "Resume", sent);
}

}  // namespace sunkeep::server
