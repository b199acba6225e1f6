// The p-quantile (0 ≤ p ≤ 1, nearest rank below) of a benchmark's samples; 0 when there are none.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace sunkeep::bench {

inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

}  // namespace sunkeep::bench
