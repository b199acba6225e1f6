// Numeric samples from AlphaESS records: vendor keys with units, the packed cell values split
// into parts, and the canonical metrics of interfaces.md §4.
#pragma once

#include "common/observation.hpp"
#include "protocol/alphaess/json_fields.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace sunkeep::alphaess {

// The unit of an AlphaESS key ("" when unknown or dimensionless).
std::string_view vendor_unit(std::string_view key);

// Every numeric value of a record under its vendor name, the packed cell values as
// `<key>_module`, `<key>_cell`/`<key>_sensor` and `<key>_value`, and then the canonical metrics
// whose inputs are all present. Non-numeric values (EmsStatus, CSQ "99,99", SN, Time) are skipped.
std::vector<Reading> numeric_samples(const Fields& fields);

}  // namespace sunkeep::alphaess
