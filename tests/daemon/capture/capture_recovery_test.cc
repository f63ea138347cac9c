#include "daemon/capture/capture_recovery.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

namespace rustnet {
namespace {

constexpr int64_t kMs = 1'000;
constexpr int64_t kS = 1'000'000;
const std::string kDown = "interface veth0 is down";
const std::string kMissing = "no interface named veth0";

// Fails every attempt as soon as it is due until `until_us`; returns the
// delays between consecutive attempts.
std::vector<int64_t> FailAttempts(CaptureRecovery* r, int64_t from_us, int64_t until_us,
                                  const std::string& why) {
  std::vector<int64_t> gaps;
  int64_t last = from_us;
  for (int64_t t = from_us; t <= until_us; t += kMs) {
    if (!r->AttemptDue(t)) continue;
    gaps.push_back(t - last);
    last = t;
    r->AttemptFailed(why, t);
  }
  return gaps;
}

TEST_CASE("capture_recovery starts capturing, uninterrupted") {
  CaptureRecovery r;
  CHECK(r.state() == CaptureState::kCapturing);
  CHECK(r.interruptions() == 0);
  CHECK(r.why().empty());
  CHECK_FALSE(r.AttemptDue(0));
  CHECK_FALSE(r.AttemptDue(1'000 * kS));
}

TEST_CASE("capture_recovery backs off from 250 ms doubling to 2 s") {
  CaptureRecovery r;
  r.Stopped(kDown, 10 * kS);
  CHECK(r.state() == CaptureState::kWaiting);
  CHECK(r.interruptions() == 1);
  CHECK(r.why() == kDown);
  CHECK_FALSE(r.AttemptDue(10 * kS));
  CHECK(r.UntilAttempt(10 * kS) == 250 * kMs);
  CHECK_FALSE(r.AttemptDue(10 * kS + 249 * kMs));
  CHECK(r.AttemptDue(10 * kS + 250 * kMs));
  const auto gaps = FailAttempts(&r, 10 * kS, 30 * kS, kDown);
  REQUIRE(gaps.size() >= 6);
  CHECK(gaps[0] == 250 * kMs);
  CHECK(gaps[1] == 500 * kMs);
  CHECK(gaps[2] == 1 * kS);
  CHECK(gaps[3] == 2 * kS);
  for (size_t i = 4; i < gaps.size(); ++i) CHECK(gaps[i] == 2 * kS);  // Capped.
  CHECK(r.interruptions() == 1);  // Attempts are not interruptions.
}

TEST_CASE("capture_recovery an attempt is news only when the reason changes") {
  CaptureRecovery r;
  r.Stopped(kDown, 0);
  CHECK_FALSE(r.AttemptFailed(kDown, 250 * kMs));
  CHECK(r.AttemptFailed(kMissing, 750 * kMs));
  CHECK(r.why() == kMissing);
  CHECK_FALSE(r.AttemptFailed(kMissing, 2 * kS));
  CHECK_FALSE(r.AttemptFailed(kMissing, 4 * kS));
  CHECK(r.AttemptFailed(kDown, 6 * kS));
  CHECK(r.why() == kDown);
}

TEST_CASE("capture_recovery resume reports the wait and clears the reason") {
  CaptureRecovery r;
  r.Stopped(kDown, 5 * kS);
  r.AttemptFailed(kDown, 5 * kS + 250 * kMs);
  CHECK(r.Resumed(17 * kS + 300 * kMs) == 12 * kS + 300 * kMs);
  CHECK(r.state() == CaptureState::kCapturing);
  CHECK(r.why().empty());
  CHECK_FALSE(r.AttemptDue(100 * kS));
  CHECK(r.interruptions() == 1);
}

TEST_CASE("capture_recovery a stop long after a resume starts the back-off over") {
  CaptureRecovery r;
  r.Stopped(kDown, 0);
  FailAttempts(&r, 0, 20 * kS, kDown);
  CHECK(r.delay_us() == 2 * kS);
  r.Resumed(20 * kS);
  r.Stopped(kMissing, 40 * kS);  // 20 s later: stable in between.
  CHECK_FALSE(r.flapping());
  CHECK(r.interruptions() == 2);
  CHECK(r.UntilAttempt(40 * kS) == 250 * kMs);
}

TEST_CASE("capture_recovery a flapping link backs off up to 30 s") {
  CaptureRecovery r;
  int64_t t = 0;
  std::vector<int64_t> first_delays;
  for (int i = 0; i < 12; ++i) {
    r.Stopped(kDown, t);
    first_delays.push_back(r.UntilAttempt(t));
    t += r.UntilAttempt(t);
    REQUIRE(r.AttemptDue(t));
    r.Resumed(t);
    t += 1 * kS;  // Down again a second after each resume.
  }
  CHECK_FALSE(first_delays.empty());
  CHECK(first_delays[0] == 250 * kMs);
  CHECK(first_delays[1] == 500 * kMs);
  CHECK(first_delays[2] == 1 * kS);
  CHECK(first_delays[3] == 2 * kS);
  CHECK(first_delays[4] == 4 * kS);
  CHECK(first_delays.back() == 30 * kS);
  for (size_t i = 1; i < first_delays.size(); ++i) CHECK(first_delays[i] >= first_delays[i - 1]);
  CHECK(r.interruptions() == 12);
}

TEST_CASE("capture_recovery failed attempts while flapping may exceed 2 s") {
  CaptureRecovery r;
  r.Stopped(kDown, 0);
  r.Resumed(250 * kMs);
  r.Stopped(kDown, 1 * kS);  // Flapping.
  REQUIRE(r.flapping());
  const auto gaps = FailAttempts(&r, 1 * kS, 200 * kS, kDown);
  REQUIRE_FALSE(gaps.empty());
  CHECK(gaps.back() == 30 * kS);
}

TEST_CASE("capture_recovery end stops attempts") {
  CaptureRecovery r;
  r.Stopped(kDown, 0);
  r.End();
  CHECK(r.state() == CaptureState::kEnded);
  CHECK_FALSE(r.AttemptDue(10 * kS));
}

}  // namespace
}  // namespace rustnet
