// Local days and months of an IANA zone as UTC instants: the edges of the site's energy periods
// and of the `tz` day buckets (a DST day is 23 or 25 hours long; a midnight that does not exist
// starts its day at the first instant that does).
#pragma once

#include "common/civil_time.hpp"
#include "common/time_zone.hpp"

#include <utility>

namespace sunkeep {

enum class LocalPeriod { day, month };

class LocalCalendar {
 public:
  explicit LocalCalendar(TimeZone zone) : zone_(std::move(zone)) {}

  // When the local period holding `t` starts.
  [[nodiscard]] UtcMillis start_of(UtcMillis t, LocalPeriod period) const;
  // When the local period after the one holding `t` starts.
  [[nodiscard]] UtcMillis next_start(UtcMillis t, LocalPeriod period) const;
  [[nodiscard]] const TimeZone& zone() const { return zone_; }

 private:
  TimeZone zone_;
};

// The start of the local day holding a time, remembering the last day found: times asked in
// order cost one comparison each.
class LocalDayBuckets {
 public:
  explicit LocalDayBuckets(const LocalCalendar& calendar) : calendar_(calendar) {}

  UtcMillis operator()(UtcMillis t);

 private:
  const LocalCalendar& calendar_;
  UtcMillis start_ = 0;
  UtcMillis end_ = 0;  // start_ == end_: nothing remembered yet
};

}  // namespace sunkeep
