// The Activity tab's state: totals per group from GroupConnections (per
// process by default; `g` cycles application, remote host, user, unit,
// container), each row with a sparkline of its last 60 seconds.
//
// GroupConnections answers with totals, not a series, so the series is
// made here: each reply's bytes (in + out, open and closed connections
// alike) are kept per group with the reply's snapshot time (the daemon's
// clock, packet time when replaying), and the rate between two replies
// fills the seconds between them. Groups missing from a reply lose their
// samples; at most kMaxTrackedGroups are kept.
//
// Threads: the UI thread only.
#ifndef RUSTNET_CLIENT_TABS_ACTIVITY_MODEL_H_
#define RUSTNET_CLIENT_TABS_ACTIVITY_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "rustnet/v1/monitor.pb.h"

namespace rustnet::client {

enum class ActivityGrouping { kProcess, kApplication, kRemoteHost, kUser, kUnit, kContainer };
inline constexpr int kActivityGroupingCount = 6;
std::string_view GroupingName(ActivityGrouping g);  // "process", "remote host", ...
rustnet::v1::GroupBy ToGroupBy(ActivityGrouping g);

enum class ActivitySort { kBytes, kRate, kConnections, kName };
std::string_view ActivitySortName(ActivitySort s);

class ActivityModel {
 public:
  static constexpr size_t kSeriesSeconds = 60;
  static constexpr size_t kMaxTrackedGroups = 1000;
  static constexpr uint32_t kGroupLimit = 500;  // Groups asked for.

  ActivityGrouping grouping() const { return grouping_; }
  ActivitySort sort() const { return sort_; }
  // Changing the grouping forgets the rows and their series.
  void SetGrouping(ActivityGrouping g);
  void NextGrouping();
  void NextSort();

  void OnGroups(const rustnet::v1::GroupConnectionsResponse& reply);
  bool have_data() const { return have_data_; }
  uint64_t total_groups() const { return total_groups_; }
  bool complete() const { return complete_; }

  // Rows in the chosen order.
  const std::vector<rustnet::v1::ConnectionGroup>& rows() const { return rows_; }
  // Bytes per second (in + out) of each of the last kSeriesSeconds seconds
  // up to the newest reply, oldest first; 0 where nothing is known.
  std::vector<double> Series(const std::string& key) const;

  size_t selected() const { return selected_; }
  void Move(int64_t delta);
  void Select(size_t index);
  const rustnet::v1::ConnectionGroup* Selected() const;

  // The Overview filter that shows a group's connections, or nullopt with
  // `why` when the filter language cannot say it (units, containers, the
  // group of connections without a process).
  std::optional<std::string> FilterFor(const rustnet::v1::ConnectionGroup& group,
                                       std::string* why) const;

 private:
  struct Sample {
    int64_t time_us;
    uint64_t bytes;
  };
  void Resort();

  ActivityGrouping grouping_ = ActivityGrouping::kProcess;
  ActivitySort sort_ = ActivitySort::kBytes;
  bool have_data_ = false;
  uint64_t total_groups_ = 0;
  bool complete_ = true;
  int64_t now_us_ = 0;
  std::vector<rustnet::v1::ConnectionGroup> rows_;
  absl::flat_hash_map<std::string, std::deque<Sample>> samples_;
  size_t selected_ = 0;
  std::string selected_key_;
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_TABS_ACTIVITY_MODEL_H_
