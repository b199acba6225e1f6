// Local days and months of an IANA zone.
#include "common/local_calendar.hpp"

namespace sunkeep {

namespace {

constexpr std::int64_t day_seconds = 86'400;

// Local midnight starting the period that holds the local reading `local`.
CivilTime period_midnight(const CivilTime& local, LocalPeriod period) {
  return {local.year, local.month, period == LocalPeriod::day ? local.day : 1, 0, 0, 0};
}

// Local midnight starting the period after the one starting at `midnight`.
CivilTime following_midnight(const CivilTime& midnight, LocalPeriod period) {
  if (period == LocalPeriod::day) return civil_from_naive_seconds(midnight.naive_epoch_seconds() + day_seconds);
  return midnight.month == 12 ? CivilTime{midnight.year + 1, 1, 1, 0, 0, 0}
                              : CivilTime{midnight.year, midnight.month + 1, 1, 0, 0, 0};
}

}  // namespace

UtcMillis LocalCalendar::start_of(UtcMillis t, LocalPeriod period) const {
  const CivilTime midnight = period_midnight(zone_.to_local(t), period);
  // A repeated midnight (a DST end at 00:00) resolves to the earlier instant: the hint lies
  // before both, even for the first of a month.
  return zone_.to_utc(midnight, t - 40 * day_seconds * 1000);
}

UtcMillis LocalCalendar::next_start(UtcMillis t, LocalPeriod period) const {
  const CivilTime next = following_midnight(period_midnight(zone_.to_local(t), period), period);
  return zone_.to_utc(next, t);
}

UtcMillis LocalDayBuckets::operator()(UtcMillis t) {
  if (start_ == end_ || t < start_ || t >= end_) {
    start_ = calendar_.start_of(t, LocalPeriod::day);
    end_ = calendar_.next_start(t, LocalPeriod::day);
  }
  return start_;
}

}  // namespace sunkeep
