#include "client/tabs/time_range.h"

#include <cctype>
#include <string>

#include "client/format.h"

namespace rustnet::client {
namespace {

constexpr size_t kMaxText = 100;

// This Abseil's string_view is not std's: small std-only helpers.
std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (!s->starts_with(prefix)) return false;
  s->remove_prefix(prefix.size());
  return true;
}

// "90s", "30m", "1h", "2d", "1w" (optionally followed by " ago").
std::optional<absl::Duration> ParseAgo(std::string_view s) {
  s = Trim(s);
  if (s.ends_with("ago")) s = Trim(s.substr(0, s.size() - 3));
  if (s.size() < 2) return std::nullopt;
  const char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
  std::string_view digits = Trim(s.substr(0, s.size() - 1));
  if (digits.empty() || digits.size() > 6) return std::nullopt;
  int64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  switch (unit) {
    case 's': return absl::Seconds(n);
    case 'm': return absl::Minutes(n);
    case 'h': return absl::Hours(n);
    case 'd': return absl::Hours(24 * n);
    case 'w': return absl::Hours(24 * 7 * n);
    default: return std::nullopt;
  }
}

// "14:00" or "14:00:30" as an offset from midnight.
std::optional<absl::Duration> ParseClock(std::string_view s) {
  absl::Time t;
  std::string err;
  const std::string text(Trim(s));
  for (const char* f : {"%H:%M", "%H:%M:%S"}) {
    if (absl::ParseTime(f, text, absl::UTCTimeZone(), &t, &err)) {
      return t - absl::UnixEpoch();
    }
  }
  return std::nullopt;
}

absl::Time Midnight(absl::Time t, absl::TimeZone tz) {
  const absl::CivilDay day = absl::ToCivilDay(t, tz);
  return absl::FromCivil(day, tz);
}

std::optional<absl::Time> ParsePoint(std::string_view s, absl::Time now, absl::TimeZone tz) {
  s = Trim(s);
  const std::string lower = Lower(s);
  if (lower == "now") return now;
  if (auto ago = ParseAgo(lower)) return now - *ago;
  for (const auto& [word, days] : {std::pair<const char*, int>{"today", 0}, {"yesterday", 1}}) {
    std::string_view rest = lower;
    if (!ConsumePrefix(&rest, word)) continue;
    const absl::Time day = absl::FromCivil(absl::ToCivilDay(now, tz) - days, tz);
    rest = Trim(rest);
    if (rest.empty()) return day;
    if (auto clock = ParseClock(rest)) {
      return absl::FromCivil(absl::ToCivilSecond(day, tz) + absl::ToInt64Seconds(*clock), tz);
    }
    return std::nullopt;
  }
  if (auto clock = ParseClock(lower)) {
    return absl::FromCivil(absl::ToCivilSecond(Midnight(now, tz), tz) +
                               absl::ToInt64Seconds(*clock),
                           tz);
  }
  const std::string text(s);
  std::string err;
  absl::Time t;
  // With an offset or Z first (RFC 3339), then local forms.
  for (const char* f : {"%Y-%m-%d%ET%H:%M:%E*S%Ez", "%Y-%m-%d%ET%H:%M%Ez"}) {
    if (absl::ParseTime(f, text, &t, &err)) return t;
  }
  for (const char* f : {"%Y-%m-%d%ET%H:%M:%S", "%Y-%m-%d%ET%H:%M", "%Y-%m-%d %H:%M:%S",
                        "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    if (absl::ParseTime(f, text, tz, &t, &err)) return t;
  }
  return std::nullopt;
}

absl::Status NotUnderstood(std::string_view part) {
  return absl::InvalidArgumentError(Cat(
      "cannot read \"", part,
      "\" as a time; use e.g. 1h, 30m, yesterday 14:00, 14:00, 2026-12-06 14:00 or "
      "2026-12-06T14:00Z, and A .. B for a range"));
}

}  // namespace

absl::StatusOr<TimeRange> ParseTimeRange(std::string_view text, absl::Time now,
                                         absl::TimeZone tz) {
  TimeRange r;
  text = Trim(text);
  if (text.size() > kMaxText) {
    return absl::InvalidArgumentError("the time range is too long; use e.g. 1h or A .. B");
  }
  if (text.empty()) return r;
  // Separators are found in a lower-case copy (same length); the parts are
  // cut from the original, whose case ISO times keep ("T", "Z").
  const std::string lower = Lower(text);
  size_t skip = 0;
  if (lower.starts_with("until ")) {
    auto t = ParsePoint(text.substr(6), now, tz);
    if (!t) return NotUnderstood(Trim(text.substr(6)));
    r.until = *t;
    return r;
  }
  if (lower.starts_with("since ")) skip = 6;
  const std::string_view rest = text.substr(skip);
  const std::string_view rest_lower = std::string_view(lower).substr(skip);
  std::string_view a = rest;
  std::string_view b;
  size_t sep = rest_lower.find("..");
  size_t sep_len = 2;
  if (sep == std::string_view::npos) {
    sep = rest_lower.find(" to ");
    sep_len = 4;
  }
  if (sep != std::string_view::npos) {
    a = rest.substr(0, sep);
    b = rest.substr(sep + sep_len);
  }
  auto since = ParsePoint(a, now, tz);
  if (!since) return NotUnderstood(Trim(a));
  r.since = *since;
  if (sep != std::string_view::npos) {
    auto until = ParsePoint(b, now, tz);
    if (!until) return NotUnderstood(Trim(b));
    r.until = *until;
    if (*r.until <= *r.since) {
      return absl::InvalidArgumentError("the range ends before it starts; put the earlier time first");
    }
  }
  return r;
}

std::string DescribeTimeRange(const TimeRange& range, absl::TimeZone tz) {
  const auto fmt = [&](absl::Time t) { return absl::FormatTime("%Y-%m-%d %H:%M:%S", t, tz); };
  if (!range.since && !range.until) return "all stored";
  if (!range.since) return Cat("until ", fmt(*range.until));
  if (!range.until) return Cat("since ", fmt(*range.since));
  return Cat(fmt(*range.since), " .. ", fmt(*range.until));
}

}  // namespace rustnet::client
