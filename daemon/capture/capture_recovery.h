// CaptureRecovery: the bookkeeping of a live capture that can stop (its
// interface went down or was removed) and resume: the state, why it waits,
// when to try to reopen, how often it was interrupted. No libpcap and no
// clock here: callers pass monotonic microseconds, so tests drive it.
//
// Back-off: the first attempt 250 ms after the stop, then doubling up to
// 2 s between attempts (an attempt on an absent or down interface costs a
// name lookup and an ioctl). A capture that stops again less than 10 s
// after it resumed is flapping: its attempts start from twice the previous
// delay and back off up to 30 s, so a link that bounces cannot fill the log
// (each stop and each resume is logged once).
//
// Thread-safety: none; PcapSource uses it from the capture thread only.
#ifndef RUSTNET_DAEMON_CAPTURE_CAPTURE_RECOVERY_H_
#define RUSTNET_DAEMON_CAPTURE_CAPTURE_RECOVERY_H_

#include <cstdint>
#include <limits>
#include <string>

#include "daemon/capture/packet_source.h"

namespace rustnet {

class CaptureRecovery {
 public:
  struct Options {
    int64_t first_delay_us = 250'000;
    int64_t max_delay_us = 2'000'000;
    int64_t flapping_max_delay_us = 30'000'000;
    // A capture that ran this long since it resumed is no longer flapping.
    int64_t stable_us = 10'000'000;
  };

  CaptureRecovery() : CaptureRecovery(Options{}) {}
  explicit CaptureRecovery(Options options) : options_(options) {}

  // The capture stopped at now_us; `why` says what it waits for (the same
  // words an attempt would give, so the first failed attempt is no news).
  void Stopped(std::string why, int64_t now_us);
  // Waiting: whether an attempt to reopen is due.
  bool AttemptDue(int64_t now_us) const {
    return state_ == CaptureState::kWaiting && now_us >= next_attempt_us_;
  }
  // Waiting: microseconds until the next attempt (0 if due).
  int64_t UntilAttempt(int64_t now_us) const;
  // An attempt failed because of `why`. True if that differs from the
  // reason known so far (worth one log line).
  bool AttemptFailed(std::string why, int64_t now_us);
  // The capture is open again; returns how long it waited.
  int64_t Resumed(int64_t now_us);
  void End() { state_ = CaptureState::kEnded; }

  CaptureState state() const { return state_; }
  // Waiting: why (the latest attempt's reason). Empty otherwise.
  const std::string& why() const { return why_; }
  // Times the capture stopped and began to wait.
  uint32_t interruptions() const { return interruptions_; }
  // The delay before the next attempt, as last scheduled.
  int64_t delay_us() const { return delay_us_; }
  bool flapping() const { return flapping_; }

 private:
  void Schedule(int64_t now_us) { next_attempt_us_ = now_us + delay_us_; }

  Options options_;
  CaptureState state_ = CaptureState::kCapturing;
  std::string why_;
  uint32_t interruptions_ = 0;
  int64_t stopped_us_ = 0;
  int64_t resumed_us_ = std::numeric_limits<int64_t>::min();  // Never resumed.
  int64_t next_attempt_us_ = 0;
  int64_t delay_us_ = 0;
  bool flapping_ = false;
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_CAPTURE_CAPTURE_RECOVERY_H_
