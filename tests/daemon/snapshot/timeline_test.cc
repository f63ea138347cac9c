// The timeline's rings: points per second and per minute that add up to
// what was recorded, intervals with nothing in them, active connections
// carried over quiet intervals, packets older than the ring, several
// workers summed, and a reader beside a writer (also under TSan).
#include "daemon/snapshot/timeline.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "common/flow_key.h"
#include "daemon/record/app_record.h"

namespace rustnet {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kT0 = 1'699'999'980 * kS;  // A minute boundary (60 x 28,333,333 s).

std::vector<TimelinePoint> Read(const TimelineRecorder& r, TimelineResolution res, int64_t now,
                                int64_t since = 0) {
  const TimelineRecorder* one[] = {&r};
  return ReadTimeline(one, res, now, since);
}

uint64_t Sum(const std::vector<TimelinePoint>& v, uint64_t TimelinePoint::*f) {
  uint64_t n = 0;
  for (const TimelinePoint& p : v) n += p.*f;
  return n;
}

TEST_CASE("timeline: seconds and minutes add up to the packets recorded", "[timeline]") {
  auto r = std::make_unique<TimelineRecorder>();
  uint64_t in = 0, out = 0;
  for (int64_t t = 0; t < 300; ++t) {  // One packet each way every second for 5 minutes.
    r->AddPacket(kT0 + t * kS, true, 100, static_cast<uint8_t>(AppProtocol::kTls));
    r->AddPacket(kT0 + t * kS + 1, false, 40, 0);
    in += 100;
    out += 40;
  }
  const int64_t now = kT0 + 299 * kS;
  const auto seconds = Read(*r, TimelineResolution::kSecond, now);
  REQUIRE(seconds.size() == TimelineRecorder::kSeconds);
  CHECK(seconds.back().start_us == now);
  CHECK(seconds.front().start_us == now - 3599 * kS);
  CHECK(Sum(seconds, &TimelinePoint::bytes_in) == in);
  CHECK(Sum(seconds, &TimelinePoint::bytes_out) == out);
  CHECK(Sum(seconds, &TimelinePoint::packets_in) == 300);
  CHECK(seconds.back().bytes_in == 100);
  CHECK(seconds[seconds.size() - 301].bytes_in == 0);  // Before the first packet.
  CHECK(seconds.back().app_bytes[static_cast<size_t>(AppProtocol::kTls)] == 100);
  CHECK(seconds.back().app_bytes[0] == 40);
  const auto minutes = Read(*r, TimelineResolution::kMinute, now);
  REQUIRE(minutes.size() == TimelineRecorder::kMinutes);
  CHECK(Sum(minutes, &TimelinePoint::bytes_in) == in);
  CHECK(Sum(minutes, &TimelinePoint::packets_out) == 300);
  // `since` cuts the front off.
  const auto last_ten = Read(*r, TimelineResolution::kSecond, now, now - 9 * kS);
  REQUIRE(last_ten.size() == 10);
  CHECK(Sum(last_ten, &TimelinePoint::bytes_in) == 1000);
}

// The rings start as zeroed memory (slots store their interval + 1, 0 for
// none): a fresh recorder reads as empty at any time, the epoch's first
// second included, and a packet stamped 0 (a file with no clock) counts
// in that second like any other.
TEST_CASE("timeline: a fresh recorder is empty, and second 0 counts like any other",
          "[timeline]") {
  auto r = std::make_unique<TimelineRecorder>();
  CHECK(r->newest_second() == -1);
  for (const int64_t now : {int64_t{0}, 59 * kS, kT0}) {
    const auto seconds = Read(*r, TimelineResolution::kSecond, now);
    CHECK(Sum(seconds, &TimelinePoint::packets_in) == 0);
    CHECK(Sum(seconds, &TimelinePoint::bytes_out) == 0);
    for (const TimelinePoint& p : seconds) CHECK(p.active[0] == 0);
    CHECK(Sum(Read(*r, TimelineResolution::kMinute, now), &TimelinePoint::opened) == 0);
  }
  r->AddOpened(0, kIpProtoTcp);
  r->AddPacket(0, true, 70, 0);
  r->AddPacket(kS / 2, false, 30, 0);
  CHECK(r->newest_second() == 0);
  const auto seconds = Read(*r, TimelineResolution::kSecond, kS / 2);
  REQUIRE(seconds.size() == 1);  // The ring's span is cut at the epoch.
  CHECK(seconds[0].start_us == 0);
  CHECK(seconds[0].bytes_in == 70);
  CHECK(seconds[0].bytes_out == 30);
  CHECK(seconds[0].opened == 1);
  CHECK(seconds[0].active[0] == 1);
  // The next second: nothing new in it, the connection still active.
  const auto two = Read(*r, TimelineResolution::kSecond, kS);
  REQUIRE(two.size() == 2);
  CHECK(two[1].packets_in + two[1].packets_out == 0);
  CHECK(two[1].active[0] == 1);
  const auto minutes = Read(*r, TimelineResolution::kMinute, kS);
  REQUIRE(minutes.size() == 1);
  CHECK(minutes[0].bytes_in + minutes[0].bytes_out == 100);
}

TEST_CASE("timeline: active connections carry over quiet intervals", "[timeline]") {
  auto r = std::make_unique<TimelineRecorder>();
  r->AddOpened(kT0, kIpProtoTcp);
  r->AddOpened(kT0, kIpProtoTcp);
  r->AddOpened(kT0 + kS, kIpProtoUdp);
  r->AddClosed(kT0 + 10 * kS, kIpProtoTcp);
  const auto p = Read(*r, TimelineResolution::kSecond, kT0 + 20 * kS, kT0 - 2 * kS);
  REQUIRE(p.size() == 23);
  CHECK(p[0].active[0] == 0);  // Before anything opened.
  CHECK(p[2].active[0] == 2);
  CHECK(p[2].opened == 2);
  CHECK(p[3].active[1] == 1);
  CHECK(p[7].active[0] == 2);   // Nothing happened: still two.
  CHECK(p[12].active[0] == 1);  // One closed at +10 s.
  CHECK(p[12].closed == 1);
  CHECK(p[22].active[0] == 1);
  CHECK(p[22].active[1] == 1);
}

TEST_CASE("timeline: a packet older than the ring counts in the newest interval", "[timeline]") {
  auto r = std::make_unique<TimelineRecorder>();
  r->AddPacket(kT0 + 7200 * kS, true, 10, 0);
  r->AddPacket(kT0, true, 5, 0);  // Two hours before: outside the second ring.
  const auto p = Read(*r, TimelineResolution::kSecond, kT0 + 7200 * kS);
  CHECK(p.back().bytes_in == 15);
  CHECK(Sum(p, &TimelinePoint::bytes_in) == 15);
  // The minute ring still has room for it at its own time.
  const auto m = Read(*r, TimelineResolution::kMinute, kT0 + 7200 * kS);
  CHECK(Sum(m, &TimelinePoint::bytes_in) == 15);
  CHECK(m.back().bytes_in == 10);
  // A slot reused after an hour starts from zero.
  r->AddPacket(kT0 + 7200 * kS + 3600 * kS, false, 1, 0);
  const auto q = Read(*r, TimelineResolution::kSecond, kT0 + 10800 * kS);
  CHECK(Sum(q, &TimelinePoint::bytes_in) == 0);
  CHECK(Sum(q, &TimelinePoint::bytes_out) == 1);
}

TEST_CASE("timeline: workers are summed", "[timeline]") {
  auto a = std::make_unique<TimelineRecorder>();
  auto b = std::make_unique<TimelineRecorder>();
  a->AddPacket(kT0, true, 10, 0);
  b->AddPacket(kT0, true, 20, 0);
  b->AddRetransmissions(kT0, 3);
  a->AddOpened(kT0, kIpProtoTcp);
  b->AddOpened(kT0 - 5 * kS, kIpProtoTcp);
  const TimelineRecorder* both[] = {a.get(), b.get()};
  const auto p = ReadTimeline(both, TimelineResolution::kSecond, kT0, 0);
  CHECK(p.back().bytes_in == 30);
  CHECK(p.back().retransmissions == 3);
  CHECK(p.back().active[0] == 2);
  CHECK(p[p.size() - 6].active[0] == 1);
}

TEST_CASE("timeline: readers beside a writer see totals that only grow", "[timeline]") {
  auto r = std::make_unique<TimelineRecorder>();
  std::atomic<bool> done{false};
  constexpr int kPackets = 200'000;
  std::thread writer([&] {
    for (int i = 0; i < kPackets; ++i) r->AddPacket(kT0 + i * 1'000, true, 1, 0);  // 200 s
    done = true;
  });
  uint64_t last = 0;
  bool grew = true;
  while (!done) {
    const auto p = Read(*r, TimelineResolution::kMinute, kT0 + 200 * kS);
    const uint64_t n = Sum(p, &TimelinePoint::bytes_in);
    grew = grew && n >= last;
    last = n;
  }
  writer.join();
  CHECK(grew);
  CHECK(Sum(Read(*r, TimelineResolution::kSecond, kT0 + 200 * kS), &TimelinePoint::bytes_in) ==
        kPackets);
}

}  // namespace
}  // namespace rustnet
