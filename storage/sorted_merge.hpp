// Merging what is stored with what arrives later: two lists sorted by a key, each key at most
// once in each list. Where both hold a key, the entry of `first` (stored first) is kept, the rule
// for repeated samples and records alike. Used by queries (overlay and rows), sample-block
// compaction and record-block packing.
#pragma once

#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

namespace sunkeep::storage {

// `key` maps an entry to its sort key (e.g. a sample's time).
template <class T, class Key>
std::vector<T> merge_first_wins(const std::vector<T>& first, std::type_identity_t<std::span<const T>> second, Key key) {
  if (second.empty()) return first;
  std::vector<T> out;
  out.reserve(first.size() + second.size());
  std::size_t i = 0;
  for (const auto& entry : second) {
    while (i < first.size() && key(first[i]) < key(entry)) out.push_back(first[i++]);
    if (i < first.size() && key(first[i]) == key(entry)) continue;
    out.push_back(entry);
  }
  out.insert(out.end(), first.begin() + static_cast<std::ptrdiff_t>(i), first.end());
  return out;
}

}  // namespace sunkeep::storage
