#include "daemon/capture/capture_recovery.h"

#include <algorithm>
#include <utility>

namespace rustnet {

void CaptureRecovery::Stopped(std::string why, int64_t now_us) {
  // Flapping if it stops again soon after it resumed: continue backing off
  // from where the last wait ended instead of starting over.
  flapping_ = resumed_us_ != std::numeric_limits<int64_t>::min() &&
              now_us - resumed_us_ < options_.stable_us;
  delay_us_ = flapping_ ? std::min(std::max(delay_us_ * 2, options_.first_delay_us),
                                   options_.flapping_max_delay_us)
                        : options_.first_delay_us;
  state_ = CaptureState::kWaiting;
  why_ = std::move(why);
  ++interruptions_;
  stopped_us_ = now_us;
  Schedule(now_us);
}

int64_t CaptureRecovery::UntilAttempt(int64_t now_us) const {
  return std::max<int64_t>(0, next_attempt_us_ - now_us);
}

bool CaptureRecovery::AttemptFailed(std::string why, int64_t now_us) {
  const int64_t cap = flapping_ ? options_.flapping_max_delay_us : options_.max_delay_us;
  delay_us_ = std::min(std::max(delay_us_ * 2, options_.first_delay_us), cap);
  Schedule(now_us);
  if (why == why_) return false;
  why_ = std::move(why);
  return true;
}

int64_t CaptureRecovery::Resumed(int64_t now_us) {
  state_ = CaptureState::kCapturing;
  why_.clear();
  resumed_us_ = now_us;
  return now_us - stopped_us_;
}

}  // namespace rustnet
