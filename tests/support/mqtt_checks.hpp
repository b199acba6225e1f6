// Checks shared by the MQTT tests: mqtt.md §4.1's table applied to a discovery payload, and
// golden files (written afresh with SUNKEEP_UPDATE_GOLDEN=1, then reviewed and committed).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sunkeep::test {

// Every component of a device-mode discovery payload against mqtt.md §4.1: class pairs, units,
// precision, entity category, templates, ids; no object_id or expire_after anywhere.
void check_discovery_components(const nlohmann::json& payload, const std::string& identifier);
// `actual` against tests/golden/mqtt/<name>.json, with the version replaced by "<version>".
void check_golden(const std::string& name, const nlohmann::json& actual);

}  // namespace sunkeep::test
