#include "daemon/service/watchdog.h"

#include <catch2/catch.hpp>
#include <string>

namespace rustnet {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

PipelineProgress Progress(int64_t capture, std::vector<int64_t> workers, bool finished = false) {
  PipelineProgress p;
  p.capture_clock_us = capture;
  p.worker_clocks_us = std::move(workers);
  p.finished = finished;
  return p;
}

TEST_CASE("watchdog a moving pipeline is healthy") {
  ProgressWatchdog w(absl::Seconds(5));
  for (int i = 0; i < 20; ++i) {
    CHECK(
        w.Check(Progress(i * 1'000'000, {i * 1'000'000, i * 1'000'000}), kStart + absl::Seconds(i))
            .empty());
  }
}

TEST_CASE("watchdog a stage may pause for up to the stall limit") {
  ProgressWatchdog w(absl::Seconds(5));
  CHECK(w.Check(Progress(1, {1, 1}), kStart).empty());
  CHECK(w.Check(Progress(2, {1, 1}), kStart + absl::Seconds(5)).empty());
  const std::string stalled = w.Check(Progress(3, {1, 2}), kStart + absl::Seconds(6));
  CHECK(stalled == "worker 0 has published no snapshot for 6s");
}

TEST_CASE("watchdog a stuck capture thread is a stall") {
  ProgressWatchdog w(absl::Seconds(5));
  CHECK(w.Check(Progress(7, {1}), kStart).empty());
  CHECK(w.Check(Progress(7, {2}), kStart + absl::Seconds(3)).empty());
  CHECK(w.Check(Progress(7, {3}), kStart + absl::Seconds(9)) ==
        "the capture thread's clock has not moved for 9s");
  // Moving again: healthy again.
  CHECK(w.Check(Progress(8, {4}), kStart + absl::Seconds(10)).empty());
}

TEST_CASE("watchdog a finished replay is healthy however long it rests") {
  ProgressWatchdog w(absl::Seconds(5));
  CHECK(w.Check(Progress(7, {1}), kStart).empty());
  CHECK(w.Check(Progress(7, {1}, true), kStart + absl::Seconds(60)).empty());
  CHECK(w.Check(Progress(7, {1}, true), kStart + absl::Hours(6)).empty());
}

TEST_CASE("watchdog stall limit") {
  CHECK(StallLimitFor(absl::Seconds(15)) == absl::Seconds(15));
  CHECK(StallLimitFor(absl::Seconds(1)) == absl::Seconds(5));
}

}  // namespace
}  // namespace rustnet
