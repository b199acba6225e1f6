// The MQTT test checks.
#include "tests/support/mqtt_checks.hpp"

#include "mqtt/names.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sunkeep::test {

using nlohmann::json;

namespace {

bool has_key_anywhere(const json& j, const std::string& key) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == key || has_key_anywhere(v, key)) return true;
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (has_key_anywhere(v, key)) return true;
    }
  }
  return false;
}

json normalised(json j) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if ((k == "sw_version" && v == SUNKEEP_VERSION) || (k == "version" && v == SUNKEEP_VERSION)) {
        v = "<version>";
      } else {
        v = normalised(v);
      }
    }
  } else if (j.is_array()) {
    for (auto& v : j) v = normalised(v);
  }
  return j;
}

}  // namespace

void check_discovery_components(const json& payload, const std::string& identifier) {
  CHECK_FALSE(has_key_anywhere(payload, "object_id"));
  CHECK_FALSE(has_key_anywhere(payload, "expire_after"));
  REQUIRE(payload.contains("components"));
  for (const auto& [key, c] : payload["components"].items()) {
    INFO("component " << key);
    const auto spec = mqtt::metric_spec(key);
    if (!spec) {
      CHECK(key.starts_with("vendor_"));
      CHECK(c["enabled_by_default"] == false);
      continue;
    }
    CHECK(c["platform"] == "sensor");
    if (spec->device_class.empty()) {
      CHECK_FALSE(c.contains("device_class"));
    } else {
      CHECK(c["device_class"] == std::string(spec->device_class));
    }
    CHECK(c["state_class"] == (spec->counter ? "total_increasing" : "measurement"));
    CHECK(c["unit_of_measurement"] == std::string(spec->unit));
    CHECK(c["suggested_display_precision"] == spec->precision);
    CHECK(c.contains("entity_category") == spec->diagnostic);
    const std::string value = "value_json." + key;
    CHECK(c["value_template"] == (spec->counter ? "{{ " + value + " | default('') }}" : "{{ " + value + " }}"));
    CHECK(c["unique_id"] == identifier + "_" + key);
    CHECK(c["default_entity_id"] == "sensor." + identifier.substr(std::string("sunkeep_").size()) + "_" + key);
    // HA's own pairs: energy is total_increasing in kWh; power, battery, voltage, … are measurements.
    if (c.value("device_class", "") == "energy") CHECK(c["state_class"] == "total_increasing");
    if (c.value("device_class", "") == "battery") CHECK(c["unit_of_measurement"] == "%");
    CHECK_FALSE(std::string(c["name"]).empty());
  }
}

void check_golden(const std::string& name, const json& actual) {
  const std::string path = std::string(SUNKEEP_SOURCE_DIR) + "/tests/golden/mqtt/" + name + ".json";
  const json got = normalised(actual);
  if (std::getenv("SUNKEEP_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << got.dump(2) << "\n";
    return;
  }
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "no golden file " << path << " (run with SUNKEEP_UPDATE_GOLDEN=1 to write it)");
  std::stringstream text;
  text << in.rdbuf();
  CHECK_MESSAGE(json::parse(text.str()) == got, name << ": differs from " << path << ":\n" << got.dump(2));
}

}  // namespace sunkeep::test
