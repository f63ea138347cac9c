// RateWindow: bytes per second over a sliding one-second window, from two
// one-second buckets (the current and the previous second). The rate at
// time t weights the previous bucket by the part of it still inside
// (t - 1 s, t]. 12 bytes per direction, O(1) per packet.
#ifndef RUSTNET_DAEMON_TRACK_RATE_H_
#define RUSTNET_DAEMON_TRACK_RATE_H_

#include <cstdint>

namespace rustnet {

struct RateWindow {
  uint32_t second = 0;   // Which second `current` counts (seconds since epoch).
  uint32_t current = 0;  // Bytes in that second (saturating).
  uint32_t previous = 0; // Bytes in the second before it.

  void Add(int64_t now_us, uint32_t bytes) {
    const auto now_s = static_cast<uint32_t>(now_us / 1'000'000);
    if (now_s < second && second - now_s == 1) {
      // Stamped just before the current second (capture queues may hand
      // packets over slightly out of order): it belongs to `previous`.
      // Rolling back would throw both buckets away. A larger step back (the
      // clock was set back) still restarts the window below.
      previous = SaturatingAdd(previous, bytes);
      return;
    }
    Roll(now_s);
    current = SaturatingAdd(current, bytes);
  }

  // Bytes per second as of `now_us` (>= the last Add's time).
  double Rate(int64_t now_us) const {
    const auto now_s = static_cast<uint32_t>(now_us / 1'000'000);
    const double frac = static_cast<double>(now_us % 1'000'000) / 1e6;
    if (now_s == second) return previous * (1.0 - frac) + current;
    if (now_s == second + 1) return current * (1.0 - frac);
    return 0.0;
  }

 private:
  static uint32_t SaturatingAdd(uint32_t a, uint32_t b) {
    const uint64_t sum = uint64_t{a} + b;
    return sum > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(sum);
  }
  void Roll(uint32_t now_s) {
    if (now_s == second) return;
    previous = now_s == second + 1 ? current : 0;
    current = 0;
    second = now_s;
  }
};

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_TRACK_RATE_H_
