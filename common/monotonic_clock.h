// MonotonicUs: microseconds on CLOCK_MONOTONIC (since boot; never steps
// with the wall clock), the time base the process attribution's deadlines,
// cache ages and rate limits are kept in. One definition, because its users
// hand these times to each other (the attributor passes its "now" to
// ProcessTable, which also reads the clock itself): two helpers that drifted
// apart (another clock, another unit) would compare unrelated numbers.
//
// Thread-safety: any thread.
#ifndef RUSTNET_COMMON_MONOTONIC_CLOCK_H_
#define RUSTNET_COMMON_MONOTONIC_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace rustnet {

inline int64_t MonotonicUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}

}  // namespace rustnet

#endif  // RUSTNET_COMMON_MONOTONIC_CLOCK_H_
