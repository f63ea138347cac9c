// The History tab's time range prompt: what a person types for "since when"
// and "until when", turned into times.
//
//   ""                      no bound (everything the store holds)
//   1h  30m  90s  2d  1w    since that long ago ("1h ago" too)
//   yesterday 14:00         since then; "today", "yesterday" alone: midnight
//   14:00                   today at 14:00 (14:00:30 too)
//   2026-12-06T14:00:00Z    ISO 8601 (an offset or Z; without one, local)
//   2026-12-06 14:00        local time; a date alone is its midnight
//   A .. B   or   A to B    since A until B (either may be "now")
//   until B                 no lower bound
// Times are in `tz` (the local zone in the TUI).
//
// Threads: none; a pure function.
#ifndef RUSTNET_CLIENT_TABS_TIME_RANGE_H_
#define RUSTNET_CLIENT_TABS_TIME_RANGE_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rustnet::client {

struct TimeRange {
  std::optional<absl::Time> since;
  std::optional<absl::Time> until;
};

// Error: one sentence naming what was not understood and the accepted forms.
absl::StatusOr<TimeRange> ParseTimeRange(std::string_view text, absl::Time now, absl::TimeZone tz);

// "since 2026-12-06 13:00 until now" and the like, for the screen.
std::string DescribeTimeRange(const TimeRange& range, absl::TimeZone tz);

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_TIME_RANGE_H_
