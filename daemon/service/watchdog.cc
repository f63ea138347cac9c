#include "daemon/service/watchdog.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace rustnet {

bool ProgressWatchdog::Moving(Marker& marker, int64_t value, absl::Time now) const {
  if (value != marker.value) {
    marker.value = value;
    marker.changed = now;
    return true;
  }
  return now - marker.changed <= stall_limit_;
}

std::string ProgressWatchdog::Check(const PipelineProgress& progress, absl::Time now) {
  if (!started_ || workers_.size() != progress.worker_clocks_us.size()) {
    started_ = true;
    capture_ = {progress.capture_clock_us, now};
    workers_.assign(progress.worker_clocks_us.size(), Marker{0, now});
    for (size_t i = 0; i < workers_.size(); ++i) {
      workers_[i].value = progress.worker_clocks_us[i];
    }
    return "";
  }
  if (progress.finished) {
    // Nothing left to move; restart the clocks in case it starts again.
    capture_.changed = now;
    for (Marker& w : workers_) w.changed = now;
    return "";
  }
  const absl::Time capture_since = capture_.changed;
  if (!Moving(capture_, progress.capture_clock_us, now)) {
    return absl::StrCat("the capture thread's clock has not moved for ",
                        absl::FormatDuration(absl::Trunc(now - capture_since, absl::Seconds(1))));
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    const absl::Time since = workers_[i].changed;
    if (!Moving(workers_[i], progress.worker_clocks_us[i], now)) {
      return absl::StrCat("worker ", i, " has published no snapshot for ",
                          absl::FormatDuration(absl::Trunc(now - since, absl::Seconds(1))));
    }
  }
  return "";
}

absl::Duration StallLimitFor(absl::Duration watchdog_interval) {
  return std::max(watchdog_interval, absl::Seconds(5));
}

}  // namespace rustnet
