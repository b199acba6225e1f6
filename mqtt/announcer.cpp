// The MQTT publisher's plan: dirty flags, announce order, throttling and ghosts.
#include "mqtt/announcer.hpp"

#include "mqtt/names.hpp"

#include <spdlog/spdlog.h>

namespace sunkeep::mqtt {

namespace {

constexpr auto info_interval = std::chrono::seconds(10);
constexpr std::string_view component_kind_prefix = "component:";

}  // namespace

metrics::Counter& dropped_counter(metrics::Registry& metrics, std::string_view reason) {
  return metrics.counter("sunkeep_mqtt_messages_dropped_total",
                         "MQTT messages not sent: replaced by a newer one, or dropped from a full queue.",
                         {{"reason", std::string(reason)}});
}

Announcer::Announcer(const PublisherSettings& settings, const PublisherHooks& hooks, metrics::Registry& metrics)
    : config_(settings.config),
      hooks_(hooks),
      metrics_(metrics),
      base_(settings.config.base_topic),
      discovery_{.base_topic = settings.config.base_topic,
                 .discovery_prefix = settings.config.discovery_prefix,
                 .instance_id = settings.config.instance_id,
                 .version = settings.version,
                 .qos = static_cast<int>(settings.config.qos),
                 .vendor_metrics = settings.config.vendor_metrics},
      info_{.version = settings.version, .instance = settings.config.instance_id, .started = settings.started},
      recorded_(hooks.recorded_topics),
      superseded_(dropped_counter(metrics, "superseded")),
      queue_full_(dropped_counter(metrics, "queue_full")) {}

Announcer::Entry& Announcer::entry_of(const std::string& id, const DeviceState& state) {
  auto [it, added] = entries_.try_emplace(id);
  if (added) {
    it->second.id = id;
    it->second.node = node_of(state.vendor, state.serial);
  }
  return it->second;
}

bool Announcer::shown(const std::string& name, const LatestValue& value) const {
  return value.canonical ? metric_spec(name).has_value() : config_.vendor_metrics;
}

std::string Announcer::discovery_key(const DeviceState& s) const {
  std::string key = s.model.value_or("") + '\n' + s.firmware.value_or("") + '\n' + s.parent.value_or("") + '\n';
  for (const auto& [name, value] : s.metrics) {
    if (shown(name, value)) key += name + '\n';
  }
  return key;
}

void Announcer::note_state(Entry& e, std::shared_ptr<const DeviceState> state, UtcMillis now) {
  const DeviceState& s = *state;
  if (auto key = discovery_key(s); key != e.discovery_key) {
    e.discovery_key = std::move(key);
    e.discovery_dirty = config_.discovery;
  }
  if (auto object = device_object_json(s); object != e.device_object) {
    e.device_object = std::move(object);
    e.device_dirty = true;
  }
  bool newer = false;
  for (const auto& [name, value] : s.metrics) {
    if (!shown(name, value)) continue;
    const auto it = e.published_times.find(name);
    const bool unpublished = it == e.published_times.end() || value.time > it->second;
    if (unpublished && live_after(value, e.published_time)) newer = true;
  }
  if (newer) {
    if (e.state_pending) ++superseded_;
    e.state_pending = true;
  }
  e.online = hooks_.online(s, now);
  if (e.online_published != e.online) e.availability_dirty = true;
  e.state = std::move(state);
}

void Announcer::take(const std::string& id, std::shared_ptr<const DeviceState> state, std::deque<DeviceEvent> events,
                     UtcMillis now, SteadyTime steady_now) {
  Entry& e = entry_of(id, *state);
  note_state(e, std::move(state), now);
  for (auto& event : events) {
    if (e.events.size() >= Publisher::events_per_device) {
      e.events.pop_front();
      ++queue_full_;
    }
    e.events.push_back(std::move(event));
  }
  schedule(e, steady_now);
}

bool Announcer::has_work(const Entry& e, SteadyTime steady_now) const {
  const bool state_due = (e.state_pending && steady_now >= e.state_allowed) || e.state_forced;
  return e.discovery_dirty || e.availability_dirty || e.device_dirty || state_due || !e.events.empty();
}

void Announcer::schedule(Entry& e, SteadyTime steady_now) {
  if (has_work(e, steady_now)) {
    dirty_.emplace(rank(e), e.id);
  } else if (e.state_pending && !e.in_due) {
    e.in_due = true;
    due_.emplace(e.state_allowed, e.id);
  }
}

void Announcer::announce(bool after_connect) {
  ready_.clear();  // what a lost connection left half sent: the announce sends it again, in order
  status_dirty_ = true;
  server_dirty_ = config_.discovery;
  info_dirty_ = true;
  for (auto& [id, e] : entries_) {
    e.discovery_dirty = config_.discovery;
    e.availability_dirty = true;
    e.device_dirty = true;
    e.state_forced = true;
    dirty_.emplace(rank(e), id);
    announcing_.insert(id);
  }
  if (after_connect) cleanup_wanted_ = true;
}

void Announcer::tick(UtcMillis now, SteadyTime steady_now) {
  std::size_t online = 0;
  for (auto& [id, e] : entries_) {
    if (!e.state) continue;
    e.online = hooks_.online(*e.state, now);
    online += e.online ? 1 : 0;
    if (e.online_published != e.online && !e.availability_dirty) {
      e.availability_dirty = true;
      dirty_.emplace(rank(e), id);
    }
  }
  const std::pair counts{entries_.size(), online};
  if (counts != info_counts_ && steady_now >= info_allowed_) info_dirty_ = true;
}

void Announcer::release_due(SteadyTime steady_now) {
  while (!due_.empty() && due_.begin()->first <= steady_now) {
    const auto it = entries_.find(due_.begin()->second);
    due_.erase(due_.begin());
    if (it == entries_.end()) continue;
    it->second.in_due = false;
    schedule(it->second, steady_now);
  }
}

void Announcer::forget(const std::string& topic) {
  if (recorded_.erase(topic) > 0) newly_emptied_.push_back(topic);
}

Announcer::SteadyTime Announcer::next_due() const { return due_.empty() ? SteadyTime::max() : due_.begin()->first; }

// A retained message with content; empty ones (ghosts) go out from next() and are forgotten once
// the broker has acknowledged them (forget()).
void Announcer::queue_retained(std::string topic, std::string payload, std::string_view kind, std::string record_kind) {
  const auto it = recorded_.find(topic);
  if (it == recorded_.end() || it->second != record_kind) {
    recorded_[topic] = record_kind;
    newly_recorded_.emplace_back(topic, record_kind);
  }
  ready_.push_back({std::move(topic), std::move(payload), 1, true, kind});
}

void Announcer::queue_migration(const std::string& identifier) {
  const std::string kind = std::string(component_kind_prefix) + identifier;
  for (const auto& [topic, recorded_kind] : recorded_) {
    if (recorded_kind == kind && migrated_.insert(topic).second) {
      ready_.push_back({topic, R"({"migrate_discovery":true})", 1, true, "discovery"});
    }
  }
}

std::vector<Announcer::Discovery> Announcer::server_discovery() const {
  const std::string identifier = server_identifier(config_.instance_id);
  if (config_.discovery_mode == "device") return {{server_device_discovery(discovery_), ""}};
  std::vector<Discovery> out;
  for (auto& p : server_component_discovery(discovery_)) out.push_back({std::move(p), std::string(component_kind_prefix) + identifier});
  return out;
}

std::vector<Announcer::Discovery> Announcer::device_discovery_of(const DeviceState& s) const {
  const std::string manufacturer = hooks_.manufacturer(s.vendor);
  const std::string via = via_of(s, config_.instance_id);
  if (config_.discovery_mode == "device") return {{device_discovery(s, manufacturer, via, discovery_), ""}};
  std::vector<Discovery> out;
  for (auto& p : component_discovery(s, manufacturer, via, discovery_)) {
    out.push_back({std::move(p), std::string(component_kind_prefix) + identifier_of(s)});
  }
  return out;
}

void Announcer::queue_discoveries(const std::string& identifier, std::vector<Discovery> publications) {
  // Component → device mode: HA's migration keeps the entity ids and history (mqtt.md §4.3).
  if (config_.discovery_mode == "device") queue_migration(identifier);
  for (auto& [p, record_kind] : publications) {
    queue_retained(std::move(p.topic), std::move(p.payload), "discovery", std::move(record_kind));
  }
}

void Announcer::queue_info() {
  std::size_t online = 0;
  for (const auto& [id, e] : entries_) online += e.online ? 1 : 0;
  info_.devices = entries_.size();
  info_.devices_online = online;
  info_counts_ = {info_.devices, online};
  queue_retained(base_ + "/info", info_json(info_), "status");
}

void Announcer::queue_state(Entry& e, UtcMillis now, SteadyTime steady_now) {
  const StateValues values = state_values(*e.state, now, e.published_time);
  const bool retain = config_.retain_state;
  const int qos = static_cast<int>(config_.qos);
  const std::string prefix = base_ + "/" + e.node + "/";
  const auto send = [&](std::string topic, std::string payload, std::string_view kind) {
    if (retain) {
      queue_retained(std::move(topic), std::move(payload), kind);
      ready_.back().qos = qos;
    } else {
      ready_.push_back({std::move(topic), std::move(payload), qos, false, kind});
    }
  };
  if (values.time > 0) {
    send(prefix + "state", state_json(values), "state");
    if (config_.per_metric_topics) {
      for (const auto& [metric, value] : values.canonical) {
        if (value) send(prefix + metric, number_text(*value), "state");
      }
    }
  }
  if (config_.vendor_metrics && !values.vendor.empty()) send(prefix + "vendor", vendor_json(values), "vendor");
  for (const auto& [name, value] : e.state->metrics) e.published_times[name] = value.time;
  e.published_time = std::max(e.published_time, std::max(values.time, values.vendor_time));
  e.state_pending = false;
  e.state_forced = false;
  e.state_allowed = steady_now + config_.publish_interval;
}

void Announcer::step(Entry& e, UtcMillis now, SteadyTime steady_now) {
  if (e.discovery_dirty) {
    e.discovery_dirty = false;
    announcing_.erase(e.id);
    queue_discoveries(identifier_of(*e.state), device_discovery_of(*e.state));
  } else if (e.availability_dirty) {
    e.availability_dirty = false;
    e.online_published = e.online;
    queue_retained(base_ + "/" + e.node + "/availability", e.online ? "online" : "offline", "availability");
    if (!config_.discovery) announcing_.erase(e.id);
  } else if (e.device_dirty) {
    e.device_dirty = false;
    queue_retained(base_ + "/" + e.node + "/device", e.device_object, "device");
  } else if ((e.state_pending && steady_now >= e.state_allowed) || e.state_forced) {
    queue_state(e, now, steady_now);
  } else if (!e.events.empty()) {
    ready_.push_back({base_ + "/" + e.node + "/event", event_json(e.events.front()), 1, false, "event"});
    e.events.pop_front();
  }
}

std::set<std::string> Announcer::generated_topics() const {
  std::set<std::string> topics{base_ + "/status", base_ + "/info"};
  if (config_.discovery) {
    for (const auto& d : server_discovery()) topics.insert(d.publication.topic);
  }
  for (const auto& [id, e] : entries_) {
    if (!e.state) continue;
    const std::string prefix = base_ + "/" + e.node + "/";
    topics.insert({prefix + "availability", prefix + "device"});
    if (config_.retain_state) {
      topics.insert(prefix + "state");
      if (config_.vendor_metrics) topics.insert(prefix + "vendor");
      for (const auto& [name, value] : e.state->metrics) {
        if (config_.per_metric_topics && value.canonical) topics.insert(prefix + name);
      }
    }
    if (!config_.discovery) continue;
    for (const auto& d : device_discovery_of(*e.state)) topics.insert(d.publication.topic);
  }
  return topics;
}

void Announcer::plan_cleanup() {
  cleanup_wanted_ = false;
  ghosts_.clear();
  const auto generated = generated_topics();
  for (const auto& [topic, kind] : recorded_) {
    if (!generated.contains(topic)) ghosts_.push_back(topic);
  }
  if (!ghosts_.empty()) spdlog::info("mqtt: removing {} retained topic(s) sunkeep no longer publishes", ghosts_.size());
}

std::optional<OutMessage> Announcer::next(UtcMillis now, SteadyTime steady_now) {
  while (ready_.empty()) {
    if (status_dirty_) {
      status_dirty_ = false;
      queue_retained(status_topic(), "online", "status");
    } else if (server_dirty_) {
      server_dirty_ = false;
      queue_discoveries(server_identifier(config_.instance_id), server_discovery());
    } else if (info_dirty_) {
      info_dirty_ = false;
      info_allowed_ = steady_now + info_interval;
      queue_info();
    } else if (cleanup_wanted_ && announcing_.empty()) {
      plan_cleanup();
    } else if (!ghosts_.empty()) {
      ready_.push_back({ghosts_.front(), "", 1, true, "discovery"});
      ghosts_.pop_front();
    } else if (!dirty_.empty()) {
      const auto first = dirty_.begin();
      const auto it = entries_.find(first->second);
      dirty_.erase(first);
      if (it == entries_.end() || !it->second.state) continue;
      Entry& e = it->second;
      step(e, now, steady_now);
      schedule(e, steady_now);
    } else {
      return std::nullopt;
    }
  }
  OutMessage out = std::move(ready_.front());
  ready_.pop_front();
  return out;
}

std::pair<std::vector<std::pair<std::string, std::string>>, std::vector<std::string>> Announcer::take_topic_records() {
  return {std::exchange(newly_recorded_, {}), std::exchange(newly_emptied_, {})};
}

}  // namespace sunkeep::mqtt
