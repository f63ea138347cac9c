// The History tab's time range prompt.
#include "client/tabs/time_range.h"

#include <catch2/catch.hpp>

namespace rustnet::client {
namespace {

// 2026-12-06 15:30:00 UTC, a Sunday.
const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 12, 6, 15, 30, 0), absl::UTCTimeZone());
const absl::TimeZone kUtc = absl::UTCTimeZone();

absl::Time At(int y, int mo, int d, int h, int mi, int s = 0, absl::TimeZone tz = kUtc) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), tz);
}

TEST_CASE("time range: durations ago", "[client][tabs][time_range]") {
  const std::pair<const char*, absl::Duration> cases[] = {
      {"1h", absl::Hours(1)},        {"30m", absl::Minutes(30)}, {"90s", absl::Seconds(90)},
      {"2d", absl::Hours(48)},       {"1w", absl::Hours(168)},   {"1h ago", absl::Hours(1)},
      {"  15M  ", absl::Minutes(15)},
  };
  for (const auto& [text, ago] : cases) {
    INFO(text);
    auto r = ParseTimeRange(text, kNow, kUtc);
    REQUIRE(r.ok());
    REQUIRE(r->since.has_value());
    CHECK(*r->since == kNow - ago);
    CHECK_FALSE(r->until.has_value());
  }
}

TEST_CASE("time range: days, clock times and ISO", "[client][tabs][time_range]") {
  const std::pair<const char*, absl::Time> cases[] = {
      {"yesterday 14:00", At(2026, 12, 5, 14, 0)},
      {"yesterday", At(2026, 12, 5, 0, 0)},
      {"today", At(2026, 12, 6, 0, 0)},
      {"today 09:15:30", At(2026, 12, 6, 9, 15, 30)},
      {"14:00", At(2026, 12, 6, 14, 0)},
      {"2026-12-01 08:00", At(2026, 12, 1, 8, 0)},
      {"2026-12-01", At(2026, 12, 1, 0, 0)},
      {"2026-12-01T08:00:05", At(2026, 12, 1, 8, 0, 5)},
      {"2026-12-01T08:00:00Z", At(2026, 12, 1, 8, 0)},
      {"2026-12-01T10:00:00+02:00", At(2026, 12, 1, 8, 0)},
      {"since 1h", kNow - absl::Hours(1)},
  };
  for (const auto& [text, want] : cases) {
    INFO(text);
    auto r = ParseTimeRange(text, kNow, kUtc);
    REQUIRE(r.ok());
    REQUIRE(r->since.has_value());
    CHECK(*r->since == want);
  }
  // Local forms are in the given zone.
  const absl::TimeZone berlin = absl::FixedTimeZone(3600);
  auto r = ParseTimeRange("2026-12-01 08:00", kNow, berlin);
  REQUIRE(r.ok());
  CHECK(*r->since == At(2026, 12, 1, 7, 0));
}

TEST_CASE("time range: ranges and until", "[client][tabs][time_range]") {
  auto r = ParseTimeRange("yesterday 14:00 .. yesterday 16:00", kNow, kUtc);
  REQUIRE(r.ok());
  CHECK(*r->since == At(2026, 12, 5, 14, 0));
  CHECK(*r->until == At(2026, 12, 5, 16, 0));
  r = ParseTimeRange("2h to 1h", kNow, kUtc);
  REQUIRE(r.ok());
  CHECK(*r->since == kNow - absl::Hours(2));
  CHECK(*r->until == kNow - absl::Hours(1));
  r = ParseTimeRange("1h..now", kNow, kUtc);
  REQUIRE(r.ok());
  CHECK(*r->until == kNow);
  r = ParseTimeRange("until 10:00", kNow, kUtc);
  REQUIRE(r.ok());
  CHECK_FALSE(r->since.has_value());
  CHECK(*r->until == At(2026, 12, 6, 10, 0));
  r = ParseTimeRange("", kNow, kUtc);
  REQUIRE(r.ok());
  CHECK_FALSE(r->since.has_value());
  CHECK_FALSE(r->until.has_value());
  CHECK(DescribeTimeRange(*r, kUtc) == "all stored");
}

TEST_CASE("time range: mistakes get one sentence", "[client][tabs][time_range]") {
  for (const char* bad : {"banana", "1x", "25:00", "yesterday noon", "1h .. ", "1h..2h",
                          "9999999h", "2026-13-01", "-1h"}) {
    INFO(bad);
    auto r = ParseTimeRange(bad, kNow, kUtc);
    REQUIRE_FALSE(r.ok());
    const std::string message(r.status().message());
    const bool explained = message.find("use e.g.") != std::string::npos ||
                           message.find("earlier time first") != std::string::npos;
    CHECK(explained);
  }
  CHECK_FALSE(ParseTimeRange(std::string(500, '1'), kNow, kUtc).ok());
}

}  // namespace
}  // namespace rustnet::client
