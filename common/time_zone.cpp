// IANA time-zone conversion on top of Howard Hinnant's date/tz (system zoneinfo).
#include "common/time_zone.hpp"

#include <date/tz.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace sunkeep {

namespace {
std::int64_t to_ms(std::chrono::seconds s) { return static_cast<std::int64_t>(s.count()) * 1000; }
}  // namespace

TimeZone::TimeZone(const std::string& iana_name) : zone_(nullptr), name_(iana_name) {
  try {
    zone_ = date::locate_zone(iana_name);
  } catch (const std::exception&) {
    throw std::runtime_error("unknown time zone \"" + iana_name + "\"");
  }
}

UtcMillis TimeZone::to_utc(const CivilTime& local, UtcMillis hint) const {
  const date::local_seconds naive{std::chrono::seconds{local.naive_epoch_seconds()}};
  const date::local_info info = zone_->get_info(naive);
  const std::int64_t naive_ms = to_ms(naive.time_since_epoch());
  switch (info.result) {
    case date::local_info::unique:
      return naive_ms - to_ms(info.first.offset);
    case date::local_info::nonexistent:
      // Interpreting with the offset in force before the gap lands after the transition,
      // i.e. the reading moves forward by the size of the gap.
      return naive_ms - to_ms(info.first.offset);
    case date::local_info::ambiguous:
    default: {
      const UtcMillis earlier = naive_ms - to_ms(info.first.offset);
      const UtcMillis later = naive_ms - to_ms(info.second.offset);
      return std::llabs(earlier - hint) <= std::llabs(later - hint) ? earlier : later;
    }
  }
}

CivilTime TimeZone::to_local(UtcMillis utc) const {
  const date::sys_seconds instant{std::chrono::seconds{utc / 1000}};
  const date::sys_info info = zone_->get_info(instant);
  return civil_from_naive_seconds(utc / 1000 + info.offset.count());
}

std::string local_zone_name() {
  try {
    return std::string(date::current_zone()->name());
  } catch (const std::exception&) {
    return "UTC";
  }
}

}  // namespace sunkeep
