// IANA time zones: converts a device's naive local clock reading to a UTC instant, DST-correct.
#pragma once

#include "common/civil_time.hpp"

#include <string>

namespace date {
class time_zone;
}

namespace sunkeep {

class TimeZone {
 public:
  // Looks the zone up in the system's zoneinfo; throws std::runtime_error naming it if unknown.
  explicit TimeZone(const std::string& iana_name);

  // The UTC instant a device clock reading stands for.
  // In the repeated hour at the end of DST the instant closest to `hint` is chosen; a reading in
  // the spring-forward gap moves forward by the gap.
  [[nodiscard]] UtcMillis to_utc(const CivilTime& local, UtcMillis hint) const;

  // The local wall-clock reading of a UTC instant (whole seconds).
  [[nodiscard]] CivilTime to_local(UtcMillis utc) const;

  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  const date::time_zone* zone_;
  std::string name_;
};

// The IANA name of the server's own zone (/etc/localtime), "UTC" when it cannot be told.
std::string local_zone_name();

}  // namespace sunkeep
