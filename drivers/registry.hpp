// The drivers sunkeep runs: the one list of vendors. Adding a vendor is one line here (and its
// config section in config/vendor/).
#pragma once

#include "drivers/sermatec/session.hpp"
#include "server/driver.hpp"

#include <vector>

namespace sunkeep::drivers {

// A factory for each vendor's driver. `sermatec_timing`: the Sermatec spec's timeouts (tests
// shorten them).
std::vector<server::DriverFactory> all_drivers(SermatecTiming sermatec_timing = {});

}  // namespace sunkeep::drivers
