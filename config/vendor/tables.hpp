// The key tables of the vendors' config sections.
#pragma once

#include "config/readers.hpp"

#include <vector>

namespace sunkeep::config {

SectionSpec alphaess_section();
SectionSpec sermatec_section();
SectionSpec sma_section();
SectionSpec apsystems_section();

// Every vendor's section, in the order `check-config` lists known sections.
std::vector<SectionSpec> vendor_sections();

}  // namespace sunkeep::config
