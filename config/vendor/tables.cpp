// The list of vendor config sections.
#include "config/vendor/tables.hpp"

namespace sunkeep::config {

std::vector<SectionSpec> vendor_sections() { return {alphaess_section(), sermatec_section(), sma_section(), apsystems_section()}; }

}  // namespace sunkeep::config
