#include "client/tabs/activity_model.h"

#include <algorithm>
#include <tuple>

#include "client/format.h"

namespace rustnet::client {
namespace {

namespace v1 = rustnet::v1;

uint64_t BytesOf(const v1::ConnectionGroup& g) { return g.bytes_in() + g.bytes_out(); }

// A filter value, quoted when it has a space (quotes inside cannot be
// expressed: the caller refuses those).
std::string FilterValue(std::string_view v) {
  if (v.find(' ') == std::string_view::npos) return std::string(v);
  return Cat("\"", v, "\"");
}

bool LooksLikeAddress(std::string_view s) {
  if (s.empty()) return false;
  if (s.find(':') != std::string_view::npos) return true;  // IPv6.
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

}  // namespace

std::string_view GroupingName(ActivityGrouping g) {
  switch (g) {
    case ActivityGrouping::kProcess: return "process";
    case ActivityGrouping::kApplication: return "application";
    case ActivityGrouping::kRemoteHost: return "remote host";
    case ActivityGrouping::kUser: return "user";
    case ActivityGrouping::kUnit: return "unit";
    case ActivityGrouping::kContainer: return "container";
  }
  return "?";
}

v1::GroupBy ToGroupBy(ActivityGrouping g) {
  switch (g) {
    case ActivityGrouping::kProcess: return v1::GROUP_BY_PROCESS;
    case ActivityGrouping::kApplication: return v1::GROUP_BY_APPLICATION;
    case ActivityGrouping::kRemoteHost: return v1::GROUP_BY_REMOTE_HOST;
    case ActivityGrouping::kUser: return v1::GROUP_BY_USER;
    case ActivityGrouping::kUnit: return v1::GROUP_BY_UNIT;
    case ActivityGrouping::kContainer: return v1::GROUP_BY_CONTAINER;
  }
  return v1::GROUP_BY_PROCESS;
}

std::string_view ActivitySortName(ActivitySort s) {
  switch (s) {
    case ActivitySort::kBytes: return "total bytes";
    case ActivitySort::kRate: return "current rate";
    case ActivitySort::kConnections: return "connections";
    case ActivitySort::kName: return "name";
  }
  return "?";
}

void ActivityModel::SetGrouping(ActivityGrouping g) {
  if (g == grouping_) return;
  grouping_ = g;
  rows_.clear();
  samples_.clear();
  have_data_ = false;
  selected_ = 0;
  selected_key_.clear();
}

void ActivityModel::NextGrouping() {
  SetGrouping(static_cast<ActivityGrouping>((static_cast<int>(grouping_) + 1) %
                                            kActivityGroupingCount));
}

void ActivityModel::NextSort() {
  sort_ = static_cast<ActivitySort>((static_cast<int>(sort_) + 1) % 4);
  Resort();
}

void ActivityModel::OnGroups(const v1::GroupConnectionsResponse& reply) {
  have_data_ = true;
  total_groups_ = reply.total_groups();
  complete_ = reply.complete();
  rows_.assign(reply.groups().begin(), reply.groups().end());
  const int64_t t = reply.has_snapshot_time() ? ToMicros(reply.snapshot_time()) : 0;
  if (t > 0) {
    now_us_ = std::max(now_us_, t);
    absl::flat_hash_map<std::string, std::deque<Sample>> kept;
    for (const v1::ConnectionGroup& g : rows_) {
      if (kept.size() >= kMaxTrackedGroups) break;
      auto it = samples_.find(g.key());
      std::deque<Sample> s = it != samples_.end() ? std::move(it->second) : std::deque<Sample>();
      if (s.empty() || t > s.back().time_us) s.push_back({t, BytesOf(g)});
      // One sample older than the span is kept: it starts the first interval.
      const int64_t horizon = t - static_cast<int64_t>(kSeriesSeconds) * 1'000'000;
      while (s.size() > 2 && s[1].time_us <= horizon) s.pop_front();
      kept.emplace(g.key(), std::move(s));
    }
    samples_ = std::move(kept);
  }
  Resort();
}

void ActivityModel::Resort() {
  const auto rate = [](const v1::ConnectionGroup& g) { return g.rate_in() + g.rate_out(); };
  std::stable_sort(rows_.begin(), rows_.end(),
                   [&](const v1::ConnectionGroup& a, const v1::ConnectionGroup& b) {
                     switch (sort_) {
                       case ActivitySort::kBytes:
                         return std::make_tuple(BytesOf(b), a.key()) <
                                std::make_tuple(BytesOf(a), b.key());
                       case ActivitySort::kRate:
                         return std::make_tuple(rate(b), a.key()) <
                                std::make_tuple(rate(a), b.key());
                       case ActivitySort::kConnections:
                         return std::make_tuple(b.total_connections(), a.key()) <
                                std::make_tuple(a.total_connections(), b.key());
                       case ActivitySort::kName: return a.key() < b.key();
                     }
                     return false;
                   });
  // The selection follows its group.
  if (!selected_key_.empty()) {
    for (size_t i = 0; i < rows_.size(); ++i) {
      if (rows_[i].key() == selected_key_) selected_ = i;
    }
  }
  Select(selected_);
}

std::vector<double> ActivityModel::Series(const std::string& key) const {
  std::vector<double> out(kSeriesSeconds, 0.0);
  auto it = samples_.find(key);
  if (it == samples_.end() || now_us_ == 0) return out;
  const std::deque<Sample>& s = it->second;
  const int64_t start = now_us_ - static_cast<int64_t>(kSeriesSeconds) * 1'000'000;
  for (size_t i = 1; i < s.size(); ++i) {
    const Sample& a = s[i - 1];
    const Sample& b = s[i];
    if (b.time_us <= a.time_us || b.bytes < a.bytes) continue;
    const double rate = static_cast<double>(b.bytes - a.bytes) * 1e6 /
                        static_cast<double>(b.time_us - a.time_us);
    // Seconds whose span overlaps (a, b].
    for (size_t sec = 0; sec < kSeriesSeconds; ++sec) {
      const int64_t lo = start + static_cast<int64_t>(sec) * 1'000'000;
      const int64_t hi = lo + 1'000'000;
      if (hi > a.time_us && lo < b.time_us) out[sec] = rate;
    }
  }
  return out;
}

void ActivityModel::Move(int64_t delta) {
  if (rows_.empty()) return;
  const int64_t n = static_cast<int64_t>(rows_.size());
  Select(static_cast<size_t>(std::clamp<int64_t>(static_cast<int64_t>(selected_) + delta, 0,
                                                 n - 1)));
}

void ActivityModel::Select(size_t index) {
  if (rows_.empty()) {
    selected_ = 0;
    return;
  }
  selected_ = std::min(index, rows_.size() - 1);
  selected_key_ = rows_[selected_].key();
}

const v1::ConnectionGroup* ActivityModel::Selected() const {
  return selected_ < rows_.size() ? &rows_[selected_] : nullptr;
}

std::optional<std::string> ActivityModel::FilterFor(const v1::ConnectionGroup& group,
                                                    std::string* why) const {
  const std::string& key = group.key();
  if (key.empty() || key == "(other)") {
    *why = Cat("this row gathers connections without a ", GroupingName(grouping_),
               "; no filter selects it");
    return std::nullopt;
  }
  if (key.find('"') != std::string::npos) {
    *why = "the name has a quote, which a filter cannot hold";
    return std::nullopt;
  }
  switch (grouping_) {
    case ActivityGrouping::kProcess: {
      // "nginx /usr/sbin/nginx": the name is before the executable.
      const size_t space = key.find(" /");
      return Cat("process:", FilterValue(key.substr(0, space)));
    }
    case ActivityGrouping::kApplication: return Cat("app:", FilterValue(key));
    case ActivityGrouping::kRemoteHost:
      return LooksLikeAddress(key) ? Cat("raddr:", key) : Cat("host:", FilterValue(key));
    case ActivityGrouping::kUser: return Cat("user:", FilterValue(key));
    case ActivityGrouping::kUnit:
    case ActivityGrouping::kContainer:
      *why = Cat("the filter language has no key for a ", GroupingName(grouping_));
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace rustnet::client
