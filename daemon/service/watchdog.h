// ProgressWatchdog: decides whether rustnetd may send WATCHDOG=1. The main
// loop pinging on a timer would prove only that the main loop runs; this
// proves the pipeline does: the capture thread's clock and every worker's
// published snapshot must have moved within the stall limit. On an idle
// live link they still move (the capture thread sends the workers "tick"
// batches carrying the wall clock; see daemon/pipeline/pipeline.h), so
// silence on the wire is not a stall. Once a replayed file has ended there
// is nothing left to move, and the pipeline counts as healthy.
//
// Thread-safety: one thread (rustnetd's main loop).
#ifndef RUSTNET_DAEMON_SERVICE_WATCHDOG_H_
#define RUSTNET_DAEMON_SERVICE_WATCHDOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace rustnet {

struct PipelineProgress {
  bool finished = false;         // The source ended and the workers drained.
  int64_t capture_clock_us = 0;  // The capture thread's clock.
  // Each worker's latest snapshot time; 0 before its first.
  std::vector<int64_t> worker_clocks_us;
};

class ProgressWatchdog {
 public:
  // A stage whose marker has not moved for longer than `stall_limit` is
  // stalled.
  explicit ProgressWatchdog(absl::Duration stall_limit) : stall_limit_(stall_limit) {}

  // Records a sample taken at `now`. Empty when the pipeline is healthy,
  // else why not, e.g. "worker 2 has published no snapshot for 31s".
  // The first sample starts every stage's clock.
  std::string Check(const PipelineProgress& progress, absl::Time now);

  absl::Duration stall_limit() const { return stall_limit_; }

 private:
  struct Marker {
    int64_t value = 0;
    absl::Time changed;
  };
  // Updates the marker; true if it moved within the limit.
  bool Moving(Marker& marker, int64_t value, absl::Time now) const;

  absl::Duration stall_limit_;
  bool started_ = false;
  Marker capture_;
  std::vector<Marker> workers_;
};

// The stall limit rustnetd uses for a WatchdogSec= ping interval: the
// interval, but at least 5 s (workers publish once a second; scheduling
// hiccups must not look like a stall).
absl::Duration StallLimitFor(absl::Duration watchdog_interval);

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_SERVICE_WATCHDOG_H_
