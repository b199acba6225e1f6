// The vendors' config sections: the one list of them in config/ (with vendor/tables.cpp).
// Config derives from VendorSections, so each is `config.<vendor>`.
#pragma once

#include "config/vendor/alphaess.hpp"
#include "config/vendor/apsystems.hpp"
#include "config/vendor/sermatec.hpp"
#include "config/vendor/sma.hpp"

namespace sunkeep::config {

struct VendorSections {
  AlphaEssConfig alphaess;
  SermatecConfig sermatec;
  SmaConfig sma;
  ApsystemsConfig apsystems;
};

}  // namespace sunkeep::config
