// The list of drivers.
#include "drivers/registry.hpp"

#include "drivers/alphaess/driver.hpp"
#include "drivers/apsystems/driver.hpp"
#include "drivers/sermatec/driver.hpp"
#include "drivers/sma/driver.hpp"

namespace sunkeep::drivers {

std::vector<server::DriverFactory> all_drivers(SermatecTiming sermatec_timing) {
  return {
      [](server::DriverHost& host) { return std::make_unique<AlphaEssDriver>(host); },
      [sermatec_timing](server::DriverHost& host) { return std::make_unique<SermatecDriver>(host, sermatec_timing); },
      [](server::DriverHost& host) { return std::make_unique<SmaDriver>(host); },
      [](server::DriverHost& host) { return std::make_unique<ApsystemsDriver>(host); },
  };
}

}  // namespace sunkeep::drivers
