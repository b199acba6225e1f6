// The [alphaess] key table.
#include "config/vendor/tables.hpp"

namespace sunkeep::config {

SectionSpec alphaess_section() {
  using C = Config;
  SectionSpec spec{
      "alphaess",
      {{"enabled", boolean([](C& c) -> bool& { return c.alphaess.enabled; })},
       {"listen", listen_address([](C& c) -> Endpoint& { return c.alphaess.listen; })},
       {"timezone", time_zone([](C& c) -> std::string& { return c.alphaess.timezone; })},
       {"backfill", boolean([](C& c) -> bool& { return c.alphaess.backfill; })},
       {"backfill_min_gap", duration([](C& c) -> milliseconds& { return c.alphaess.backfill_min_gap; })},
       {"backfill_max_age", duration([](C& c) -> milliseconds& { return c.alphaess.backfill_max_age; })},
       {"idle_timeout", duration([](C& c) -> milliseconds& { return c.alphaess.idle_timeout; })},
       {"max_frame", integer([](C& c) -> std::uint32_t& { return c.alphaess.max_frame; }, 1, 16 * 1024 * 1024)}},
      [](const C& c, Problems& problems) {
        if (c.alphaess.backfill_min_gap >= c.alphaess.backfill_max_age) {
          problems.push_back({"alphaess.backfill_min_gap", 0, "must be shorter than alphaess.backfill_max_age"});
        }
      }};
  for (auto& key : connection_limit_keys([](C& c) -> ConnectionLimits& { return c.alphaess.limits; })) {
    spec.keys.push_back(std::move(key));
  }
  return spec;
}

}  // namespace sunkeep::config
