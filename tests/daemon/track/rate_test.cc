#include "daemon/track/rate.h"

#include <catch2/catch.hpp>
#include <cstdint>

namespace rustnet {
namespace {

constexpr int64_t kSecond = 1'000'000;

TEST_CASE("rate: nothing added is zero", "[rate]") {
  const RateWindow r;
  CHECK(r.Rate(0) == 0.0);
  CHECK(r.Rate(5 * kSecond + 500'000) == 0.0);
}

TEST_CASE("rate: bytes in the current second count fully", "[rate]") {
  RateWindow r;
  r.Add(10 * kSecond, 1000);
  r.Add(10 * kSecond + 500'000, 1000);
  CHECK(r.Rate(10 * kSecond + 500'000) == Approx(2000));
  CHECK(r.Rate(10 * kSecond + 999'999) == Approx(2000));
}

TEST_CASE("rate: the previous second is weighted by the part still in the window", "[rate]") {
  RateWindow r;
  r.Add(10 * kSecond + 200'000, 1000);
  r.Add(11 * kSecond + 100'000, 500);
  // At 11.25 s the window (10.25, 11.25] holds three quarters of second 10.
  CHECK(r.Rate(11 * kSecond + 250'000) == Approx(750 + 500));
  CHECK(r.Rate(11 * kSecond) == Approx(1000 + 500));
  CHECK(r.Rate(11 * kSecond + 999'999) == Approx(500).epsilon(0.001));
}

TEST_CASE("rate: with no new bytes the last second fades out over one second", "[rate]") {
  RateWindow r;
  r.Add(10 * kSecond + 500'000, 1000);
  CHECK(r.Rate(11 * kSecond) == Approx(1000));
  CHECK(r.Rate(11 * kSecond + 500'000) == Approx(500));
  CHECK(r.Rate(11 * kSecond + 750'000) == Approx(250));
  CHECK(r.Rate(12 * kSecond) == 0.0);
  CHECK(r.Rate(100 * kSecond) == 0.0);
}

TEST_CASE("rate: a gap of two seconds or more clears both buckets", "[rate]") {
  RateWindow r;
  r.Add(10 * kSecond + 500'000, 1000);
  r.Add(11 * kSecond + 500'000, 2000);
  r.Add(13 * kSecond + 500'000, 300);
  CHECK(r.Rate(13 * kSecond + 500'000) == Approx(300));
  // The next second rolls current into previous.
  r.Add(14 * kSecond, 100);
  CHECK(r.Rate(14 * kSecond) == Approx(300 + 100));
}

TEST_CASE("rate: steady traffic reads its true rate", "[rate]") {
  // 100 bytes every 10 ms: 10,000 bytes/s.
  RateWindow r;
  for (int64_t t = 0; t < 5 * kSecond; t += 10'000) {
    r.Add(t, 100);
    if (t >= kSecond) {
      INFO("t = " << t);
      CHECK(r.Rate(t) == Approx(10'000).epsilon(0.02));
    }
  }
}

TEST_CASE("rate: a bucket saturates instead of wrapping", "[rate]") {
  RateWindow r;
  r.Add(kSecond, UINT32_MAX - 5);
  r.Add(kSecond, 10);
  CHECK(r.Rate(kSecond) == Approx(static_cast<double>(UINT32_MAX)));
}

TEST_CASE("rate: a packet stamped slightly earlier does not reset the window", "[rate]") {
  // Capture queues (-i any, several CPUs) may hand packets over with
  // timestamps a little out of order; one just before a second boundary
  // must not throw away what the current second holds.
  RateWindow r;
  r.Add(10 * kSecond + 500'000, 4000);
  r.Add(11 * kSecond + 500'000, 5000);
  r.Add(11 * kSecond - 1, 100);  // Late: belongs to second 10.
  CHECK(r.Rate(11 * kSecond + 600'000) == Approx(4100 * 0.4 + 5000));
  r.Add(11 * kSecond + 700'000, 100);
  CHECK(r.Rate(11 * kSecond + 700'000) == Approx(4100 * 0.3 + 5100));
  // Rolling on keeps the late bytes out of the new second.
  r.Add(12 * kSecond, 10);
  CHECK(r.Rate(12 * kSecond) == Approx(5100 + 10));
}

TEST_CASE("rate: a clock set back restarts the window", "[rate]") {
  RateWindow r;
  r.Add(1000 * kSecond + 500'000, 100);
  r.Add(10 * kSecond + 500'000, 200);
  CHECK(r.Rate(10 * kSecond + 600'000) == Approx(200));
}

}  // namespace
}  // namespace rustnet
