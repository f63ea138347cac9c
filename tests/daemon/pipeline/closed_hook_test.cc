// The pipeline's closed-connection hook: every connection a worker removes
// reaches each sink in PipelineOptions::sinks once, with why (FIN, RST,
// timeout, evicted, replaced) and when, and its final counters; those still
// in the table at the end do not.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/snapshot/closed_history.h"
#include "tests/daemon/pipeline/frame_source.h"
#include "tests/test_util.h"

namespace rustnet {
namespace {

using testing::Bytes;

using testing::Frame;
using testing::FrameSource;
using testing::kAck;
using testing::kFin;
using testing::kRst;
using testing::kSecond;
using testing::kSyn;
using testing::kSynAck;
using testing::kT0;
using testing::Tcp;
using testing::Udp;

// A client at 10.0.0.1:port and a server at 10.0.0.2:80: handshake at t.
void Handshake(std::vector<Frame>* f, int64_t t, uint16_t port) {
  f->push_back(Tcp(t, "10.0.0.1", port, "10.0.0.2", 80, kSyn, 1000, 0));
  f->push_back(Tcp(t + 1000, "10.0.0.2", 80, "10.0.0.1", port, kSynAck, 5000, 1001));
  f->push_back(Tcp(t + 2000, "10.0.0.1", port, "10.0.0.2", 80, kAck, 1001, 5001));
}

struct Heard {
  uint64_t id;
  uint16_t client_port;
  CloseReason reason;
  int64_t time_us;
  uint64_t packets;
  uint64_t bytes;
};

class RecordingSink final : public ConnectionSink {
 public:
  void OnClosed(std::span<const ClosedConnection> closed, std::string_view interface) override {
    absl::MutexLock lock(&mu_);
    for (const ClosedConnection& c : closed) {
      const Connection& conn = *c.connection;
      heard_.push_back(Heard{conn.id,
                             conn.initiator == 0 ? conn.key.port_a : conn.key.port_b,
                             c.reason, c.time_us, conn.packets[0] + conn.packets[1],
                             conn.bytes[0] + conn.bytes[1]});
      interface_ = std::string(interface);
    }
  }
  void OnFinalTable(const FinalTable& /*table*/) override {}
  absl::Status Flush() override { return absl::OkStatus(); }

  std::vector<Heard> heard() const {
    absl::MutexLock lock(&mu_);
    return heard_;
  }
  std::string interface() const {
    absl::MutexLock lock(&mu_);
    return interface_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Heard> heard_ ABSL_GUARDED_BY(mu_);
  std::string interface_ ABSL_GUARDED_BY(mu_);
};

struct Run {
  std::vector<Heard> heard;
  std::string interface;
  PipelineStats stats;
  size_t left_in_table = 0;
};

Run Replay(std::vector<Frame> frames, size_t workers, size_t max_connections = 1000,
           ClosedHistory* history = nullptr) {
  std::sort(frames.begin(), frames.end(),
            [](const Frame& a, const Frame& b) { return a.time_us < b.time_us; });
  RecordingSink sink;
  PipelineOptions p;
  p.workers = workers;
  p.max_connections = max_connections;
  p.publish_snapshots = false;
  p.batch_size = 4;  // Several batches, so removals are delivered mid-replay too.
  p.sinks.push_back(&sink);
  if (history != nullptr) p.sinks.push_back(history);
  Pipeline pipeline(p, std::make_unique<FrameSource>(std::move(frames)));
  pipeline.Start();
  pipeline.Join();
  Run r;
  r.heard = sink.heard();
  r.interface = sink.interface();
  r.stats = pipeline.Stats();
  pipeline.ForEachConnection([&r](const Connection&) { ++r.left_in_table; });
  return r;
}

// The one removal of the connection that `client_port` started.
const Heard& Only(const Run& r, uint16_t client_port) {
  const Heard* found = nullptr;
  for (const Heard& h : r.heard) {
    if (h.client_port != client_port) continue;
    INFO("client port " << client_port);
    REQUIRE(found == nullptr);  // Once only.
    found = &h;
  }
  INFO("client port " << client_port);
  REQUIRE(found != nullptr);
  return *found;
}

TEST_CASE("pipeline_closed: every reason, each connection once, with counters", "[pipeline]") {
  std::vector<Frame> f;
  // 40001: closed by FINs (TIME_WAIT), then times out: stays kFin.
  Handshake(&f, kT0, 40001);
  f.push_back(Tcp(kT0 + 10'000, "10.0.0.1", 40001, "10.0.0.2", 80, kAck, 1001, 5001, 100));
  f.push_back(Tcp(kT0 + 20'000, "10.0.0.1", 40001, "10.0.0.2", 80, kFin | kAck, 1101, 5001));
  f.push_back(Tcp(kT0 + 30'000, "10.0.0.2", 80, "10.0.0.1", 40001, kFin | kAck, 5001, 1102));
  f.push_back(Tcp(kT0 + 40'000, "10.0.0.1", 40001, "10.0.0.2", 80, kAck, 1102, 5002));
  // 40002: reset.
  Handshake(&f, kT0, 40002);
  f.push_back(Tcp(kT0 + 50'000, "10.0.0.2", 80, "10.0.0.1", 40002, kRst, 5001, 0));
  // 40003: established, then silent past its 10-minute timeout.
  Handshake(&f, kT0, 40003);
  // 40004: both FINs, neither acknowledged (CLOSING), then a new SYN on the
  // same ports replaces it; the new one stays open.
  // (Late, so that the new one is not idle past its timeout at the end.)
  const int64_t t4 = kT0 + 690 * kSecond;
  Handshake(&f, t4, 40004);
  f.push_back(Tcp(t4 + 60'000, "10.0.0.1", 40004, "10.0.0.2", 80, kFin, 1001, 0));
  f.push_back(Tcp(t4 + 60'500, "10.0.0.2", 80, "10.0.0.1", 40004, kFin, 5001, 0));
  f.push_back(Tcp(t4 + 70'000, "10.0.0.1", 40004, "10.0.0.2", 80, kSyn, 9000, 0));
  // Late traffic moves the clock past every timeout above: 700 s.
  f.push_back(Udp(kT0 + 700 * kSecond, "10.0.0.1", 5353, "10.0.0.9", 53));

  for (const size_t workers : {1u, 3u}) {
    INFO(workers << " workers");
    const Run r = Replay(f, workers);
    CHECK(r.interface == "frames");
    const Heard& fin = Only(r, 40001);
    CHECK(fin.reason == CloseReason::kFin);
    CHECK(fin.packets == 7);
    CHECK(fin.bytes > 0);
    // Removed by the sweep at the 700 s packet: the worker's clock then.
    CHECK(fin.time_us >= kT0 + 10 * kSecond);
    CHECK(Only(r, 40002).reason == CloseReason::kReset);
    const Heard& timeout = Only(r, 40003);
    CHECK(timeout.reason == CloseReason::kTimeout);
    CHECK(timeout.packets == 3);
    CHECK(timeout.time_us > kT0 + 600 * kSecond);
    const Heard& replaced = Only(r, 40004);
    CHECK(replaced.reason == CloseReason::kReplaced);
    CHECK(replaced.packets == 5);
    // At the SYN: the worker's clock then, or the old one's last packet.
    CHECK(replaced.time_us >= t4 + 60'500);
    CHECK(replaced.time_us <= t4 + 70'000);
    // The replacing SYN and the late UDP flow are still in the table and
    // were not delivered.
    CHECK(r.heard.size() == 4);
    CHECK(r.left_in_table == 2);
    CHECK(r.stats.flows.expired + r.stats.flows.replaced == 4);
  }
}

TEST_CASE("pipeline_closed: evicted at the table's limit", "[pipeline]") {
  std::vector<Frame> f;
  for (uint16_t i = 0; i < 5; ++i) {
    f.push_back(Udp(kT0 + i * kSecond, "10.0.0.1", static_cast<uint16_t>(50000 + i),
                    "10.0.0.9", 53));
  }
  const Run r = Replay(f, 1, /*max_connections=*/2);
  REQUIRE(r.heard.size() == 3);
  for (uint16_t i = 0; i < 3; ++i) {
    const Heard& h = Only(r, static_cast<uint16_t>(50000 + i));
    CHECK(h.reason == CloseReason::kEvicted);
    CHECK(h.packets == 1);
  }
  CHECK(r.left_in_table == 2);
  CHECK(r.stats.flows.evicted == 3);
}

TEST_CASE("pipeline_closed: --max-connections caps the whole table, not each worker",
          "[pipeline]") {
  // A cap of 1,000 with two workers: 1,000 distinct flows are all kept (a
  // split of 500 per worker evicted some: the hash is never even), and of
  // 3,000 exactly 1,000 stay, whichever worker ran ahead.
  for (const uint16_t flows : {uint16_t{1000}, uint16_t{3000}}) {
    std::vector<Frame> f;
    for (uint16_t i = 0; i < flows; ++i) {
      f.push_back(Udp(kT0 + static_cast<int64_t>(i) * 1000, i % 2 ? "10.0.0.1" : "10.0.0.3",
                      static_cast<uint16_t>(20000 + i), "10.0.0.9", 53));
    }
    const Run r = Replay(f, 2, /*max_connections=*/1000);
    INFO(flows << " flows");
    CHECK(r.left_in_table == 1000);
    CHECK(r.stats.flows.evicted == flows - 1000u);
    CHECK(r.stats.flows.refused == 0);
    CHECK(r.stats.flows.created == flows);
  }
}

TEST_CASE("pipeline_closed: the history hears what the sinks hear, in order", "[pipeline]") {
  std::vector<Frame> f;
  for (uint16_t i = 0; i < 50; ++i) {
    f.push_back(Udp(kT0 + i * kSecond, "10.0.0.1", static_cast<uint16_t>(50000 + i),
                    "10.0.0.9", 53));
  }
  f.push_back(Udp(kT0 + 1000 * kSecond, "10.0.0.1", 5353, "10.0.0.9", 53));
  ClosedHistory history(20);
  const Run r = Replay(f, 2, 1000, &history);
  CHECK(r.heard.size() == 50);
  const ClosedHistory::Stats s = history.stats();
  CHECK(s.size == 20);
  CHECK(s.added == 50);
  CHECK(s.dropped == 30);
  history.Take().ForEach([](const ClosedEntry& e) {
    CHECK(e.reason == CloseReason::kTimeout);
    CHECK(e.connection.packets[0] + e.connection.packets[1] == 1);
  });
}

}  // namespace
}  // namespace rustnet
