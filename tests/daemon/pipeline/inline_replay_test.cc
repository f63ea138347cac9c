// PipelineOptions::inline_replay: a file replayed on the thread that calls
// Start() (no capture thread, no worker threads) ends with the same tables,
// the same removals and the same counters as the threaded replay, and is
// over when Start() returns.
#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "daemon/pipeline/pipeline.h"
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

// 60 TCP connections (some closed by FIN or RST), 40 UDP flows, a late
// packet that expires the idle ones, and more connections than the table
// holds, so that evictions happen too: many batches of 4 for each worker.
std::vector<Frame> Traffic() {
  std::vector<Frame> f;
  for (uint16_t i = 0; i < 60; ++i) {
    const auto port = static_cast<uint16_t>(40000 + i);
    const int64_t t = kT0 + i * 10'000;
    const std::string client = i % 2 ? "10.0.0.1" : "10.0.0.3";
    f.push_back(Tcp(t, client, port, "10.0.0.2", 80, kSyn, 1000, 0));
    f.push_back(Tcp(t + 1000, "10.0.0.2", 80, client, port, kSynAck, 5000, 1001));
    f.push_back(Tcp(t + 2000, client, port, "10.0.0.2", 80, kAck, 1001, 5001));
    f.push_back(Tcp(t + 3000, client, port, "10.0.0.2", 80, kAck, 1001, 5001, 200));
    if (i % 3 == 0) {
      f.push_back(Tcp(t + 4000, client, port, "10.0.0.2", 80, kFin | kAck, 1201, 5001));
      f.push_back(Tcp(t + 5000, "10.0.0.2", 80, client, port, kFin | kAck, 5001, 1202));
    } else if (i % 3 == 1) {
      f.push_back(Tcp(t + 4000, "10.0.0.2", 80, client, port, kRst, 5001, 0));
    }
  }
  for (uint16_t i = 0; i < 40; ++i) {
    f.push_back(Udp(kT0 + i * 20'000, "10.0.0.4", static_cast<uint16_t>(50000 + i), "10.0.0.9",
                    53));
  }
  // 700 s later: UDP flows and closed connections time out in the sweep.
  for (uint16_t i = 0; i < 10; ++i) {
    f.push_back(Udp(kT0 + 700 * kSecond + i, "10.0.0.5", static_cast<uint16_t>(30000 + i),
                    "10.0.0.9", 123));
  }
  std::stable_sort(f.begin(), f.end(),
                   [](const Frame& a, const Frame& b) { return a.time_us < b.time_us; });
  return f;
}

class RecordingSink final : public ConnectionSink {
 public:
  void OnClosed(std::span<const ClosedConnection> closed, std::string_view /*interface*/) override {
    absl::MutexLock lock(&mu_);
    threads_.push_back(std::this_thread::get_id());
    for (const ClosedConnection& c : closed) {
      heard_.emplace_back(c.connection->id, static_cast<int>(c.reason), c.time_us,
                          c.connection->packets[0] + c.connection->packets[1]);
    }
  }
  void OnFinalTable(const FinalTable& /*table*/) override {}
  absl::Status Flush() override { return absl::OkStatus(); }

  std::vector<std::tuple<uint64_t, int, int64_t, uint64_t>> heard() const {
    absl::MutexLock lock(&mu_);
    auto sorted = heard_;
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }
  std::vector<std::thread::id> threads() const {
    absl::MutexLock lock(&mu_);
    return threads_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::tuple<uint64_t, int, int64_t, uint64_t>> heard_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
};

// What a replay leaves: each connection's identity and counters, by id.
using Row = std::tuple<uint64_t, std::string, uint64_t, uint64_t, uint64_t, uint64_t, int>;

struct Result {
  std::vector<Row> rows;
  std::vector<std::tuple<uint64_t, int, int64_t, uint64_t>> heard;
  std::vector<std::thread::id> sink_threads;
  PipelineStats stats;
  bool done_when_start_returned = false;
};

// `max_connections` below 110 evicts: deterministic with one worker only
// (workers share one pool, so which evicts depends on who runs ahead).
Result Replay(size_t workers, bool inline_replay, size_t max_connections = 1000) {
  RecordingSink sink;
  PipelineOptions p;
  p.workers = workers;
  p.max_connections = max_connections;
  p.publish_snapshots = false;
  p.keep_removed = true;
  p.batch_size = 4;
  p.queue_batches = 2;  // A small inbox: an inline replay must never wait for room.
  p.inline_replay = inline_replay;
  p.sinks.push_back(&sink);
  Pipeline pipeline(p, std::make_unique<FrameSource>(Traffic()));
  pipeline.Start();
  Result r;
  r.done_when_start_returned = pipeline.capture_done();
  pipeline.Join();
  CHECK(pipeline.capture_done());
  pipeline.ForEachConnection([&r](const Connection& c) {
    r.rows.emplace_back(c.id,
                        absl::StrCat(c.key.addr_a.ToString(), ":", c.key.port_a, "-",
                                     c.key.addr_b.ToString(), ":", c.key.port_b, "/",
                                     c.key.protocol),
                        c.packets[0], c.packets[1], c.bytes[0],
                        c.bytes[1], static_cast<int>(c.state));
  });
  std::sort(r.rows.begin(), r.rows.end());
  r.heard = sink.heard();
  r.sink_threads = sink.threads();
  r.stats = pipeline.Stats();
  return r;
}

TEST_CASE("pipeline_inline: the same table, removals and counters as threaded", "[pipeline]") {
  for (const auto& [workers, cap] : {std::pair<size_t, size_t>{1, 80}, {1, 1000}, {2, 1000},
                                     {3, 1000}}) {
    INFO(workers << " workers, up to " << cap << " connections");
    const Result threaded = Replay(workers, false, cap);
    const Result inline_run = Replay(workers, true, cap);
    REQUIRE(!threaded.rows.empty());
    CHECK((threaded.stats.flows.evicted > 0) == (cap < 110));
    CHECK(threaded.stats.flows.expired > 0);
    CHECK(inline_run.rows == threaded.rows);
    CHECK(inline_run.heard == threaded.heard);
    CHECK(inline_run.stats.packets == threaded.stats.packets);
    CHECK(inline_run.stats.tracked == threaded.stats.tracked);
    CHECK(inline_run.stats.flows.created == threaded.stats.flows.created);
    CHECK(inline_run.stats.flows.expired == threaded.stats.flows.expired);
    CHECK(inline_run.stats.flows.evicted == threaded.stats.flows.evicted);
    CHECK(inline_run.stats.queue_dropped == 0);
  }
}

TEST_CASE("pipeline_inline: everything runs on the caller, over when Start returns",
          "[pipeline]") {
  const Result r = Replay(2, true);
  CHECK(r.done_when_start_returned);
  REQUIRE(!r.sink_threads.empty());
  for (const std::thread::id& id : r.sink_threads) CHECK(id == std::this_thread::get_id());
  // Threaded, the workers deliver removals on threads of their own.
  const Result threaded = Replay(2, false);
  REQUIRE(!threaded.sink_threads.empty());
  for (const std::thread::id& id : threaded.sink_threads) {
    CHECK(id != std::this_thread::get_id());
  }
}

}  // namespace
}  // namespace rustnet
