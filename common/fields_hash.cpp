// 64-bit FNV-1a of a record's fields JSON.
#include "common/fields_hash.hpp"

namespace sunkeep {

std::int64_t fields_hash(std::string_view fields_json) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : fields_json) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return static_cast<std::int64_t>(h);
}

}  // namespace sunkeep
