// Device clock readings to UTC, DST-correct (alphaess.md §5.7). Expected instants were computed
// independently (Python zoneinfo).
#include "common/time_zone.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using namespace sunkeep;

TEST_CASE("time zone: Sydney summer time") {
  const TimeZone sydney("Australia/Sydney");
  CHECK(sydney.to_utc({2021, 3, 24, 10, 2, 40}, 0) == 1616540560000);
  CHECK(format_rfc3339(1616540560000) == "2021-03-23T23:02:40Z");
  CHECK(format_rfc3339(1616540560999) == "2021-03-23T23:02:40Z");
  CHECK(format_rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59Z");
  CHECK(format_rfc3339(253402300799000) == "9999-12-31T23:59:59Z");
  CHECK(format_rfc3339(253402300800000) == "10000-01-01T00:00:00Z");
  CHECK(format_rfc3339(-62135596800000) == "0001-01-01T00:00:00Z");
  std::string appended = "t=";
  append_rfc3339(appended, 0);
  append_rfc3339(appended, 253402300800000);
  CHECK(appended == "t=1970-01-01T00:00:00Z10000-01-01T00:00:00Z");
  CHECK(sydney.to_local(1616540560000) == CivilTime{2021, 3, 24, 10, 2, 40});
}

TEST_CASE("time zone: the repeated hour picks the instant closest to the hint") {
  const TimeZone sydney("Australia/Sydney");
  const CivilTime repeated{2021, 4, 4, 2, 30, 0};
  CHECK(sydney.to_utc(repeated, 1617463800000 + 60'000) == 1617463800000);  // still +11
  CHECK(sydney.to_utc(repeated, 1617467400000 - 60'000) == 1617467400000);  // already +10
}

TEST_CASE("time zone: a reading in the spring-forward gap moves forward by the gap") {
  const TimeZone sydney("Australia/Sydney");
  const UtcMillis utc = sydney.to_utc({2021, 10, 3, 2, 30, 0}, 0);
  CHECK(utc == 1633192200000);
  CHECK(sydney.to_local(utc) == CivilTime{2021, 10, 3, 3, 30, 0});
}

TEST_CASE("time zone: UTC and unknown zones") {
  CHECK(TimeZone("UTC").to_utc({1970, 1, 2, 0, 0, 0}, 0) == 86'400'000);
  CHECK_THROWS_WITH_AS(TimeZone("Mars/Olympus"), "unknown time zone \"Mars/Olympus\"", std::runtime_error);
}
