// The hash a record keeps of its fields as JSON text, in its row and in record blocks (64-bit
// FNV-1a, stored as a signed integer): a repeat of a record key with the same hash is a
// duplicate, with another a conflict. Vendors compute it beside their codec, storage compares it.
#pragma once

#include <cstdint>
#include <string_view>

namespace sunkeep {

std::int64_t fields_hash(std::string_view fields_json);

}  // namespace sunkeep
