// The allow-listed query builder.
#include "protocol/sermatec/queries.hpp"

#include "protocol/sermatec/frame.hpp"
#include "protocol/sermatec/rc4.hpp"

#include <algorithm>

namespace sunkeep::sermatec {

std::vector<std::uint8_t> QueryFrame::rc4() const { return rc4_apply(bytes_); }

std::optional<QueryFrame> build_query(std::uint8_t code) {
  if (std::find(read_only_codes.begin(), read_only_codes.end(), code) == read_only_codes.end()) return std::nullopt;
  return QueryFrame(frame_bytes(address_sunkeep, address_inverter, code, {}));
}

}  // namespace sunkeep::sermatec
